#!/usr/bin/env bash
# The main job on the embedded default: synthesize coding-agent traces and
# inspect them. (Replay against the simulator and analysis join as they land.)
set -euo pipefail
BIN=${1:-bin/agentperf}
DIR=${2:-out/demo}
rm -rf "$DIR"
mkdir -p "$DIR"
"$BIN" synth --sessions 20 --seed 1 --out "$DIR/traces"
"$BIN" inspect "$DIR/traces"
