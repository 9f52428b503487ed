#!/usr/bin/env bash
# Set up and run the whole test suite (unit tests, MPI tests at 1, 2 and 3
# ranks, command-line tests). --quick: only the tests not labelled slow (a few
# minutes; the inner loop); ctest -L unit|mpi|cli|slow selects by label.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
selection=()
if [ "${1:-}" = "--quick" ]; then
  selection=(-LE slow)
elif [ -n "${1:-}" ]; then
  echo "usage: tools/run_tests.sh [--quick]" >&2
  exit 1
fi
source tools/setup.sh
echo "run_tests: ctest ${selection[*]:-(every test)} with $(nproc) job(s)"
start=$SECONDS
ctest --test-dir build --output-on-failure -j "$(nproc)" "${selection[@]}"
echo "run_tests: done in $((SECONDS - start)) s"
