#!/usr/bin/env bash
# make run: a throwaway PostgreSQL and a mail catcher unless DATABASE_URL and
# SMTP_URL point elsewhere, then migrate, load the demo data and serve.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=bin/clc
pg_dir=.tmp/pg-dev
pg_port=${CLC_DEV_PGPORT:-54329}
started_pg=""
catcher_pid=""

cleanup() {
  trap - EXIT INT TERM
  if [[ -n "$catcher_pid" ]]; then kill "$catcher_pid" 2>/dev/null || true; wait "$catcher_pid" 2>/dev/null || true; fi
  if [[ -n "$started_pg" ]]; then scripts/pg.sh stop "$pg_dir" >&2 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${DATABASE_URL:-}" ]]; then
  DATABASE_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port")
  started_pg=1
  export DATABASE_URL
fi

mail_page=""
if [[ -z "${SMTP_URL:-}" ]]; then
  smtp_addr=${CLC_DEV_SMTP:-127.0.0.1:1025}
  http_addr=${CLC_DEV_MAILPAGE:-127.0.0.1:8025}
  "$bin" mailcatcher --smtp "$smtp_addr" --http "$http_addr" 2>.tmp/mailcatcher.log &
  catcher_pid=$!
  export SMTP_URL="smtp://$smtp_addr"
  mail_page="http://$http_addr"
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/${smtp_addr%:*}/${smtp_addr##*:}") 2>/dev/null && break
    kill -0 "$catcher_pid" 2>/dev/null || { cat .tmp/mailcatcher.log >&2; echo "the mail catcher did not start" >&2; exit 1; }
    sleep 0.1
  done
fi

"$bin" migrate
"$bin" seed demo >/dev/null

addr=${CLC_ADDR:-127.0.0.1:8080}
cat <<INFO

  CLC Portal:     ${CLC_BASE_URL:-http://$addr}
  Sign in as:     ada@northwind-partners.example   (partner, with accounts)
                  ops@clc.example                  (operator)
                  newcomer@northwind-partners.example (no role yet)
  Password:       demo-password
  Read mail at:   ${mail_page:-the server at $SMTP_URL}

  Ctrl-C stops everything.

INFO
"$bin" serve &
serve_pid=$!
wait "$serve_pid"
