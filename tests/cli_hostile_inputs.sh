#!/usr/bin/env bash
# Hostile inputs, made for real with h5py at the rank count given: W behind
# an HDF5 external link (a mapped read would take the offset from the target
# but the bytes from the linking file), external raw storage (short, full,
# /dev/zero, a FIFO, missing), filters the library lacks, a corrupt gzip
# chunk, a virtual dataset, shapes whose element count overflows 64 bits,
# 20000 datasets; safetensors overlaps hidden behind a zero-size tensor, a
# name given twice, 100000 tensors. Each check: the exit code, the one
# message (bounded in length), the numbers against the target's where the
# input is readable; every command bounded by timeout.
# usage: cli_hostile_inputs.sh LATDISP PYTHON COMPARE_REPORTS WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
# shellcheck disable=SC2034  # ranks: given by the registration; each command names its own -np
latdisp=$1 python=$2 compare=$3 work=$4 ranks=$5
shift 5
mpiexec=("$@")
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
# shellcheck source=tests/cli_hostile_common.sh
source "$here/cli_hostile_common.sh"
cd "$work" || exit 1
"${mpiexec[@]}" -np 1 "$latdisp" generate --output w.h5 --steps 6 --tokens 40 --dims 8 >/dev/null || exit 1
for kind in hdf5 safetensors; do "$python" "$here/make_hostile_inputs.py" "$kind" . w.h5 || exit 1; done
run_latdisp 60 analyze --input w.h5 --report reference.json
expect_success
finish_check "the reference run"

# --- W behind an external link, or in external raw files: the target's numbers, or a refusal.
same_numbers() {  # NAME INPUT ARGS...: the report of INPUT equals the reference outside run and input
  local name=$1 input=$2
  shift 2
  run_latdisp 60 analyze --input "$input" --dead-mask w.h5:dead_mask --report "$input.json" "$@"
  expect_success
  "$python" "$compare" --ignore input reference.json "$input.json" || problem "the numbers differ from w.h5's"
  finish_check "$name"
}
same_numbers "W as an external link (a large linking file)" link.h5
same_numbers "W as an external link (a small linking file)" link_small.h5
same_numbers "W in an external raw file of the full length" ext_full.h5
refused() {  # NAME CODE PATTERN ARGS...
  local name=$1 want=$2 pattern=$3
  shift 3
  run_latdisp 60 "$@"
  expect_refusal "$want" "$pattern"
  [ "$(wc -c <"$work/err.txt")" -le 4000 ] || problem "a message of $(wc -c <"$work/err.txt") bytes"
  no_temporaries .
  finish_check "$name"
}
refused "an external raw file of half the length" 2 "holds only 1920 bytes" analyze --input ext_half.h5
refused "/dev/zero as external raw storage" 2 "'/dev/zero', which is a character device" analyze --input ext_zero.h5
refused "a FIFO as external raw storage" 2 "which is a FIFO" analyze --input ext_fifo.h5
refused "a missing external raw file" 2 "'absent.raw', which does not exist" analyze --input ext_missing.h5
refused "--read-method map of an external link" 1 "not one contiguous run" analyze --input link.h5 --read-method map

# --- HDF5 read failures name their cause.
refused "a filter the library lacks" 2 "required filter 'lzf' is not registered" analyze --input lzf.h5
refused "a corrupt gzip chunk" 2 "failed (truncated or corrupt file?): .*inflate" analyze --input gzip.h5
refused "a virtual dataset" 2 "virtual datasets" analyze --input virtual.h5 --dead-mask w.h5:dead_mask

# --- Declared shapes past 64 bits, or nearly: one message, exit 2, no out-of-memory abort.
refused "a declared shape of 2^80 values" 2 "more values than 64 bits can count" analyze --input huge.h5
refused "a declared shape of 2^50 values, one chunk written" 2 "chunks never written" analyze --input huge_written.h5
refused "20000 datasets, the one asked for missing" 2 "(and 19980 more)" analyze --input many.h5

# --- Safetensors headers.
refused "an overlap hidden behind a zero-size tensor" 2 "tensors 'W' and 'X' overlap" \
  analyze --input hidden_overlap.safetensors --dataset X
refused "a tensor name given twice" 2 "names 'W' more than once" analyze --input duplicate.safetensors
refused "100000 tensors, the one asked for missing" 2 "(and 99989 more)" \
  analyze --input many.safetensors --dataset absent
refused "separation --groups of 100000 tensors" 2 "(and 99981 more)" \
  separation --matrix many.safetensors:W --groups many.safetensors

finish_test
