package replay

import (
	"context"
	"errors"
	"net/http"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
	"github.com/agentperf/agentperf/wire"
)

// probeTarget sends target.Probe's short request once per API in apis,
// with that API's headers, the run's dialect, settings and model, to the
// endpoints replay sends to.
func probeTarget(ctx context.Context, cfg Config, client *http.Client, apis []string) []schemas.ProbeResult {
	endpoint := func(api string) string {
		u, _ := wire.EndpointURL(cfg.Target, api)
		return u
	}
	var out []schemas.ProbeResult
	for _, api := range apis {
		out = append(out, target.Probe(ctx, cfg.Target, target.ProbeOptions{
			Client: client, Header: cfg.Headers[api], Model: planModel(cfg), APIs: []string{api},
			Dialect: cfg.Shaping.Dialect, Settings: cfg.Shaping.Settings[api], Endpoint: endpoint,
		})...)
	}
	return out
}

// ProbeRefusedError is Run's refusal to start after the probe: a probe
// request failed or did not stream, or the target ignored the
// output-length pin while the output policy pins it (OutputExact).
type ProbeRefusedError struct {
	// Results are the probe's results, one per API.
	Results []schemas.ProbeResult
	err     error
}

func (e *ProbeRefusedError) Error() string {
	return "refusing to run: " + e.err.Error()
}

func (e *ProbeRefusedError) Unwrap() error { return e.err }

// PinIgnored reports whether the target ignored the pin on an API whose
// probe otherwise succeeded: the cap output policy would let the run go
// ahead (with outputs that may end early).
func (e *ProbeRefusedError) PinIgnored() bool {
	for _, r := range e.Results {
		if r.Err == "" && r.Streamed && r.Pin == schemas.PinIgnored {
			return true
		}
	}
	return false
}

// probeRefusal returns the refusal for the probe's results under the
// output policy, nil when the run may go ahead.
func probeRefusal(results []schemas.ProbeResult, policy OutputPolicy) error {
	err := target.ProbeError(results, orDefault(policy, OutputExact) != OutputExact)
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) && len(joined.Unwrap()) == 1 {
		err = joined.Unwrap()[0]
	}
	return &ProbeRefusedError{Results: results, err: err}
}
