#!/usr/bin/env bash
# Runs every test project (already built) and prints one closing line: "tests: N passed, N failed, N skipped".
# Usage: scripts/test.sh [CONFIG] [FILTER], e.g. `scripts/test.sh Release Category=Unit` (what `make test-unit` runs).
set -uo pipefail
config="${1:-Release}"
filter="${2:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
passed=0; failed=0; skipped=0; rc=0
for proj in tests/*/*.Tests.csproj; do
  echo "=== $proj"
  log="$(mktemp)"
  dotnet test "$proj" -c "$config" --no-build -nologo --logger "console;verbosity=normal" ${filter:+--filter "$filter"} 2>&1 | tee "$log" | grep -vE '^\s+Passed ' 
  [ "${PIPESTATUS[0]}" -ne 0 ] && rc=1
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
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
