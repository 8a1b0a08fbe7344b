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

total=$(du -sb -- "$path" 2>/dev/null | cut -f1)
report="${YLAI_ARTIFACTS_DIR:-.}/disk_usage.txt"
du -ab --max-depth=1 -- "$path" 2>/dev/null | sort -rn | head -n "$((top + 1))" | tee "$report"
entries=$(find "$path" -mindepth 1 -maxdepth 1 | wc -l)
free=$(df -B1 --output=avail -- "$path" | tail -n 1 | tr -d ' ')

# Numbers only: no string escaping needed to write valid JSON from bash.
printf '{"total_bytes": %d, "entries": %d, "free_bytes": %d}\n' "$total" "$entries" "$free" > "$YLAI_RESULT_FILE"
echo "total ${total} bytes in ${entries} entries; ${free} bytes free"
