#!/usr/bin/env bash
# make test: start what the tests need (a throwaway PostgreSQL on a port of
# its own, a streaming replica of it and a PgBouncer in front of it; the
# tests start their own SMTP servers), then lint (gofmt, vet, staticcheck, golangci-lint), check the generated code,
# and run every test.
#
# Ports: CLC_TEST_PGPORT (default 54330), the replica on
# CLC_TEST_REPLICA_PGPORT (default that + 100), PgBouncer on
# CLC_TEST_PGBOUNCER_PORT (default that + 200).
set -euo pipefail
cd "$(dirname "$0")/.."

pg_dir=.tmp/pg-test
pg_port=${CLC_TEST_PGPORT:-54330}

replica_dir=.tmp/pg-test-replica
replica_port=${CLC_TEST_REPLICA_PGPORT:-$((pg_port + 100))}
bouncer_dir=.tmp/pgbouncer-test
bouncer_port=${CLC_TEST_PGBOUNCER_PORT:-$((pg_port + 200))}

stop_all() {
  scripts/pg.sh stop "$bouncer_dir" >&2 || true
  scripts/pg.sh stop "$replica_dir" >&2 || true
  scripts/pg.sh stop "$pg_dir" >&2 || true
}
trap stop_all EXIT
TEST_DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port")
TEST_REPLICA_URL=$(scripts/pg.sh replica "$replica_dir" "$replica_port" "$pg_port")
TEST_PGBOUNCER_URL=$(scripts/pg.sh bouncer "$bouncer_dir" "$bouncer_port" "$pg_port")
# The replica test stops the replica and starts it again with scripts/pg.sh.
TEST_REPLICA_DIR=$(realpath -m "$replica_dir")
export TEST_DATABASE_URL TEST_REPLICA_URL TEST_REPLICA_DIR TEST_PGBOUNCER_URL

if [[ -z "${CLC_CHROMIUM:-}" ]]; then
  CLC_CHROMIUM=$(scripts/chromium.sh)
  export CLC_CHROMIUM
fi

# axe-core for the browser suite's accessibility checks, from the lock file.
axe_dir=internal/server/testdata/axe
if [[ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]]; then
  echo "== npm ci ($axe_dir)"
  command -v npm >/dev/null || { echo "npm is needed for axe-core (apt-get install npm)"; exit 1; }
  npm ci --prefix "$axe_dir" --no-audit --no-fund --loglevel=error
fi

# The OpenID provider the single sign-on tests start (panva's oidc-provider),
# from the lock file.
oidc_dir=internal/server/testdata/oidc
if [[ ! -f "$oidc_dir/node_modules/oidc-provider/package.json" ]]; then
  echo "== npm ci ($oidc_dir)"
  command -v npm >/dev/null || { echo "npm is needed for the OpenID provider (apt-get install npm)"; exit 1; }
  npm ci --prefix "$oidc_dir" --no-audit --no-fund --loglevel=error
fi

# gofmt, go vet, staticcheck, golangci-lint and the generated-code check.
scripts/lint.sh
echo "== go test"
go test -count=1 -timeout 20m "$@" ./...
