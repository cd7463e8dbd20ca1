package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentperf/agentperf/capacity"
	"github.com/agentperf/agentperf/catalog"
	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
	"go.yaml.in/yaml/v3"
)

// System describes the hardware that served a run, for the normalized
// table. Figures are per accelerator; zero figures are taken from the
// catalog entry named by Hardware.
type System struct {
	// Name labels the system in reports ("8×H200 vLLM"); empty means one is
	// made from the hardware and run id.
	Name string `yaml:"name" json:"name"`
	// Hardware is a catalog hardware name or alias ("h200").
	Hardware string `yaml:"hardware" json:"hardware"`
	// Accelerators is the number of accelerators serving the target; 0 is
	// unknown (no normalized figures).
	Accelerators int `yaml:"accelerators" json:"accelerators"`
	// TDPWatts is one accelerator's thermal design power, W.
	TDPWatts float64 `yaml:"tdp_watts" json:"tdp_watts"`
	// DollarsPerHour is the price of one accelerator-hour, USD.
	DollarsPerHour float64 `yaml:"dollars_per_hour" json:"dollars_per_hour"`
	// AcceleratorsPerRack is how many accelerators one rack holds.
	AcceleratorsPerRack int `yaml:"accelerators_per_rack" json:"accelerators_per_rack"`
	// Source cites where the figures come from.
	Source string `yaml:"source" json:"source"`
}

// LoadSystem reads a system file (YAML or JSON with the fields of System).
func LoadSystem(path string) (*System, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s System
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: not a system file: %w", path, err)
	}
	switch {
	case s.Accelerators < 0:
		return nil, fmt.Errorf("%s: accelerators %d must be ≥ 0", path, s.Accelerators)
	case s.TDPWatts < 0 || s.DollarsPerHour < 0 || s.AcceleratorsPerRack < 0:
		return nil, fmt.Errorf("%s: tdp_watts, dollars_per_hour and accelerators_per_rack must be ≥ 0", path)
	case s.Hardware == "" && (s.TDPWatts == 0 || s.DollarsPerHour == 0 || s.AcceleratorsPerRack == 0) && s.Accelerators > 0:
		return nil, fmt.Errorf("%s: without a catalog hardware name, give tdp_watts, dollars_per_hour and accelerators_per_rack", path)
	}
	return &s, nil
}

// fill completes zero figures from the catalog entry of s.Hardware.
func (s *System) fill(cat *catalog.Catalog) error {
	if s.Hardware == "" {
		return nil
	}
	h, err := cat.FindHardware(s.Hardware)
	if err != nil {
		return err
	}
	s.Hardware = h.Name
	var used []string
	if s.TDPWatts == 0 {
		s.TDPWatts = h.TDPWatts
		used = append(used, "TDP")
	}
	if s.DollarsPerHour == 0 {
		s.DollarsPerHour = h.DollarsPerHour
		used = append(used, "price")
	}
	if s.AcceleratorsPerRack == 0 {
		s.AcceleratorsPerRack = h.AcceleratorsPerRack
		used = append(used, "rack size")
	}
	if len(used) > 0 {
		src := "catalog " + h.Name + " (" + strings.Join(used, ", ") + ")"
		if h.Source != "" {
			src += ": " + h.Source
		}
		if s.Source != "" {
			src = s.Source + "; " + src
		}
		s.Source = src
	}
	return nil
}

