#!/usr/bin/env bash
# Builds the BK-CI release package (see cmd/package/main.go) from the module root; flags pass
# through, e.g. scripts/package.sh -version 1.0.0 writes dist/jobFastExecuteScript.zip.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./cmd/package "$@"
