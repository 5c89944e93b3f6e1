#!/usr/bin/env bash
# Fails when a committed *_templ.go no longer matches its .templ source:
# regenerates, and reports any file that changed (the fresh files stay, ready
# to commit).
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=(web bench)
sum() { find "${dirs[@]}" -name '*_templ.go' -print0 | sort -z | xargs -0 -r sha256sum; }
before=$(sum)
for d in "${dirs[@]}"; do
  go tool templ generate -path "$d" >/dev/null 2>&1 || go tool templ generate -path "$d"
done
after=$(sum)
if [[ "$before" != "$after" ]]; then
  echo "generated templ code was stale; regenerated, commit these:" >&2
  diff <(echo "$before") <(echo "$after") | grep '^>' | awk '{print "  " $3}' >&2
  exit 1
fi
echo "generated templ code is current"
