#!/usr/bin/env bash
# The main job on the embedded default data: set up, generate the default
# trajectory, analyze it on 2 MPI ranks, write the JSON report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup.sh
mkdir -p data
ranks=${RANKS:-2}
[ -f data/default.h5 ] || mpirun -np "$ranks" --oversubscribe build/latdisp generate --config configs/default-data.cfg
mpirun -np "$ranks" --oversubscribe build/latdisp analyze --config configs/default.cfg --overwrite
echo "JSON report: data/default-report.json; per-token table: data/default-per-token.csv;" \
  "per-step series: data/default-series.csv"
