#!/usr/bin/env bash
# Run every test stage, keep going after a failure so one run shows every problem,
# then print a summary and exit non-zero if any stage failed.
# Usage: tests/run-all.sh [molecule scenario ...]   (the Makefile passes every scenario)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

declare -a names results times
run_stage() {
  local name="$1"; shift
  local start=$SECONDS
  echo
  echo "=============================== stage: $name ==============================="
  "$@"
  local rc=$?
  names+=("$name"); times+=($((SECONDS - start)))
  if [ $rc -eq 0 ]; then results+=(passed); else results+=("FAILED (rc=$rc)"); fi
}

run_stage unit pytest tests/unit
run_stage ansible-lint ansible-lint
run_stage sanity tests/sanity/run-sanity.sh
# Playbooks through ansible-runner on localhost (export, erasure, AWX job flows); the lab
# tests in tests/e2e skip themselves here and run in the lab-e2e stage below.
run_stage e2e-local pytest tests/e2e
run_stage reliability pytest tests/reliability
for scenario in "$@"; do
  run_stage "molecule:$scenario" molecule test -s "$scenario"
done
run_stage lab-e2e tests/lab-e2e.sh

passed=0; failed=0
echo
echo "=============================== summary ==============================="
for i in "${!names[@]}"; do
  printf '%-28s %-16s %5ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
  if [ "${results[$i]}" = passed ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
