#!/usr/bin/env bash
# make lint: gofmt, go vet, staticcheck and golangci-lint (.golangci.yml),
# and the generated-code check. The linters are pinned in their own module,
# scripts/tools/go.mod, so their dependencies never move the portal's.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=(go tool -modfile=scripts/tools/go.mod)

echo "== gofmt"
unformatted=$(gofmt -l cmd internal web migrations bench)
if [[ -n "$unformatted" ]]; then echo "gofmt would change: $unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
"${tools[@]}" staticcheck ./...
echo "== golangci-lint"
"${tools[@]}" golangci-lint run ./...
echo "== generated code"
scripts/check-generated.sh
