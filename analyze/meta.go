package analyze

import "strconv"

// Run metadata keys analyze reads from a results file's footer (written by
// replay with schemas.ResultsWriter.SetMeta; stored under
// schemas.MetaRunPrefix). All are optional.
const (
	// MetaSystem labels the system under test in reports (e.g. "8×H200 vLLM").
	MetaSystem = "system"
	// MetaHardware names the accelerator, a catalog hardware name ("h200").
	MetaHardware = "hardware"
	// MetaAccelerators is the number of accelerators serving the target.
	MetaAccelerators = "accelerators"
	// MetaModel is the served model; it picks the default tier preset.
	MetaModel = "model"
	// MetaTarget is the target endpoint URL, or "sim" for the simulator.
	MetaTarget = "target"
	// MetaSteadyWindow is the steady-state window each level was asked to
	// hold, a Go duration ("10m").
	MetaSteadyWindow = "steady_window"
	// MetaTimeScale is replay's --time-scale K: times in the rows are world
	// time, K × wall time, so analyze divides client lag (a wall-clock
	// property of the load generator) by K.
	MetaTimeScale = "time_scale"
)

// timeScale returns the run's time scale from its metadata; 1 when absent
// or not a positive number.
func timeScale(meta map[string]string) float64 {
	if k, err := strconv.ParseFloat(meta[MetaTimeScale], 64); err == nil && k > 0 {
		return k
	}
	return 1
}

// MetaLevelInvalid returns the key under which replay marks a level
// invalid; its value says why (e.g. "client CPU saturated").
func MetaLevelInvalid(level int) string { return "level." + strconv.Itoa(level) + ".invalid" }

// MetaLevelWindow returns the key of one level's steady-state window (a Go
// duration), when it differs from MetaSteadyWindow.
func MetaLevelWindow(level int) string { return "level." + strconv.Itoa(level) + ".steady_window" }
