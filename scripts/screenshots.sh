#!/usr/bin/env bash
# make screenshots: render the main pages over the demo data into
# docs/screenshots/ with headless Chromium (TestScreenshots), on a throwaway
# PostgreSQL of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_dir=.tmp/pg-shots
pg_port=${CLC_TEST_PGPORT:-54336}
TEST_DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port")
export TEST_DATABASE_URL
trap 'scripts/pg.sh stop "$pg_dir" >&2 || true' EXIT
CLC_CHROMIUM=${CLC_CHROMIUM:-$(scripts/chromium.sh)}
export CLC_CHROMIUM
CLC_SCREENSHOTS=$PWD/docs/screenshots
export CLC_SCREENSHOTS
go test -count=1 -run '^TestScreenshots$' ./internal/server
ls -1 "$CLC_SCREENSHOTS"
