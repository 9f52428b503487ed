#!/usr/bin/env bash
# The main job on the embedded default data: set up (building only the latdisp
# executable), generate the default trajectory, analyze it on 2 MPI ranks,
# write the JSON report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LATDISP_BUILD_TARGETS=latdisp source tools/setup.sh
mkdir -p data
ranks=${RANKS:-2}
# --quiet: latdisp says what went wrong itself; mpirun's own ten lines after it add nothing.
if [ ! -f data/default.h5 ]; then
  echo "run_default: generating the default trajectory data/default.h5 on $ranks ranks"
  mpirun --quiet -np "$ranks" --oversubscribe build/latdisp generate --config configs/default-data.cfg
fi
echo "run_default: analyzing data/default.h5 on $ranks ranks (configs/default.cfg)"
start=$SECONDS
mpirun --quiet -np "$ranks" --oversubscribe build/latdisp analyze --config configs/default.cfg --overwrite
echo "run_default: analysis done in $((SECONDS - start)) s"
echo "JSON report: data/default-report.json; per-token table: data/default-per-token.csv;" \
  "per-step series: data/default-series.csv"
