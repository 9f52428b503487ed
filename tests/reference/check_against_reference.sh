#!/usr/bin/env bash
# latdisp's JSON report equals, bit for bit, an exact rational reference
# written independently in Python (tools/reference_analyze.py) on hand-made
# edge cases and generated trajectories, at 1 and 2 ranks, both zero-ULP rules.
# usage: check_against_reference.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
mkdir -p "$work" && cd "$work" || exit 1
rm -f ./*.json ./*.diff  # a report left by an earlier run must never stand in for this run's
"$python" "$source/tests/reference/make_edge_inputs.py" 3 || exit 1
"${mpiexec[@]}" -np 1 "$latdisp" generate --output gen_special.h5 --steps 9 --tokens 30 --dims 24 --special \
  --seed 3 --overwrite >/dev/null || exit 1
"${mpiexec[@]}" -np 1 "$latdisp" generate --output gen_wide.h5 --steps 4 --tokens 7 --dims 150 --special \
  --seed 4 --overwrite >/dev/null || exit 1
# The exact references (one core, Python), computed while latdisp runs.
# shellcheck source=tests/reference/references_in_background.sh
source "$(dirname "${BASH_SOURCE[0]}")/references_in_background.sh"
# shellcheck disable=SC2035  # the inputs this script made, none named like an option
start_references "$python" "$source" *.h5
for file in *.h5; do
  for zero_ulp in min-normal min-subnormal; do
    for ranks in 1 2; do
      "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$file" --zero-ulp "$zero_ulp" \
        --report "$file.$zero_ulp.np$ranks.json" --overwrite --progress-seconds 0 >/dev/null 2>&1 ||
        { echo "analyze failed on $file --zero-ulp $zero_ulp at $ranks rank(s)"; kill "$references"; exit 1; }
    done
  done
done
wait "$references" || { echo "the reference failed"; exit 1; }
pass=0 fail=0
for file in *.h5; do
  for zero_ulp in min-normal min-subnormal; do
    reference="$file.$zero_ulp.reference.json"
    for ranks in 1 2; do
      report="$file.$zero_ulp.np$ranks.json"
      if "$python" "$source/tests/reference/compare_with_reference.py" "$report" "$reference" >"$report.diff"; then
        pass=$((pass + 1))
      else
        fail=$((fail + 1))
        echo "MISMATCH $file --zero-ulp $zero_ulp at $ranks rank(s):"
        head -15 "$report.diff"
      fi
    done
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
