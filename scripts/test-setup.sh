#!/usr/bin/env bash
# Installs what the end-to-end tests use: the real npm SDK clients and DuckDB
# (e2e/package.json), and Debian's Chromium for the report screenshot test.
# Idempotent: does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d e2e/node_modules/openai ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
	echo "test-setup: installing npm clients into e2e/node_modules"
	(cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! command -v chromium >/dev/null 2>&1; then
	echo "test-setup: installing Debian chromium"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
