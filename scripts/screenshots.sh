#!/usr/bin/env bash
# make screenshots: render the main pages over the demo data into
# docs/screenshots/ with headless Chromium (TestScreenshots), on a throwaway
# PostgreSQL of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

# A PostgreSQL given in TEST_DATABASE_URL is used as it is; otherwise one is
# started on CLC_SHOTS_PGPORT and stopped at the end.
if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  pg_dir=.tmp/pg-shots
  TEST_DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "${CLC_SHOTS_PGPORT:-54331}")
  export TEST_DATABASE_URL
  trap 'scripts/pg.sh stop "$pg_dir" >&2 || true' EXIT
fi
CLC_CHROMIUM=${CLC_CHROMIUM:-$(scripts/chromium.sh)}
export CLC_CHROMIUM
CLC_SCREENSHOTS=$PWD/docs/screenshots
export CLC_SCREENSHOTS
go test -count=1 -run '^TestScreenshots$' ./internal/server
ls -1 "$CLC_SCREENSHOTS"
