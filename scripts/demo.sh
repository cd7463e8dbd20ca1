#!/usr/bin/env bash
# The main job on the embedded default: synthesize coding-agent traces,
# replay them with the AgentPerf capacity search against the in-process
# simulator, and analyze the results into the capacity table and a report.
set -euo pipefail
BIN=${1:-bin/agentperf}
DIR=${2:-out/demo}
rm -rf "$DIR"
mkdir -p "$DIR"
start=$(date +%s)
"$BIN" synth --sessions 40 --seed 1 --out "$DIR/traces"
"$BIN" inspect "$DIR/traces"
# Without --target the simulator runs in virtual time: AA's rules by default
# (1-minute warm-up, 10-minute steady window, grown until >= 30 completed
# trajectories and >= 3 per agent), deterministic for a --seed.
"$BIN" replay --traces "$DIR/traces" --hardware h200 --accelerators 8 \
	--search --search-max 512 --search-precision 0.1 --quiet --out "$DIR/results.parquet"
"$BIN" analyze "$DIR/results.parquet" --html "$DIR/report.html"
echo "demo: $(( $(date +%s) - start )) s; report: $DIR/report.html"
