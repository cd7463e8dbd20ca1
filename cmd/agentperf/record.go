package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/agentperf/agentperf/proxy"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "record",
		Usage:     "capture coding-agent API calls into a trace set (reverse or MITM proxy)",
		ArgsUsage: " ",
		Description: `record is a proxy between coding agents and their LLM API. It forwards every
byte untouched and as it arrives, and writes each Anthropic Messages, OpenAI
Chat Completions or OpenAI Responses call (streamed or not) as a turn of a
trace set: the prompt as content-addressed blobs, the response, provider
usage (cache reads/writes, reasoning), first byte, first token, every
chunk's arrival, end, and the think time since the session's previous turn.

Two modes share one capture tap:
  reverse (default)  agents set their base URL to the proxy
                     (ANTHROPIC_BASE_URL=http://127.0.0.1:8787, OPENAI_BASE_URL=
                     http://127.0.0.1:8787/v1, a Codex model_providers base_url).
                     Without --upstream, requests with an anthropic-version header
                     go to api.anthropic.com, others to api.openai.com.
  --mitm             an HTTPS proxy: agents set HTTPS_PROXY and trust the CA made
                     on first use (see 'agentperf ca'). Only known LLM API hosts
                     are opened and only their API calls decoded; all other
                     traffic is tunnelled untouched.

Sessions come from X-Claude-Code-Session-Id, metadata.user_id, Codex's
session-id header or prompt_cache_key, Helicone-Session-Id, else from prefix
chains; sub-agents become child sessions, linked to the turn whose Task call
started them (see docs/capture.md). A previous_response_id call is stored
with the whole context the model saw; Claude Code's per-request billing
block is kept but marked as metadata (not prompt).

Durability: each finished turn is fsynced to a spool (OUT/.spool) before it
counts. SIGINT/SIGTERM write the trace set to OUT; after a crash, the next
start recovers the spool. With --rotate, one trace set per period is written
to OUT/<UTC start, 20060102T150405Z>/. A turn that cannot be kept (the spool
cannot be written, e.g. a full disk; the capture queue overflowed) is
reported on stderr even with --quiet (at most one line a second), counted
in agentperf_record_drops_total, summed on exit, and makes record exit 1.

Credentials (Authorization, x-api-key, cookies, any *key*/*token*/*secret*
header) are never written; --redact masks body text. /metrics on the same
address serves Prometheus metrics. Codex's WebSocket transport (GET
/v1/responses with Upgrade: websocket, permessage-deflate or not) is
forwarded untouched and each response.create on it recorded as a turn;
--websocket refuse answers 426 instead, so Codex falls back to HTTP+SSE.

Examples:
   agentperf record --out traces/monday
   agentperf record --upstream https://api.anthropic.com --listen 127.0.0.1:8787 --out traces/claude
   agentperf record --mitm --out traces/team --rotate 1h
   agentperf record --mitm --map api.openai.com=https://gateway.internal/openai --out traces/gw
   agentperf record --out traces/x --redact 'sk-[A-Za-z0-9_-]{20,}' --redact '[\w.+-]+@[\w-]+\.[\w.]+'`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "trace-set `DIR` (with --rotate: the directory of per-period trace sets)"},
			&cli.StringFlag{Name: "listen", Usage: "`ADDR` to listen on (default 127.0.0.1:8787, or 127.0.0.1:8788 with --mitm; loopback unless you say otherwise)"},
			&cli.StringFlag{Name: "upstream", Usage: "reverse mode: send every request to this base `URL` (default: route by API to api.anthropic.com / api.openai.com)"},
			&cli.BoolFlag{Name: "mitm", Usage: "run as an HTTPS (CONNECT) proxy that opens LLM API hosts with its own CA"},
			&cli.StringSliceFlag{Name: "map", Usage: "send traffic for `HOST=URL` to another base URL (repeatable), e.g. api.anthropic.com=http://127.0.0.1:9000"},
			&cli.StringSliceFlag{Name: "intercept", Usage: "MITM: also open and decode this `HOST` (repeatable; default list: api.anthropic.com, api.openai.com, chatgpt.com, openrouter.ai, …)"},
			&cli.StringFlag{Name: "ca-dir", EnvVars: []string{proxy.CADirEnv}, Usage: "MITM: `DIR` holding ca.pem and ca-key.pem (default: the user config dir/agentperf)"},
			&cli.StringFlag{Name: "rotate", Usage: "start a new trace set every `PERIOD` (1h, 30m) or spool SIZE (512MB, 1GiB)"},
			&cli.StringSliceFlag{Name: "redact", Usage: "mask matches of `REGEX` (RE2) in bodies before anything is written (repeatable)"},
			&cli.StringFlag{Name: "spool", Usage: "write-ahead spool `DIR` (default OUT/.spool)"},
			&cli.StringFlag{Name: "websocket", Value: proxy.WebSocketCapture, Usage: "Codex's Responses WebSocket (GET /v1/responses, Upgrade: websocket): `MODE` capture (record the calls made over it), refuse (answer 426 so Codex falls back to HTTP+SSE) or pass (forward, record nothing)"},
			&cli.BoolFlag{Name: "allow-websocket", Hidden: true, Usage: "same as --websocket pass (kept for older scripts)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live status line on stderr (dropped turns are still reported)"},
			&cli.BoolFlag{Name: "verbose", Usage: "log recovery, rotation and upstream failures to stderr"},
		},
		Action: runRecord,
	})
}

