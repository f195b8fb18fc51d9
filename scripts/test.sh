#!/usr/bin/env bash
# Runs every check and test of the project: formatting, vet, golangci-lint, the race-enabled test suite
# (end-to-end included), each fuzzer for a short fixed number of inputs, the demo once, and the release
# package with its guards. `go test ./...` alone is the quick inner loop (no end-to-end suite).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet -tags e2e ./...

echo "== golangci-lint (pinned in tools/go.mod; configuration: .golangci.yml)"
lintbin=$(mktemp -d)/golangci-lint
go -C tools build -o "$lintbin" github.com/golangci/golangci-lint/v2/cmd/golangci-lint
"$lintbin" run ./...

echo "== go test -race (the end-to-end suite included: -tags e2e)"
log=$(mktemp)
status=0
go test -race -tags e2e -count=1 -v ./... >"$log" 2>&1 || status=$?
grep -E '^(ok|FAIL|---|panic:)|^\s+--- FAIL' "$log" | grep -v -- '--- PASS' | grep -v -- '--- SKIP' || true
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [ "$status" -ne 0 ]; then
  echo "go test failed; the full log follows" ; cat "$log"
fi
rm -f "$log"
[ "$status" -eq 0 ] || { echo "tests: $passed passed, $failed failed, $skipped skipped"; exit 1; }

echo "== fuzz (short)"
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can fail a fuzzer with a bare
# "context deadline exceeded" when -fuzztime runs out while a worker is mid-input (golang/go#75804,
# fixed in Go 1.27), a failure without any crashing input. A count stops without that deadline.
# 20000 inputs take 1-10 s per fuzzer on a 2-core machine. FUZZTIME=30s (or 1000000x) fuzzes longer.
FUZZTIME=${FUZZTIME:-20000x}
while read -r pkg dir; do
  for fuzz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "-- $pkg $fuzz"
    if ! out=$(go test -run '^$' -fuzz "^${fuzz}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 </dev/null); then
      echo "$out"; exit 1
    fi
  done
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./...)

echo "== release package (all platforms) and its guards"
if ! out=$(JOBFAST_PACKAGE_ALL=1 go test -tags e2e -count=1 -run '^TestPackage$' ./e2e 2>&1); then
  echo "$out"; exit 1
fi

echo "== demo"
if ! out=$(go run ./cmd/demo 2>&1); then
  echo "$out"; exit 1
fi

echo "all checks passed"
echo "tests: $passed passed, $failed failed, $skipped skipped"
