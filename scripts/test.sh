#!/usr/bin/env bash
# Runs every test project (already built), prints each project's wall time and the total, and ends with one line
# (CI reads it): "tests: N passed, N failed, N skipped".
# Usage: scripts/test.sh [CONFIG] [FILTER], e.g. `scripts/test.sh Release Category=Unit` (what `make test-unit` runs).
set -uo pipefail
config="${1:-Release}"
filter="${2:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
passed=0; failed=0; skipped=0; rc=0
durations=(); started_all=$SECONDS
for proj in tests/*/*.Tests.csproj; do
  echo "=== $proj"
  log="$(mktemp)"; started=$SECONDS
  dotnet test "$proj" -c "$config" --no-build -nologo --logger "console;verbosity=normal" ${filter:+--filter "$filter"} 2>&1 | tee "$log" | grep -vE '^\s+Passed ' 
  [ "${PIPESTATUS[0]}" -ne 0 ] && rc=1
  durations+=("$(printf '%5d s  %s' $((SECONDS - started)) "$(basename "$proj" .csproj)")")
  # The console logger ends with "Total tests: N" then "Passed: N", "Failed: N", "Skipped: N" lines (absent when 0).
  summary="$(sed -n '/^Total tests:/,$p' "$log")"
  if [ -z "$summary" ] && ! { [ -n "$filter" ] && grep -q "No test matches the given testcase filter" "$log"; }; then
    echo "no test summary for $proj"; rc=1
  fi
  count() { sed -nE "s/^ +$1: +([0-9]+)$/\1/p" <<<"$summary" | tail -1; }
  p=$(count Passed); f=$(count Failed); s=$(count Skipped)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
  rm -f "$log"
done
echo
echo "durations (wall):"
printf '  %s\n' "${durations[@]}"
printf '  %5d s  total\n' $((SECONDS - started_all))
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
