#!/usr/bin/env bash
# Bad input gets one clear message from rank 0, the documented exit code, and
# no hang, at the rank count given.
# usage: cli_bad_input.sh LATDISP MAKE_BAD_INPUTS WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 make_bad_inputs=$2 work=$3 ranks=$4
shift 4
mpiexec=("$@")
mkdir -p "$work"
rm -f "$work"/*.h5 "$work"/*.json
"$make_bad_inputs" "$work" || exit 1
"${mpiexec[@]}" -np 1 "$latdisp" generate --output "$work/good.h5" --steps 6 --tokens 8 --dims 4 >/dev/null || exit 1
head -c $(($(stat -c %s "$work/good.h5") - 100)) "$work/good.h5" >"$work/truncated.h5"

launch() { timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@"; }
# shellcheck source=tests/expect_error.sh
source "$(dirname "${BASH_SOURCE[0]}")/expect_error.sh"
# expect CODE PATTERN -- ARGS...: see expect_error.sh.
expect() { expect_error "$@"; }

expect 2 "does not exist" -- analyze --input "$work/missing.h5"
expect 2 "no dataset 'V'" -- analyze --input "$work/good.h5" --dataset V
expect 2 "has type float64, none of the element formats" -- analyze --input "$work/float_w.h5"
expect 2 "expected 3 dimensions" -- analyze --input "$work/rank2_w.h5"
expect 2 "at least 2 steps" -- analyze --input "$work/one_step.h5"
expect 2 "expected (3,)" -- analyze --input "$work/mask_length.h5"
expect 2 "only 0/1" -- analyze --input "$work/mask_values.h5"
expect 2 "truncated" -- analyze --input "$work/truncated.h5"
expect 2 "not HDF5" -- analyze --input "$work/not_hdf5.h5"
expect 1 "too small" -- analyze --input "$work/good.h5" --memory-budget 1MiB
expect 1 "epsilon" -- analyze --input "$work/good.h5" --epsilon abc
expect 1 "epsilon" -- analyze --input "$work/good.h5" --epsilon 0
expect 1 "read-method must be auto, map or read" -- analyze --input "$work/good.h5" --read-method copy
expect 1 "arithmetic" -- analyze --input "$work/good.h5" --arithmetic float
expect 1 "unrecognised\|unrecognized" -- analyze --input "$work/good.h5" --frobnicate
expect 1 "unknown subcommand" -- frobnicate
expect 3 "folder '/nonexistent/dir' does not exist" -- analyze --input "$work/good.h5" --report /nonexistent/dir/r.json
expect 3 "exists" -- generate --output "$work/good.h5" --steps 2 --tokens 2 --dims 2
expect 3 "not writable\|does not exist" -- generate --output /nonexistent/dir/w.h5 --steps 2 --tokens 2 --dims 2
expect 3 "is the input" -- analyze --input "$work/good.h5" --output "$work/good.h5"
expect 3 "not writable\|does not exist" -- analyze --input "$work/good.h5" --output /nonexistent/dir/o.h5
expect 1 "extension" -- analyze --input "$work/good.h5" --output "$work/o.txt"
expect 1 "save-dtype" -- analyze --input "$work/good.h5" --output "$work/o.h5" --save-dtype int7
expect 1 "outputs" -- analyze --input "$work/good.h5" --output "$work/o.h5" --outputs U,nothing
if [ "$ranks" -gt 1 ]; then
  expect 1 "more ranks" -- analyze --input "$work/one_token.h5"
fi
# --strict: anything but PERFECT exits 4 (the generated data has half-integers).
timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$work/good.h5" --strict >/dev/null 2>&1
strict=$?
checks=$((checks + 1))
if [ "$strict" -ne 4 ]; then
  echo "FAIL: --strict exit $strict"
  failures=$((failures + 1))
fi
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
