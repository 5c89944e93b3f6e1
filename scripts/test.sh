#!/usr/bin/env bash
# make test: start what the tests need (a throwaway PostgreSQL on a port of
# its own, a streaming replica of it and a PgBouncer in front of it; the
# tests start their own SMTP servers), then lint (gofmt, vet, golangci-lint),
# check the generated code, and run every test.
#
# Two cores do it in one pass: the linters that need no compiled portal
# (gofmt, golangci-lint, the generated-code check) build and run in the
# background from the start, beside PostgreSQL's start, `go vet` and
# `go test`; `go vet` compiles what `go test` then reuses. Each phase's time
# is printed at the end.
#
# Ports: CLC_TEST_PGPORT (default 54330), the replica on
# CLC_TEST_REPLICA_PGPORT (default that + 100), PgBouncer on
# CLC_TEST_PGBOUNCER_PORT (default that + 200), the cluster the replica
# follows on CLC_TEST_REPLICATED_PGPORT (default that + 300). The replica
# follows a cluster of its own, where only the tests that read on it
# (pgtest.NewReplicated) make their databases: following the test cluster,
# it replayed every test's writes, 49 s of CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp

timings=()
phase_name=""
phase_start=$SECONDS
phase() {
  [[ -n $phase_name ]] && timings+=("$(printf '%-28s %4ds' "$phase_name" $((SECONDS - phase_start)))")
  phase_name=$1
  phase_start=$SECONDS
  [[ -n $phase_name ]] && echo "== $phase_name"
  return 0
}
started=$SECONDS

# The static linters, in the background from the start (see above); not
# when only some tests are asked for (make faults).
lint_log=.tmp/lint-static.log
lint_pid=""
if (($# == 0)); then
  ( start=$SECONDS; scripts/lint.sh static; echo "(static linters took $((SECONDS - start))s)" ) >"$lint_log" 2>&1 &
  lint_pid=$!
fi

# Everything go vet and go test build is built as the container image's
# binary is (static, -trimpath): the image test then links that binary
# from packages already compiled, instead of compiling the tree a second
# way. (Set after the linters start: they compile none of the portal, and
# their own build stays the one the Go cache already holds.)
export CGO_ENABLED=0
export GOFLAGS="-trimpath ${GOFLAGS:-}"

pg_dir=.tmp/pg-test
pg_port=${CLC_TEST_PGPORT:-54330}

replica_dir=.tmp/pg-test-replica
replicated_dir=.tmp/pg-test-replicated
replicated_port=${CLC_TEST_REPLICATED_PGPORT:-$((pg_port + 300))}
replica_port=${CLC_TEST_REPLICA_PGPORT:-$((pg_port + 100))}
bouncer_dir=.tmp/pgbouncer-test
bouncer_port=${CLC_TEST_PGBOUNCER_PORT:-$((pg_port + 200))}

stop_all() {
  if [[ -n $lint_pid ]]; then kill "$lint_pid" 2>/dev/null || true; fi
  scripts/pg.sh stop "$bouncer_dir" >&2 || true
  scripts/pg.sh stop "$replica_dir" >&2 || true
  scripts/pg.sh stop "$replicated_dir" >&2 || true
  scripts/pg.sh stop "$pg_dir" >&2 || true
}
trap stop_all EXIT
phase "start PostgreSQL, replica, PgBouncer"
TEST_DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port")
TEST_REPLICATED_DATABASE_URL=$(scripts/pg.sh start "$replicated_dir" "$replicated_port")
TEST_REPLICA_URL=$(scripts/pg.sh replica "$replica_dir" "$replica_port" "$replicated_port")
TEST_PGBOUNCER_URL=$(scripts/pg.sh bouncer "$bouncer_dir" "$bouncer_port" "$pg_port")
# The replica test stops the replica and starts it again with scripts/pg.sh.
TEST_REPLICA_DIR=$(realpath -m "$replica_dir")
export TEST_DATABASE_URL TEST_REPLICATED_DATABASE_URL TEST_REPLICA_URL TEST_REPLICA_DIR TEST_PGBOUNCER_URL

phase "Chromium, axe-core and the OpenID provider"
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

phase "go vet"
scripts/lint.sh vet
phase "go test"
# Tests that call t.Parallel (each has its own database, server and
# browser context) run four at a time: most of their time is waiting on
# PostgreSQL and Chromium.
test_status=0
go test -count=1 -timeout 20m -parallel "${CLC_TEST_PARALLEL:-4}" "$@" ./... || test_status=$?
phase "static linters (the rest of)"
lint_status=0
if [[ -n $lint_pid ]]; then
  wait "$lint_pid" || lint_status=$?
  cat "$lint_log"
fi
phase ""
printf '%s\n' "${timings[@]}"
printf '%-28s %4ds\n' "make test" $((SECONDS - started))
if ((lint_status)); then echo "the static linters failed (above)"; fi
if ((test_status)); then echo "go test failed"; fi
exit $((test_status || lint_status))
