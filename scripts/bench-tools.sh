#!/usr/bin/env bash
# Installs what `make bench` needs beyond Go and PostgreSQL: wrk, the HTTP
# load generator whose figures the bench prints beside its own (a second
# opinion on bench/load). Prints nothing to stdout.
#
#   scripts/bench-tools.sh
#
# When wrk is missing and we are root on Debian/Ubuntu, installs Debian's
# wrk package; otherwise says how to install it and fails, so a bench never
# runs without its second opinion by accident (go run ./bench/search -wrk=false
# skips it on purpose).
set -euo pipefail

die() { printf 'bench-tools.sh: error: %s\n' "$*" >&2; exit 1; }

command -v wrk >/dev/null 2>&1 && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  printf 'bench-tools.sh: wrk not found; installing the Debian wrk package\n' >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2 \
    || die "apt-get install wrk failed"
  command -v wrk >/dev/null 2>&1 && exit 0
fi

die "wrk not found on PATH; install it (Debian/Ubuntu: apt-get install wrk, as root) or run the bench with -wrk=false"