func runRecord(c *cli.Context) error {
	if c.NArg() > 0 {
		return exitCode(2, fmt.Errorf("record takes no arguments, got %q (see --help)", c.Args().First()))
	}
	every, size, err := proxy.ParseRotate(c.String("rotate"))
	if err != nil {
		return exitCode(2, err)
	}
	maps, err := proxy.ParseMap(c.StringSlice("map"))
	if err != nil {
		return exitCode(2, err)
	}
	wsMode, err := proxy.ParseWebSocketMode(c.String("websocket"))
	if err != nil {
		return exitCode(2, fmt.Errorf("--websocket: %w", err))
	}
	if c.Bool("allow-websocket") { // the former flag: pass through uncaptured
		wsMode = proxy.WebSocketPass
	}
	front := proxy.FrontOptions{Map: maps, WebSocket: wsMode}
	if u := c.String("upstream"); u != "" {
		if c.Bool("mitm") {
			return exitCode(2, fmt.Errorf("--upstream is for reverse mode; with --mitm use --map HOST=URL"))
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return exitCode(2, fmt.Errorf("--upstream %q is not an http(s) URL", u))
		}
		front.Upstream = pu
	}
	if hs := c.StringSlice("intercept"); len(hs) > 0 {
		front.Intercept = append(append([]string(nil), proxy.DefaultInterceptHosts...), hs...)
	}
	stderr := c.App.ErrWriter
	logger := slog.New(slog.DiscardHandler)
	if c.Bool("verbose") {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	front.Logger = logger
	// On a terminal, a loss line first clears the status line drawn in
	// place (which is redrawn below it).
	dropPrefix := ""
	if f, ok := stderr.(*os.File); ok && !c.Bool("quiet") && recordStderrIsTerminal(f) {
		dropPrefix = "\r\033[K"
	}
	cfg := proxy.Config{
		Listen: c.String("listen"), MITM: c.Bool("mitm"), CADir: c.String("ca-dir"), Front: front,
		Recorder: proxy.Options{Out: c.String("out"), SpoolDir: c.String("spool"), RotateEvery: every,
			RotateBytes: size, Redact: c.StringSlice("redact"), Logger: logger,
			// Loss is always reported, --quiet or not (at most once a second).
			OnDrop: func(r proxy.DropReport) { fmt.Fprintf(stderr, "%sagentperf record: %s\n", dropPrefix, r) }},
		Ready: func(u string) {
			fmt.Fprintf(stderr, "agentperf record: listening on %s, writing %s\n", u, c.String("out"))
			if c.Bool("mitm") {
				fmt.Fprintf(stderr, "agentperf record: agents need HTTPS_PROXY=%s and the CA (run 'agentperf ca')\n", u)
			}
		},
	}
	if !c.Bool("quiet") {
		cfg.Status = stderr
		// On a terminal the line is redrawn in place every second; into a
		// log or pipe it is a plain line every 30 s.
		if f, ok := stderr.(*os.File); !ok || !recordStderrIsTerminal(f) {
			cfg.StatusPlain, cfg.StatusEvery = true, 30*time.Second
		}
	}
	err = proxy.Run(c.Context, cfg)
	var loss *proxy.LossError
	if err != nil && !errors.As(err, &loss) {
		return err
	}
	if every > 0 || size > 0 {
		fmt.Fprintf(stderr, "agentperf record: trace sets written under %s (one directory per period)\n", c.String("out"))
	} else {
		fmt.Fprintf(stderr, "agentperf record: trace set written to %s\n", c.String("out"))
	}
	if loss != nil {
		// The trace set is written, but incomplete: say so and fail.
		return exitCode(1, err)
	}
	return nil
}

// recordStderrIsTerminal reports whether f is a character device (a terminal).
func recordStderrIsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
