#!/usr/bin/env bash
# Bad input to inspect / separation / blackholes / generate --matrix: one clear
# message from rank 0, the documented exit code, no crash, no hang.
# usage: cli_bit_level_bad_input.sh LATDISP MAKE_BAD_MATRICES WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 make_bad=$2 work=$3 ranks=$4
shift 4
mpiexec=("$@")
mkdir -p "$work"
rm -f "$work"/*.safetensors "$work"/*.h5 "$work"/*.json
"$make_bad" "$work" || exit 1

# One rank runs as an MPI singleton (mpiexec takes 2 s to report a failing
# job): every check at 1 rank; at more ranks, the checks marked "any" (errors
# that could arise on some ranks only).
launch() {
  if [ "$ranks" -eq 1 ]; then
    timeout 120 "$latdisp" "$@"
  else
    timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@"
  fi
}
# shellcheck source=tests/expect_error.sh
source "$(dirname "${BASH_SOURCE[0]}")/expect_error.sh"
# expect [any] CODE PATTERN -- ARGS...: see expect_error.sh.
expect() {
  if [ "$1" = any ]; then
    shift
  elif [ "$ranks" -gt 1 ]; then
    return
  fi
  expect_error "$@"
}

g=$work/good.safetensors
groups=$work/groups_good.h5
expect 2 "does not exist" -- inspect --matrix "$work/missing.safetensors" --tokens 0 --dims 0
expect any 2 "no tensor 'V' (tensors present: W" -- inspect --matrix "$g:V" --tokens 0,1 --dims 0
expect 2 "dtype F64" -- inspect --matrix "$work/float.safetensors" --tokens 0 --dims 0
expect 2 "expected 2 dimensions" -- separation --matrix "$work/rank1.safetensors" --groups "$groups"
expect 2 "token id 8, out of range" -- inspect --matrix "$g" --groups "$work/groups_out_of_range.safetensors" --dims 0
expect any 2 "token id 8, out of range" -- separation --matrix "$g" --groups "$work/groups_out_of_range.safetensors"
expect any 2 "token id 9, out of range" -- inspect --matrix "$g" --tokens 0,9 --dims 0
expect any 2 "dimension 4 is out of range" -- inspect --matrix "$g" --tokens 0,1 --dims 0,4
expect any 2 "'bh2_token_ids' is empty" -- separation --matrix "$g" --groups "$work/groups_empty.safetensors"
expect 2 "no \*_token_ids" -- separation --matrix "$g" --groups "$work/groups_none.safetensors"
expect 2 "exceeds the format's limit" -- blackholes --matrix "$work/huge_length.safetensors"
expect 2 "runs past the end of the file" -- blackholes --matrix "$work/long_length.safetensors"
expect 2 "not valid JSON" -- blackholes --matrix "$work/bad_json.safetensors"
expect 2 "past the end of the file" -- blackholes --matrix "$work/past_end.safetensors"
expect any 2 "past the end of the file" -- blackholes --matrix "$work/truncated.safetensors"
expect any 2 "overlap" -- blackholes --matrix "$work/overlap.safetensors"
expect 2 "needs 64 bytes" -- blackholes --matrix "$work/size_mismatch.safetensors"
expect 2 "too short" -- blackholes --matrix "$work/tiny.safetensors"
expect 2 "@STEP" -- blackholes --matrix "$work/steps.h5"
expect any 2 "step 2 is out of range" -- blackholes --matrix "$work/steps.h5:W@2"
# blackholes over a trajectory (steps.h5: 2 steps x 8 tokens x 4 dims, all rows equal).
t=$work/steps.h5
expect 1 "give one of them" -- blackholes --matrix "$t:W@1" --steps all
expect 1 "--steps takes all, A:B or A:B:K" -- blackholes --matrix "$t" --steps 1-3
expect 1 "the last step is before the first" -- blackholes --matrix "$t" --steps 1:0
expect 1 "stride must be at least 1" -- blackholes --matrix "$t" --steps 0:1:0
expect 3 "is the same file as" -- blackholes --matrix "$t" --steps all --report "$work/r.h5" --output "$work/r.h5"
expect any 2 "step 2 is out of range: '.*steps.h5' has 2 steps" -- blackholes --matrix "$t" --steps 0:2
expect any 3 "is the input" -- blackholes --matrix "$t" --steps all --report "$t" --overwrite
expect any 1 "memory-budget 1.00 MiB is too small" -- blackholes --matrix "$t" --steps all --memory-budget 1MiB
echo "{}" >"$work/existing.json"
expect any 3 "exists" -- blackholes --matrix "$t" --steps all --report "$work/existing.json"
launch blackholes --matrix "$t" --steps all --report "$work/steps_report.json" >"$work/steps.txt" 2>&1
if ! grep -q '"formed_at": 0' "$work/steps_report.json" || ! grep -q "bh1_token_ids .* 8 tokens" "$work/steps.txt"; then
  echo "FAIL: blackholes over steps.h5"; cat "$work/steps.txt"; failures=$((failures + 1))
fi
expect 1 "exactly one of --groups" -- inspect --matrix "$g" --dims 0
expect 1 "needs --dims" -- inspect --matrix "$g" --tokens 1
expect 1 "--dims takes" -- inspect --matrix "$g" --tokens 1 --dims 1,x
expect 1 "min-size" -- blackholes --matrix "$g" --min-size 1
expect 1 "at least 8" -- generate --matrix --output "$work/m.safetensors" --tokens 100 --dims 4
expect 1 "too few" -- generate --matrix --output "$work/m.safetensors" --tokens 100 --dims 8
"$latdisp" blackholes --matrix "$g" --output "$work/out.safetensors" >/dev/null || exit 1
expect any 3 "exists" -- blackholes --matrix "$g" --output "$work/out.safetensors"
# The good files work: every row of good.safetensors is identical (one group of 8).
launch separation --matrix "$g" --groups "$work/out.safetensors" >"$work/sep.txt" 2>&1
if ! grep -q "bh1_token_ids .* 8 token(s).*bit-identical" "$work/sep.txt"; then
  echo "FAIL: separation on blackholes output"; cat "$work/sep.txt"; failures=$((failures + 1))
fi
launch inspect --matrix "$work/steps.h5:W@1" --groups "$groups" --dims 0-3 --json >"$work/inspect.json" 2>&1
if ! grep -q '"ulp_distance": 0' "$work/inspect.json"; then
  echo "FAIL: inspect on an HDF5 step"; cat "$work/inspect.json"; failures=$((failures + 1))
fi
echo "$((checks + 3 - failures)) checks passed, $failures failed"
[ "$failures" -eq 0 ]
