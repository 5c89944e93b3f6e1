#!/usr/bin/env bash
# Prints the path of a Chromium binary for headless browser tests.
#
#   CHROME=$(scripts/chromium.sh)
#   "$CHROME" --headless --no-sandbox --disable-gpu --dump-dom URL
#
# Looks for $CHROMIUM_BIN (if set), chromium and chromium-browser on PATH, and
# /usr/bin/chromium. If none is found and we are root on Debian/Ubuntu, installs
# the Debian 'chromium' package. Only the path goes to stdout.
set -euo pipefail

die() { printf 'chromium.sh: error: %s\n' "$*" >&2; exit 1; }

find_chromium() {
  local c p
  if [[ -n "${CHROMIUM_BIN:-}" && -x "${CHROMIUM_BIN}" ]]; then
    printf '%s\n' "$CHROMIUM_BIN"; return 0
  fi
  for c in chromium chromium-browser; do
    if p=$(command -v "$c" 2>/dev/null) && [[ -x "$p" ]]; then
      printf '%s\n' "$p"; return 0
    fi
  done
  if [[ -x /usr/bin/chromium ]]; then printf '%s\n' /usr/bin/chromium; return 0; fi
  return 1
}

find_chromium && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  printf 'chromium.sh: Chromium not found; installing the Debian chromium package\n' >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2 \
    || die "apt-get install chromium failed"
  find_chromium && exit 0
fi

die "Chromium not found (tried \$CHROMIUM_BIN, chromium, chromium-browser, /usr/bin/chromium); install it (e.g. apt-get install chromium) or set CHROMIUM_BIN"
