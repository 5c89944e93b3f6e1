#!/usr/bin/env bash
# Fails when a committed *_templ.go no longer matches its .templ source.
# Generates into a copy, so it may run while `go test` compiles the tree;
# on a mismatch the fresh files are copied in, ready to commit.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=(web bench)
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -r "${dirs[@]}" "$copy/"
for d in "${dirs[@]}"; do
  go tool templ generate -path "$copy/$d" >/dev/null 2>&1 || go tool templ generate -path "$copy/$d"
done
stale=()
while IFS= read -r -d '' f; do
  cmp -s "$copy/$f" "$f" 2>/dev/null || stale+=("$f")
done < <(cd "$copy" && find "${dirs[@]}" -name '*_templ.go' -print0 | sort -z)
if ((${#stale[@]})); then
  echo "generated templ code was stale; regenerated, commit these:" >&2
  for f in "${stale[@]}"; do cp "$copy/$f" "$f"; echo "  $f" >&2; done
  exit 1
fi
echo "generated templ code is current"