// Options configures Analyze. The zero value analyzes with tiers from each
// run's model, the hardware named in each run's metadata and the default
// catalog.
type Options struct {
	// Tiers, when set, are used for every result set; TiersName labels
	// them ("preset gpt-oss-120b", a file name). When nil, each set uses the
	// preset of its model (run metadata "model"), else DefaultPreset.
	Tiers     []Tier
	TiersName string
	// DefaultPreset is the preset for runs whose model has none; empty
	// means such runs are an error.
	DefaultPreset string
	// System, when set, overrides the hardware of every set. Hardware and
	// Accelerators, when set, override the run metadata's.
	System       *System
	Hardware     string
	Accelerators int
	// Catalog supplies hardware figures; nil means catalog.Default().
	Catalog *catalog.Catalog
	// Validity sets the flag thresholds (zero value: defaults).
	Validity Validity
	// Bootstrap tunes the confidence intervals (capacity.Options; zero
	// value: 1000 replicates, 90 %).
	Bootstrap capacity.Options
	// Workers bounds concurrent row-group decoding (0 = GOMAXPROCS).
	Workers int
	// ITLSample is the fraction (0, 1] of requests whose inter-chunk gaps
	// count towards ITL; 0 means itlFraction of the input's chunk count
	// (every request up to itlBudget chunk offsets).
	ITLSample float64
	// Logger receives progress; nil discards.
	Logger *slog.Logger
}

// Report is the analysis of one or more results files: one ResultSet per
// run, side by side.
type Report struct {
	Sets []*ResultSet `json:"sets"`
}

// ResultSet is one run (all its shards) on one system.
type ResultSet struct {
	// Name labels the set: run metadata "system", else the hardware and
	// accelerators, else the run id.
	Name  string `json:"system"`
	RunID string `json:"run_id"`
	// Files lists the results files holding the run's rows; Rows counts
	// them.
	Files []string `json:"files"`
	Rows  int64    `json:"rows"`
	// Meta is the run metadata of the first file.
	Meta *schemas.RunMeta `json:"meta"`
	// Model is the served model (run metadata "model").
	Model string `json:"model"`
	// System is the hardware used for normalization (Accelerators 0 when
	// unknown).
	System System `json:"hardware"`
	// Tiers and where they came from.
	Tiers      []Tier `json:"-"`
	TierSource string `json:"tier_source"`
	// Levels in increasing users (then level index); Verdicts[i][j] judges
	// Levels[i] at Tiers[j].
	Levels   []*LevelStats `json:"-"`
	Verdicts [][]Verdict   `json:"-"`
	// Assessed holds each level's figures with their uncertainty at
	// Tiers (capacity.Level.Tiers[j] for Tiers[j]; one more entry after
	// them, the P25 speed, P95 TTFT and error-rate intervals the level
	// tables show); nil for a level that could not be assessed.
	Assessed []*capacity.Level `json:"-"`
	// Capacity holds one row per tier.
	Capacity []Capacity `json:"capacity"`
	// PowerFiles lists the power files read beside the results files;
	// Power is their samples, merged (nil without any).
	PowerFiles []string      `json:"power_files"`
	Power      *power.Record `json:"-"`
	// ITLSample is the fraction of requests whose gaps made ITL (1 = all).
	ITLSample float64 `json:"itl_sample"`
	// Notes are set-wide remarks (missing hardware, how trajectories were
	// counted, run warnings).
	Notes []string `json:"notes"`
}

// Capacity is one row of the normalized table: the most users a system
// serves at a tier. Normalized figures are NaN when the hardware is unknown.
type Capacity struct {
	Tier Tier
	// MaxUsers is the users of the highest passing level, 0 if none passed:
	// the AA-style figure ("highest_passing" in csv and json).
	MaxUsers int
	// Level is the index into ResultSet.Levels of that level, -1 if none.
	Level int
	// Users is max users from the monotone fit of every window at the tier
	// (capacity.Fit: repeats pooled, interpolated where the fitted margin
	// crosses zero), rounded down to whole users, with its 90 %
	// interval; Censored says when the interval is one-sided (every level
	// passes: Hi is +Inf; none does: Point and Lo are 0). NaN for an
	// open-loop run. Fit is the whole fit (nil without one).
	Users    capacity.Estimate
	Censored capacity.Censor
	Fit      *capacity.Capacity
	// UsersPerAccelerator = Users ÷ accelerators; UsersPerKW = Users ÷
	// (accelerators × TDP kW); UsersPerDollarHour = Users ÷ (accelerators ×
	// $ per accelerator-hour); UsersPerRack = UsersPerAccelerator ×
	// accelerators per rack: every end of the interval alike.
	UsersPerAccelerator, UsersPerKW, UsersPerDollarHour, UsersPerRack capacity.Estimate
	// PowerW is the measured system power at Users.Point, W (the levels'
	// mean power interpolated in users); AgentsPerMW = Users ÷ (PowerW ÷
	// 10⁶), every end alike. NaN without a power file.
	PowerW      float64
	AgentsPerMW capacity.Estimate
	// Flags are the validity flag codes of the highest passing level, plus
	// "lower_level_failed" when a level with fewer users failed the tier.
	Flags []string
}

