#!/usr/bin/env bash
# Report the disk usage of a directory: total bytes and the largest entries.
# Parameters arrive as --name value pairs (and as JSON in $YLAI_PARAMS_FILE).
set -euo pipefail

path="/tmp"
top=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --path) path="$2"; shift 2 ;;
    --top) top="$2"; shift 2 ;;
    *) echo "disk_usage: unknown argument: $1" >&2; exit 64 ;;
  esac
done

if [[ ! -d "$path" ]]; then
  echo "disk_usage: not a directory: $path" >&2
  exit 2
fi

# du exits 1 when some entries are unreadable; the sizes it printed are still right.
total=$( (du -sb -- "$path" 2>/dev/null || true) | cut -f1)
report="${YLAI_ARTIFACTS_DIR:-.}/disk_usage.txt"
sizes=$(mktemp)
trap 'rm -f "$sizes"' EXIT
(du -ab --max-depth=1 -- "$path" 2>/dev/null || true) | sort -rn > "$sizes"
# head on a file, not a pipe: an early close would SIGPIPE sort and fail under pipefail.
head -n "$((top + 1))" "$sizes" | tee "$report"
entries=$(find "$path" -mindepth 1 -maxdepth 1 | wc -l)
free=$(df -B1 --output=avail -- "$path" | tail -n 1 | tr -d ' ')

# Numbers only: no string escaping needed to write valid JSON from bash.
printf '{"total_bytes": %d, "entries": %d, "free_bytes": %d}\n' "$total" "$entries" "$free" > "$YLAI_RESULT_FILE"
echo "total ${total} bytes in ${entries} entries; ${free} bytes free"
