#!/usr/bin/env bash
# make fuzz: run every fuzz target for FUZZTIME each (default 30s). What a
# target finds is written to its package's testdata/fuzz, where `go test`
# replays it from then on: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}

for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $target ($fuzztime)"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
  done
done