// ErrNoTiers is returned when a run's model has no tier preset and no
// tiers were given.
var ErrNoTiers = errors.New("no tier preset for the run's model")

// FlagLowerLevelFailed marks a capacity whose max-users level is above a
// failing level (noise or a non-monotonic system: look at the levels).
const FlagLowerLevelFailed = "lower_level_failed"

// Analyze reads the results files and computes every result set's levels,
// verdicts and capacity.
func Analyze(ctx context.Context, paths []string, opt Options) (*Report, error) {
	if len(paths) == 0 {
		return nil, errors.New("no results files given")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cat := opt.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	if opt.Hardware != "" {
		if _, err := cat.FindHardware(opt.Hardware); err != nil {
			return nil, err
		}
	}
	if opt.Accelerators < 0 {
		return nil, fmt.Errorf("accelerators %d must be ≥ 0", opt.Accelerators)
	}
	var files []*schemas.ResultsFile
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			return nil, fmt.Errorf("%s given twice (its rows would count twice)", p)
		}
		seen[p] = true
		f, err := schemas.OpenResults(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if opt.ITLSample < 0 || opt.ITLSample > 1 || math.IsNaN(opt.ITLSample) {
		return nil, fmt.Errorf("ITL sample %v must be in (0, 1]", opt.ITLSample)
	}
	chunks := chunkOffsets(files)
	itl := opt.ITLSample
	if itl == 0 {
		itl = itlFraction(chunks)
	}
	start := time.Now()
	ls, err := readFiles(ctx, files, opt.Workers, itl)
	if err != nil {
		return nil, err
	}
	if ls.rows == 0 {
		return nil, fmt.Errorf("no result rows in %s", strings.Join(paths, ", "))
	}
	log.Info("read results", "files", len(files), "rows", ls.rows, "chunk_offsets", chunks, "itl_sample", itl, "levels", len(ls.levels), "elapsed", time.Since(start))

	// group levels into runs, in order of first appearance
	var runs []string
	byRun := map[string][]*LevelAccumulator{}
	for fi := range files {
		for _, run := range ls.fileRuns[fi] {
			if _, ok := byRun[run]; !ok {
				runs = append(runs, run)
				byRun[run] = nil
			}
		}
	}
	for k, a := range ls.levels {
		byRun[k.run] = append(byRun[k.run], a)
	}
	rep := &Report{}
	names := map[string]int{}
	for _, run := range runs {
		set := &ResultSet{RunID: run, ITLSample: itl}
		var metas []*schemas.RunMeta
		for fi, f := range files {
			if slices.Contains(ls.fileRuns[fi], run) {
				set.Files = append(set.Files, f.Path)
				metas = append(metas, f.RunMeta())
			}
		}
		set.Meta = metas[0]
		set.Model = set.Meta.Model
		if err := resolveSystem(set, opt, cat); err != nil {
			return nil, err
		}
		if err := resolveTiers(set, opt); err != nil {
			return nil, err
		}
		accs := byRun[run]
		for _, a := range accs {
			lvl := a.s.Level
			set.Rows += a.s.Requests + a.s.WarmupRequests + a.s.DrainRequests
			st := a.Stats(opt.Validity, levelWindow(metas, lvl))
			applyLevelMeta(st, metas, opt.Validity)
			set.Levels = append(set.Levels, st)
		}
		slices.SortFunc(set.Levels, func(x, y *LevelStats) int {
			if x.Users != y.Users {
				return x.Users - y.Users
			}
			return x.Level - y.Level
		})
		if rec := set.loadPower(); rec != nil {
			set.Power = rec
			set.powerLevels(rec)
			set.Notes = append(set.Notes, set.powerNote(rec))
		}
		t0 := time.Now()
		set.judge(opt.Bootstrap)
		log.Info("intervals", "run", run, "levels", len(set.Levels), "tiers", len(set.Tiers), "elapsed", time.Since(t0))
		set.notes(metas)
		rep.Sets = append(rep.Sets, set)
		names[set.Name]++
	}
	for _, set := range rep.Sets { // disambiguate equal names
		if names[set.Name] > 1 {
			set.Name += " (" + set.RunID + ")"
		}
	}
	return rep, nil
}

func resolveSystem(set *ResultSet, opt Options, cat *catalog.Catalog) error {
	var s System
	if opt.System != nil {
		s = *opt.System
	} else {
		s.Name = set.Meta.System
		s.Hardware = set.Meta.Hardware
		if v := set.Meta.Extra["accelerators"]; v != "" {
			set.Notes = append(set.Notes, fmt.Sprintf("run metadata accelerators=%q is not a count; ignored", v))
		} else if set.Meta.Accelerators < 0 {
			set.Notes = append(set.Notes, fmt.Sprintf("run metadata accelerators=%d is not a count; ignored", set.Meta.Accelerators))
		} else {
			s.Accelerators = set.Meta.Accelerators
		}
		if opt.Hardware != "" {
			s.Hardware = opt.Hardware
		}
		if opt.Accelerators > 0 {
			s.Accelerators = opt.Accelerators
		}
	}
	if err := s.fill(cat); err != nil {
		if opt.System != nil || opt.Hardware != "" {
			return err
		}
		set.Notes = append(set.Notes, fmt.Sprintf("run metadata hardware %q: %v", s.Hardware, err))
		s.Hardware = ""
	}
	if s.Name == "" {
		switch {
		case s.Hardware != "" && s.Accelerators > 0:
			s.Name = fmt.Sprintf("%d×%s", s.Accelerators, s.Hardware)
		case s.Hardware != "":
			s.Name = s.Hardware
		default:
			s.Name = set.RunID
		}
	}
	if s.Accelerators == 0 {
		set.Notes = append(set.Notes, "accelerator count unknown: normalized figures left empty (give --accelerators, or --system FILE)")
	} else if s.TDPWatts == 0 && s.DollarsPerHour == 0 && s.AcceleratorsPerRack == 0 {
		set.Notes = append(set.Notes, "hardware unknown: per-kW, per-dollar-hour and per-rack figures left empty (give --hardware, or --system FILE)")
	}
	set.System = s
	set.Name = s.Name
	return nil
}

func resolveTiers(set *ResultSet, opt Options) error {
	if opt.Tiers != nil {
		set.Tiers = opt.Tiers
		set.TierSource = opt.TiersName
		return nil
	}
	if set.Model != "" {
		if t, err := Preset(set.Model); err == nil {
			set.Tiers = t
			set.TierSource = "preset " + set.Model
			return nil
		}
	}
	if opt.DefaultPreset == "" {
		model := set.Model
		if model == "" {
			model = "(not recorded)"
		}
		return fmt.Errorf("%w: run %s, model %s; give tiers (a preset: %s; or a tier file)", ErrNoTiers, set.RunID, model, strings.Join(presetNames(), ", "))
	}
	t, err := Preset(opt.DefaultPreset)
	if err != nil {
		return err
	}
	set.Tiers = t
	set.TierSource = "preset " + opt.DefaultPreset + " (default; model " + strconv.Quote(set.Model) + " has none)"
	return nil
}

// levelWindow returns the steady-state window replay was asked to hold for
// a level (0 if the metadata does not say).
func levelWindow(metas []*schemas.RunMeta, level int) time.Duration {
	for _, m := range metas {
		if d := m.LevelWindow(level); d > 0 {
			return d
		}
	}
	return 0
}

// applyLevelMeta folds replay's per-level metadata (summed over shard
// files) into st: invalid marks, re-measured windows, the client's CPU (the
// client rule is judged again with it: the busiest shard counts), and
// trajectory counts, which replay knows exactly.
func applyLevelMeta(st *LevelStats, metas []*schemas.RunMeta, v Validity) {
	v = v.normalized()
	var reasons []string
	var sessions int64
	open := st.Users <= 0
	for _, m := range metas {
		open = open || m.Mode == "poisson" || m.Mode == "timestamps"
	}
	if m := metas[0]; m.OutputPolicy == "exact" && st.Unpinned > 0 {
		st.Flags = append(st.Flags, Flag{Code: FlagOutputNotPinned, Message: fmt.Sprintf("%d of %d responses (%.1f %%) had output tokens ≠ the pinned length (output policy exact): the target ignores the pin (min_tokens, ignore_eos), so the load is not the trace's",
			st.Unpinned, st.PinChecked, 100*float64(st.Unpinned)/float64(max(st.PinChecked, 1)))})
	}
	haveSessions := true
	agents := map[string]int64{}
	haveAgents := true
	cpu, cores := -1.0, 0
	for _, m := range metas {
		l := m.Level(st.Level)
		if l == nil {
			haveSessions, haveAgents = false, false
			continue
		}
		if c := l.CPUUtil; c > cpu {
			cpu, cores = c, m.Client.GOMAXPROCS
		}
		if l.Remeasured && !st.HasFlag(FlagRemeasured) {
			st.Flags = append(st.Flags, Flag{Code: FlagRemeasured, Message: "replay measured these users again in a later level: this window does not count towards capacity"})
		}
		for _, r := range l.Invalid {
			if !slices.Contains(reasons, r) {
				reasons = append(reasons, r)
			}
		}
		if l.CompletedSessions >= 0 {
			sessions += int64(l.CompletedSessions)
		} else {
			haveSessions = false
		}
		if l.SessionsByAgent != nil {
			for k, n := range l.SessionsByAgent {
				agents[k] += int64(n)
			}
		} else {
			haveAgents = false
		}
	}
	for _, r := range reasons {
		st.Flags = append(st.Flags, Flag{Code: FlagInvalid, Message: "replay marked the level invalid: " + r})
	}
	if cpu >= 0 {
		st.setClientFlags(st.JudgeClient(v, cpu, cores))
	}
	sortFlags(st.Flags)
	if !haveSessions {
		return
	}
	// replay counted trajectories: replace the estimate and its flags
	st.Trajectories = sessions
	st.TrajectoriesFrom = "replay"
	st.Flags = slices.DeleteFunc(st.Flags, func(f Flag) bool {
		return f.Code == FlagFewTrajectories || f.Code == FlagFewTrajectoriesPerAgent
	})
	if v.MinTrajectories > 0 && !open && sessions < int64(v.MinTrajectories) {
		st.Flags = append(st.Flags, Flag{Code: FlagFewTrajectories, Message: fmt.Sprintf("%d completed trajectories < %d", sessions, v.MinTrajectories)})
	}
	if haveAgents && len(agents) > 0 {
		st.TrajectoriesByAgent = agents
		if v.MinTrajectoriesPerAgent > 0 && !open {
			var low []string
			for _, k := range sortedKeys(agents) {
				if agents[k] < int64(v.MinTrajectoriesPerAgent) {
					low = append(low, fmt.Sprintf("%s %d", k, agents[k]))
				}
			}
			if len(low) > 0 {
				st.Flags = append(st.Flags, Flag{Code: FlagFewTrajectoriesPerAgent, Message: fmt.Sprintf("completed trajectories per agent < %d: %s", v.MinTrajectoriesPerAgent, strings.Join(low, ", "))})
			}
		}
	}
	sortFlags(st.Flags)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// flagOrder fixes the order flags are listed in.
var flagOrder = []string{FlagInvalid, FlagRemeasured, FlagNoSteady, FlagErrors, FlagClientSaturated, FlagClientLag, FlagOutputNotPinned,
	FlagFewTrajectories, FlagFewTrajectoriesPerAgent, FlagShortWindow, FlagWindowUnderMin,
	power.FlagMissing, power.FlagGap, power.FlagLowCoverage}

func sortFlags(f []Flag) {
	slices.SortStableFunc(f, func(a, b Flag) int {
		return slices.Index(flagOrder, a.Code) - slices.Index(flagOrder, b.Code)
	})
}

// countsTowardCapacity reports whether Levels[i]'s figures describe the
// target, by the rule replay's search applies to its own windows: a window
// replay measured again (remeasured) does not count, nor one that was the
// search's client ceiling — its client was CPU-bound, or saturated in it
// and in every earlier attempt at its users (the remeasured windows just
// before it), so its figures describe the client. A window whose client was
// saturated only in some attempts keeps its verdict, flagged, as in replay.
// Highest passing, the fit of max users, the uncertain levels and the power
// per level use only the windows that count.
func (set *ResultSet) countsTowardCapacity(i int) bool {
	st := set.Levels[i]
	if st.HasFlag(FlagRemeasured) {
		return false
	}
	if !st.Client.Saturated {
		return true
	}
	if st.Client.CPUBound {
		return false
	}
	// the attempts before it: the levels just before it in level order, at
	// the same users, marked remeasured
	for prev := st.Level - 1; prev >= 0; prev-- {
		j := slices.IndexFunc(set.Levels, func(l *LevelStats) bool { return l.Level == prev })
		if j < 0 || set.Levels[j].Users != st.Users || !set.Levels[j].HasFlag(FlagRemeasured) {
			break
		}
		if !set.Levels[j].Client.Saturated {
			return true
		}
	}
	return false
}

// judge fills Verdicts, Assessed and Capacity: the point verdicts of the
// pass rule, every level's intervals and uncertain verdicts, and per tier
// the highest passing level and max users fitted over every window.
func (set *ResultSet) judge(opt capacity.Options) {
	set.Verdicts = make([][]Verdict, len(set.Levels))
	for i, st := range set.Levels {
		set.Verdicts[i] = make([]Verdict, len(set.Tiers))
		for j, t := range set.Tiers {
			set.Verdicts[i][j] = t.Judge(st)
		}
	}
	ct := make([]capacity.Tier, 0, len(set.Tiers)+1)
	for _, t := range set.Tiers {
		ct = append(ct, t.CapacityTier())
	}
	ct = append(ct, referenceTier)
	set.Assessed = make([]*capacity.Level, len(set.Levels))
	failed := map[string]bool{}
	for i, st := range set.Levels {
		l, err := st.assess(ct, opt)
		if err != nil {
			if !failed[err.Error()] {
				failed[err.Error()] = true
				set.Notes = append(set.Notes, fmt.Sprintf("level %d (%d users): no confidence intervals: %v", st.Level, st.Users, err))
			}
			continue
		}
		set.Assessed[i] = l
	}
	s := set.System
	for j, t := range set.Tiers {
		c := Capacity{Tier: t.Normalized(), Level: -1, PowerW: math.NaN()}
		for i, st := range set.Levels {
			if set.Verdicts[i][j].Pass && st.Users >= c.MaxUsers && set.countsTowardCapacity(i) {
				c.MaxUsers, c.Level = st.Users, i
			}
		}
		nan := capacity.Estimate{Point: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
		c.Users, c.AgentsPerMW = nan, nan
		var windows []*capacity.Level
		for i, st := range set.Levels {
			if l := set.Assessed[i]; l != nil && st.Users > 0 && set.countsTowardCapacity(i) {
				windows = append(windows, l)
			}
		}
		if len(windows) > 0 {
			if f, err := capacity.Fit(windows, j, opt); err != nil {
				set.Notes = append(set.Notes, fmt.Sprintf("%s: max users not fitted: %v", t.Name, err))
			} else {
				c.Fit, c.Censored = f, f.Censored
				c.Users = f.MaxUsers.WholeUsers()
			}
		}
		per := func(div float64) capacity.Estimate {
			if !(div > 0) {
				return nan
			}
			return capacity.Estimate{Point: c.Users.Point / div, Lo: c.Users.Lo / div, Hi: c.Users.Hi / div}
		}
		c.UsersPerAccelerator, c.UsersPerKW, c.UsersPerDollarHour, c.UsersPerRack = nan, nan, nan, nan
		if s.Accelerators > 0 {
			acc := float64(s.Accelerators)
			c.UsersPerAccelerator = per(acc)
			c.UsersPerKW = per(acc * s.TDPWatts / 1000)
			c.UsersPerDollarHour = per(acc * s.DollarsPerHour)
			if s.AcceleratorsPerRack > 0 {
				c.UsersPerRack = per(acc / float64(s.AcceleratorsPerRack))
			}
		}
		set.agentsPerMW(&c)
		if c.Level >= 0 {
			for _, f := range set.Levels[c.Level].Flags {
				c.Flags = append(c.Flags, f.Code)
			}
			for i, st := range set.Levels {
				if st.Users < c.MaxUsers && !set.Verdicts[i][j].Pass && set.countsTowardCapacity(i) {
					c.Flags = append(c.Flags, FlagLowerLevelFailed)
					break
				}
			}
		}
		set.Capacity = append(set.Capacity, c)
	}
}

// notes adds set-wide remarks from the run metadata.
func (set *ResultSet) notes(metas []*schemas.RunMeta) {
	for _, st := range set.Levels {
		if st.TrajectoriesFrom == "" {
			set.Notes = append(set.Notes, "completed trajectories estimated from the rows (replay's counts not in the metadata): see docs/analyze.md")
			break
		}
	}
	for _, m := range metas {
		if m.BelowAABar != "" {
			set.Notes = append(set.Notes, m.BelowAABar)
			break
		}
	}
	if sm := metas[0].Search; sm != nil && sm.Ended != "" {
		why := sm.EndReason
		if why == "" {
			why = sm.Ended
		}
		s := fmt.Sprintf("replay's search at %s ended — %s", sm.Tier, why)
		if e := sm.Estimate; e != nil {
			s += fmt.Sprintf(" (replay's fit: max users %s over %d windows", fmtSearchEstimate(e), sm.Windows)
			if sm.Precision > 0 {
				s += fmt.Sprintf(", aiming for ±%s %%", fmtNum(50*sm.Precision))
			}
			if sm.Budget > 0 {
				s += fmt.Sprintf(" within %s", sm.Budget)
			}
			s += ")"
		}
		set.Notes = append(set.Notes, s)
	}
	open := len(set.Levels) > 0
	for _, st := range set.Levels {
		open = open && st.Users == 0
	}
	if open {
		set.Notes = append(set.Notes, "open-loop run (no concurrent-user count in the rows): max_users does not apply; read the levels")
	}
	if set.ITLSample < 1 {
		set.Notes = append(set.Notes, fmt.Sprintf("ITL from the chunk gaps of a deterministic %.3g %% sample of requests (the input holds more than %d chunk offsets; --itl-sample 1 uses all)", 100*set.ITLSample, itlBudget))
	}
	counted := int64(0)
	for _, st := range set.Levels {
		counted += st.ChunkCounted
	}
	if counted > 0 {
		set.Notes = append(set.Notes, fmt.Sprintf("%d successful requests had no target-reported output tokens: their content chunks were counted instead", counted))
	}
}
