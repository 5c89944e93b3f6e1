#!/usr/bin/env bash
# make lint: gofmt, go vet, golangci-lint (.golangci.yml: staticcheck with
# its checks, errcheck, bodyclose, ...) and the generated-code check. The
# linter is pinned in its own module, scripts/tools/go.mod, so its
# dependencies never move the portal's.
#
#   scripts/lint.sh          everything
#   scripts/lint.sh vet      go vet alone (it compiles what `go test` then reuses)
#   scripts/lint.sh static   gofmt, golangci-lint and the generated code: no
#                            compiling of the portal, so it may run beside `go test`
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

if [[ $what == all || $what == vet ]]; then
  echo "== go vet"
  go vet ./...
fi
if [[ $what == all || $what == static ]]; then
  echo "== gofmt"
  unformatted=$(gofmt -l cmd internal web migrations bench)
  if [[ -n "$unformatted" ]]; then echo "gofmt would change: $unformatted"; exit 1; fi
  echo "== golangci-lint"
  go tool -modfile=scripts/tools/go.mod golangci-lint run ./...
  echo "== generated code"
  scripts/check-generated.sh
fi
