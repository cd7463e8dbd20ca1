#!/usr/bin/env bash
# Runs every Fuzz* target in the module for FUZZTIME (default 4s) each.
#
# A failing target prints its output. A failure the fuzzer found is saved
# under the package's testdata/fuzz/ and fails again on the rerun (go test
# runs saved inputs first), so a target that failed without saving an
# input — the fuzzing engine's own trouble, such as a worker that did not
# answer in time on a loaded machine — is run once more, and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-4s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($FUZZTIME)"
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
			n=$((n + 1))
			continue
		fi
		cat "$log"
		if grep -q 'Failing input written to' "$log"; then
			echo "fuzz: $pkg $target failed on an input it saved (above); go test $pkg reproduces it" >&2
			exit 1
		fi
		echo "fuzz: $pkg $target failed without saving an input; running it once more"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			echo "fuzz: $pkg $target failed twice" >&2
			exit 1
		fi
		n=$((n + 1))
	done
done
echo "fuzz: $n targets ok"
