#!/usr/bin/env bash
# Set up and run the whole test suite (unit tests, MPI tests at 1, 2 and 3
# ranks, command-line tests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
