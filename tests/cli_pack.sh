#!/usr/bin/env bash
# pack: a checkpoint series into the HDF5 trajectory, at 1, 2 and 3 ranks and
# a small budget: the same file bytes each time, W bit-identical to the
# series (read back with h5py), dead_mask h5py's bool, `steps` the training
# steps, and analyze of the packed file gives the series' report. The
# recorder (tools/record_trajectory.py) writes a file analyze reads the same
# way; a recording cut inside a step is refused naming the step.
# usage: cli_pack.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
timeout 120 "${mpiexec[@]}" -np 1 "$latdisp" generate --output generated.h5 --steps 12 --tokens 37 --dims 24 \
  --special --seed 4 >/dev/null || exit 1
timeout 120 "$python" "$source/tests/reference/make_input_formats.py" generated.h5 . || exit 1
E=model.embed_tokens.weight
series=(--input series --dataset "$E" --dead-mask series/dead_mask.safetensors:dead_mask)
run() { timeout 120 "${mpiexec[@]}" "$@"; }
failures=0 checks=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@" >"check_$checks.txt" 2>&1; then echo "ok: $what"; else
    echo "FAIL: $what"
    sed 's/^/    /' "check_$checks.txt" | head -10
    failures=$((failures + 1))
  fi
}

check "pack at 1 rank" run -np 1 "$latdisp" pack "${series[@]}" --output p1.h5
check "pack at 2 ranks, small budget" run -np 2 "$latdisp" pack "${series[@]}" --output p2.h5 --memory-budget 80MiB
check "pack at 3 ranks" run -np 3 "$latdisp" pack "${series[@]}" --output p3.h5
check "the same bytes at 1, 2 and 3 ranks" cmp p1.h5 p2.h5
check "the same bytes at 1 and 3 ranks" cmp p1.h5 p3.h5
check "packed W, dead_mask and steps read back with h5py" "$python" - <<'PY'
import json
import h5py
import numpy as np
with h5py.File("p2.h5", "r") as packed, h5py.File("w.h5", "r") as source:
    w = packed["W"]
    assert w.dtype == np.uint16 and w.chunks is None, (w.dtype, w.chunks)
    assert np.array_equal(w[...], source["W"][...]), "W differs from the series' matrices"
    mask = packed["dead_mask"]
    # h5py's bool: an HDF5 enum FALSE = 0, TRUE = 1 that h5py reads as numpy bool.
    assert mask.dtype == bool and isinstance(mask.id.get_type(), h5py.h5t.TypeEnumID), mask.dtype
    assert np.array_equal(mask[...], source["dead_mask"][...])
    assert packed["steps"].dtype == np.int64
    assert packed["steps"][...].tolist() == json.load(open("steps.json"))["series"]
PY
for ranks in 1 3; do
  run -np "$ranks" "$latdisp" analyze --input p1.h5 --report "packed.np$ranks.json" --progress-seconds 0 >/dev/null
  run -np "$ranks" "$latdisp" analyze "${series[@]}" --report "series.np$ranks.json" --progress-seconds 0 >/dev/null
done
check "analyze of the packed file gives the series' report" "$python" "$here/compare_reports.py" series.np1.json \
  packed.np1.json packed.np3.json series.np3.json --ignore input/path --ignore input/format --ignore input/dtype \
  --ignore input/dataset --ignore input/dead_mask
check "input.steps of the packed file" "$python" -c "
import json; assert json.load(open('packed.np3.json'))['input']['steps'] == json.load(open('steps.json'))['series']"
checks=$((checks + 1))
run -np 2 "$latdisp" pack "${series[@]}" --output p1.h5 >/dev/null 2>"exists.txt"
if [ $? -ne 3 ] || ! grep -q "exists" exists.txt; then
  echo "FAIL: pack over an existing file"
  failures=$((failures + 1))
fi

# The recorder: one step per chunk, resizable, the same report as the source.
check "recorder copies W step by step" "$python" "$source/tools/record_trajectory.py" --from w.h5 recorded.h5 \
  --first-step 100 --step-gap 10
check "recorded layout" "$python" -c "
import h5py
with h5py.File('recorded.h5', 'r') as f:
    w = f['W']
    assert w.chunks == (1,) + w.shape[1:] and w.maxshape == (None,) + w.shape[1:], (w.chunks, w.maxshape)
    assert f['steps'][...].tolist() == list(range(100, 220, 10))
    assert f['dead_mask'].dtype == bool"
run -np 2 "$latdisp" analyze --input w.h5 --report source.json --progress-seconds 0 >/dev/null
run -np 2 "$latdisp" analyze --input recorded.h5 --report recorded.json --progress-seconds 0 >/dev/null
# The motion keys' training-step twins follow input.steps, which only the recording has.
twins=()
for population in "" live/ dead/; do
  for key in first_motion last_motion last_hop last_thermal frozen_from; do
    twins+=(--ignore "motion/${population}${key}_training_step")
  done
done
check "analyze of the recording gives the source's report" "$python" "$here/compare_reports.py" source.json \
  recorded.json --ignore input/path --ignore input/steps "${twins[@]}"
check "input.steps of the recording" "$python" -c "
import json; assert json.load(open('recorded.json'))['input']['steps'] == list(range(100, 220, 10))"
# A recording killed inside append: the step was added but never written.
"$python" -c "
import h5py
with h5py.File('recorded.h5', 'a') as f:
    f['W'].resize(13, axis=0)"
checks=$((checks + 1))
run -np 2 "$latdisp" analyze --input recorded.h5 --progress-seconds 0 >/dev/null 2>"cut.txt"
if [ $? -ne 2 ] || ! grep -q "1 of 13 chunks never written (steps 12 would" cut.txt; then
  echo "FAIL: a recording cut inside a step"; cat cut.txt; failures=$((failures + 1))
fi
echo "$((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
