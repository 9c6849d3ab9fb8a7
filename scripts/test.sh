#!/usr/bin/env bash
# Runs every test project (already built), prints each project's wall time and the total, and ends with one line
# (CI reads it): "tests: N passed, N failed, N skipped".
# Usage: scripts/test.sh [CONFIG] [FILTER], e.g. `scripts/test.sh Release Category=Unit` (what `make test-unit` runs).
# The projects run in two lanes side by side (TEST_LANES=1: one after another): most integration tests wait on real
# processes (trainer steps, grace periods, polls), so two lanes share the 2 cores well. Each project's output is
# printed whole when it ends.
set -uo pipefail
config="${1:-Release}"
filter="${2:-}"
lanes="${TEST_LANES:-2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started_all=$SECONDS

# One project: its log in $work/NAME.log, "SECONDS RC" in $work/NAME.result.
run_project() {
  local proj="$1" name started rc
  name="$(basename "$proj" .csproj)"; started=$SECONDS
  dotnet test "$proj" -c "$config" --no-build -nologo --logger "console;verbosity=normal" ${filter:+--filter "$filter"} >"$work/$name.log" 2>&1
  rc=$?
  echo "$((SECONDS - started)) $rc" >"$work/$name.result"
  { echo "=== $proj"; grep -vE '^\s+Passed ' "$work/$name.log"; } >&3
}
exec 3>&1

projects=(tests/*/*.Tests.csproj)
# The operator's tests and the chaos subset in the first lane (about as long as all the others); the rest in the second.
first=(); rest=()
for proj in "${projects[@]}"; do
  case "$proj" in
    */K8sTraining.Operator.Tests.csproj|*/K8sTraining.Chaos.Tests.csproj) first+=("$proj") ;;
    *) rest+=("$proj") ;;
  esac
done
if [ "$lanes" -ge 2 ]; then
  ( for proj in "${first[@]}"; do run_project "$proj"; done ) &
  lane=$!
  for proj in "${rest[@]}"; do run_project "$proj"; done
  wait "$lane"
else
  for proj in "${projects[@]}"; do run_project "$proj"; done
fi

passed=0; failed=0; skipped=0; rc=0; durations=()
for proj in "${projects[@]}"; do
  name="$(basename "$proj" .csproj)"; log="$work/$name.log"
  if [ ! -f "$work/$name.result" ]; then echo "no result for $proj"; rc=1; continue; fi
  read -r seconds code <"$work/$name.result"
  [ "$code" -ne 0 ] && rc=1
  durations+=("$(printf '%5d s  %s' "$seconds" "$name")")
  # The console logger ends with "Total tests: N" then "Passed: N", "Failed: N", "Skipped: N" lines (absent when 0).
  summary="$(sed -n '/^Total tests:/,$p' "$log")"
  if [ -z "$summary" ] && ! { [ -n "$filter" ] && grep -q "No test matches the given testcase filter" "$log"; }; then
    echo "no test summary for $proj"; rc=1
  fi
  count() { sed -nE "s/^ +$1: +([0-9]+)$/\1/p" <<<"$summary" | tail -1; }
  p=$(count Passed); f=$(count Failed); s=$(count Skipped)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
done
echo
echo "durations (wall, $lanes lane(s)):"
printf '  %s\n' "${durations[@]}"
printf '  %5d s  total\n' $((SECONDS - started_all))
# The failed tests by name, with their first message lines, so the end of a CI log says what failed.
if [ "$failed" -gt 0 ]; then
  echo "failed tests:"
  for proj in "${projects[@]}"; do
    name="$(basename "$proj" .csproj)"
    grep -h -A 3 -E '^\s+Failed [A-Za-z_]' "$work/$name.log" 2>/dev/null | grep -vE '^\s*Stack Trace:|^--$' | sed "s|^|  $name: |" | head -40
  done
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
