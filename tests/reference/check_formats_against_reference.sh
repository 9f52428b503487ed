#!/usr/bin/env bash
# Every element format (docs/definitions.md §17) against the
# exact rational reference (tools/reference_analyze.py, which decodes each
# format from its definition): every pair of 8-bit patterns of both FP8
# formats, every f16 pattern, structured and random f32 pairs, walks of
# every format with specials, FP8 coordinates that all move one way, and `generate --element-type` trajectories; both zero-ULP rules; at 1, 2 and 3 ranks and
# with the smallest step blocks; the walks also as safetensors trajectories
# and checkpoint series, and the series packed into HDF5. Then the refusals of this axis: --arithmetic seed on
# another format (exit 1), --element-type against a float container (exit 2).
# usage: check_formats_against_reference.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
"$python" "$source/tests/reference/make_format_inputs.py" . || exit 1
for type in bf16 f16 f32 f8e4m3 f8e5m2; do  # generate --element-type, specials planted
  "${mpiexec[@]}" -np 2 "$latdisp" generate --output "gen_$type.h5" --steps 6 --tokens 40 --dims 33 --special \
    --seed 5 --element-type "$type" --overwrite >/dev/null || exit 1
done
# The exact references (one core, Python), computed while latdisp runs below.
# shellcheck source=tests/reference/references_in_background.sh
source "$(dirname "${BASH_SOURCE[0]}")/references_in_background.sh"
# shellcheck disable=SC2035  # the inputs this script made, none named like an option
start_references "$python" "$source" *_pairs.h5 *_ulps.h5 *_random.h5 *_walk.h5 *_up.h5 *_down.h5 gen_*.h5
pass=0 fail=0
pending=()  # REPORT REFERENCE WHAT, compared once the references are written
# compare REPORT REFERENCE WHAT: the report equals the reference (input path and stored dtype aside
# when the container differs).
compare() { pending+=("$1" "$2" "$3"); }
compare_now() {
  if "$python" "$source/tests/reference/compare_with_reference.py" "$1" "$2" >"$1.diff"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "MISMATCH $3:"
    head -15 "$1.diff"
  fi
}
analyze() {  # RANKS REPORT ARGS...
  local ranks=$1 report=$2
  shift 2
  timeout 300 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze "$@" --report "$report" --overwrite \
    --progress-seconds 0 >/dev/null 2>"$report.err" || echo "analyze $* at $ranks rank(s) failed: $(tail -1 "$report.err")"
}
for file in *_pairs.h5 *_ulps.h5 *_random.h5 *_walk.h5 *_up.h5 *_down.h5 gen_*.h5; do
  for zero_ulp in min-normal min-subnormal; do
    reference="$file.$zero_ulp.reference.json"
    for ranks in 1 3; do
      analyze "$ranks" "$file.$zero_ulp.np$ranks.json" --input "$file" --zero-ulp "$zero_ulp"
      compare "$file.$zero_ulp.np$ranks.json" "$reference" "$file --zero-ulp $zero_ulp at $ranks rank(s)"
    done
    analyze 2 "$file.$zero_ulp.small.json" --input "$file" --zero-ulp "$zero_ulp" --max-steps-per-block 2 \
      --read-method read --spill-magnitudes --memory-budget 64MiB
    compare "$file.$zero_ulp.small.json" "$reference" "$file --zero-ulp $zero_ulp, smallest blocks"
  done
done
# The walks in the other containers: the same numbers (path and stored dtype differ).
for base in *_walk; do
  if [ -d "${base}_series" ]; then  # pack keeps the format
    "${mpiexec[@]}" -np 2 "$latdisp" pack --input "${base}_series" --output "${base}_packed.h5" --overwrite \
      >/dev/null || echo "pack ${base}_series failed"
  fi
  for input in "$base.safetensors" "${base}_series" "${base}_packed.h5"; do
    [ -e "$input" ] || continue
    for ranks in 1 3; do
      analyze "$ranks" "$input.np$ranks.json" --input "$input"
      compare "$input.np$ranks.json" "$base.container.reference.json" "$input at $ranks rank(s)"
    done
  done
done
# shellcheck disable=SC2034
ranks=2
launch() { timeout 60 "${mpiexec[@]}" -np 2 "$latdisp" "$@"; }
checks=0 failures=0
# shellcheck source=tests/expect_error.sh
source "$source/tests/expect_error.sh"
expect_error 1 "--arithmetic seed is the bf16 notebook's arithmetic; 'f32_walk.h5' holds f32 values" -- \
  analyze --input f32_walk.h5 --arithmetic seed
expect_error 2 "--element-type bf16 contradicts dataset 'W' in 'f16_walk.h5', stored as float16 (f16)" -- \
  analyze --input f16_walk.h5 --element-type bf16
expect_error 2 "--element-type f16 contradicts tensor 'W' in 'f32_walk.safetensors', stored as F32 (f32)" -- \
  analyze --input f32_walk.safetensors --element-type f16
expect_error 1 "--element-type must be one of bf16, f16, f32, f8e4m3, f8e5m2, not 'fp8'" -- \
  analyze --input f32_walk.h5 --element-type fp8
wait "$references" || { echo "the reference failed"; exit 1; }
for base in *_walk; do
  "$python" -c 'import json, sys
r = json.load(open(sys.argv[1])); del r["input"]["path"]; del r["input"]["dtype"]
json.dump(r, open(sys.argv[2], "w"))' "$base.h5.min-normal.reference.json" "$base.container.reference.json"
done
for ((i = 0; i < ${#pending[@]}; i += 3)); do
  compare_now "${pending[@]:i:3}"
done
echo "$pass reports matched, $fail did not; $((checks - failures)) refusals as expected, $failures not"
[ "$fail" -eq 0 ] && [ "$failures" -eq 0 ]
