#!/usr/bin/env bash
# Inputs that must be refused: exit 2, exactly one "latdisp: error:" line
# naming what was found, and no hang (a FIFO is checked before anything opens
# it), at the rank count given.
# usage: cli_input_refusals.sh LATDISP PYTHON SOURCE_DIR WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4 ranks=$5
shift 5
mpiexec=("$@")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
timeout 120 "$python" "$source/tests/reference/make_refused_inputs.py" || exit 1
mkfifo fifo.h5 fifo.safetensors
# One rank runs as an MPI singleton (quicker to report a failure).
launch() {
  if [ "$ranks" -eq 1 ]; then
    timeout 60 "$latdisp" "$@"
  else
    timeout 60 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@"
  fi
}
# shellcheck source=tests/expect_error.sh
source "$here/expect_error.sh"

# Every element format is read; what this axis refuses:
expect_error 1 "--arithmetic seed is the bf16 notebook's arithmetic; 'f32.safetensors' holds f32 values" -- \
  analyze --input f32.safetensors --arithmetic seed
expect_error 2 "--element-type f8e4m3 contradicts tensor 'W' in 'f16.safetensors', stored as F16 (f16)" -- \
  analyze --input f16.safetensors --element-type f8e4m3
expect_error 2 "--element-type bf16 contradicts dataset 'W' in 'f32_w.h5', stored as float32 (f32)" -- \
  analyze --input f32_w.h5 --element-type bf16
expect_error 2 "expected 3 dimensions" -- analyze --input matrix.safetensors
expect_error 2 "checkpoint-300' holds 'W' as BF16 \[4, 2\], but the first checkpoint '.*checkpoint-20'" -- \
  analyze --input series_shape
expect_error 2 "checkpoint-300' holds 'W' as U16 \[3, 2\]" -- analyze --input series_dtype
expect_error 2 "checkpoint 'series_missing/checkpoint-300' has no tensor 'W' (tensors present: other)" -- \
  analyze --input series_missing
expect_error 2 "checkpoint-300' has no tensor 'W'" -- analyze --input "series_missing/checkpoint-*"
expect_error 2 "names shard 'model-00002-of-00002.safetensors' for 'W', but .* does not exist" -- \
  analyze --input series_shard
expect_error 2 "series 'series_empty' is empty" -- analyze --input series_empty
expect_error 2 "the pattern matches nothing" -- analyze --input "series_empty/ckpt-*.safetensors"
expect_error 2 "both carry step number 5" -- analyze --input series_duplicate
expect_error 2 "folder 'checkpoint-2' holds neither model.safetensors" -- analyze --input series_hole
expect_error 2 "manifest_missing.txt' line 2: 'series_shape/checkpoint-999' does not exist" -- \
  analyze --input manifest_missing.txt
expect_error 2 "never written: its storage is unallocated" -- analyze --input unallocated.h5
expect_error 2 "never written" -- blackholes --matrix unallocated.h5:W@0
expect_error 2 "3 of 11 chunks never written (steps 6..7, 9" -- analyze --input chunks_missing.h5
expect_error 2 "input 'fifo.h5' is a FIFO" -- analyze --input fifo.h5
expect_error 2 "matrix 'fifo.safetensors' is a FIFO" -- inspect --matrix fifo.safetensors --tokens 0 --dims 0
expect_error 2 "dead-mask file 'fifo.h5' is a FIFO" -- analyze --input good.safetensors --dead-mask fifo.h5:dead
expect_error 2 "groups file 'fifo.h5' is a FIFO" -- separation --matrix good.safetensors:W@0 --groups fifo.h5
expect_error 2 "groups file 'series_empty' is a directory" -- separation --matrix good.safetensors:W@0 \
  --groups series_empty
expect_error 2 "dead-mask file 'series_empty' is a directory" -- analyze --input good.safetensors \
  --dead-mask series_empty:dead
expect_error 2 "input 'folder.h5' is a directory, not a file" -- analyze --input folder.h5
expect_error 2 "expected (3,) to match the tokens" -- analyze --input good.safetensors \
  --dead-mask mask_short.safetensors:dead
expect_error 2 "input file 'missing.safetensors' does not exist\|input 'missing.safetensors' does not exist" -- \
  analyze --input missing.safetensors
rm -f fifo.h5 fifo.safetensors
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
