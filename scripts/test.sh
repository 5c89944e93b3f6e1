#!/usr/bin/env bash
# make test: start what the tests need (a throwaway PostgreSQL on a port of
# its own; the tests start their own SMTP servers), then vet, check the
# generated code, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_dir=.tmp/pg-test
pg_port=${CLC_TEST_PGPORT:-54330}

TEST_DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port")
export TEST_DATABASE_URL
trap 'scripts/pg.sh stop "$pg_dir" >&2 || true' EXIT

if [[ -z "${CLC_CHROMIUM:-}" ]]; then
  CLC_CHROMIUM=$(scripts/chromium.sh)
  export CLC_CHROMIUM
fi

echo "== gofmt"
unformatted=$(gofmt -l cmd internal web migrations $(ls -d bench 2>/dev/null))
if [[ -n "$unformatted" ]]; then echo "gofmt would change: $unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== generated code"
scripts/check-generated.sh
echo "== go test"
go test -count=1 -timeout 20m "$@" ./...
