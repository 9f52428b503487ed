#!/usr/bin/env bash
# latdisp optimizer against real torch runs recorded here (bf16 with and
# without weight decay, a learning-rate schedule as an `lr` dataset, another
# CPU capability with threads, a safetensors trajectory, float32 parameters,
# NaN from eps = 0, training step numbers from 100): the torch-mul-add
# replay matches every coordinate of W, exp_avg and exp_avg_sq, and every
# key agrees with tests/optimizer_reference.py (numpy, fractions, torch's own
# replay). Each run is recorded once and audited at 1, 2 and 3 ranks (3 with a
# tiny budget); the 1-rank report is checked against the reference, the 2- and
# 3-rank reports must equal it outside "run".
# Exit 77 (skipped) without torch.
# usage: cli_optimizer_torch.sh LATDISP PYTHON WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 work=$3
shift 3
mpiexec=("$@")
here=$(dirname "${BASH_SOURCE[0]}")
mkdir -p "$work"
"$python" -c "import torch, numpy, h5py" 2>/dev/null || { echo "SKIP: torch, numpy or h5py missing"; exit 77; }
failures=0
# check NAME RECORD_ARGS -- AUDIT_ARGS
check() {
  local name=$1
  shift
  local record=() audit=()
  while [ "$1" != -- ]; do record+=("$1"); shift; done
  shift
  audit=("$@")
  local input="$work/$name.h5"
  local kept=() argument
  for argument in "${record[@]}"; do
    if [ "$argument" = safetensors ]; then input="$work/$name.safetensors"; else kept+=("$argument"); fi
  done
  record=("${kept[@]}")
  "$python" "$here/optimizer_torch_record.py" "$input" "${record[@]}" >/dev/null || { echo "FAIL: recording $name"; failures=$((failures + 1)); return; }
  local ranks limits
  for ranks in 3 2 1; do  # the 1-rank run last: its report and text are $name.json and $name.txt
    limits=()
    [ "$ranks" -ge 3 ] && limits=(--memory-budget 200KiB --max-steps-per-block 2)
    [ "$name" = bf16_avx512_threads ] && [ "$ranks" -ge 3 ] && limits=(--memory-budget 8MiB --max-steps-per-block 2)
    timeout 300 "${mpiexec[@]}" -np "$ranks" "$latdisp" optimizer --input "$input" --update-rule torch-mul-add \
      --report "$work/$name.np$ranks.json" --overwrite "${limits[@]}" "${audit[@]}" >"$work/$name.txt" ||
      { echo "FAIL: latdisp on $name at $ranks rank(s)"; failures=$((failures + 1)); return; }
  done
  cp "$work/$name.np1.json" "$work/$name.json"
  if ! "$python" "$here/compare_reports.py" "$work/$name.json" "$work/$name.np2.json" "$work/$name.np3.json"; then
    echo "FAIL: $name: the reports at 1, 2 and 3 ranks differ"; failures=$((failures + 1)); return
  fi
  if ! "$python" "$here/optimizer_reference.py" "$input" "$work/$name.json" --update-rule torch-mul-add "${audit[@]}"; then
    echo "FAIL: $name differs from the reference"; failures=$((failures + 1)); return
  fi
  if ! "$python" - "$work/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["replay"]
bad = {k: r[k]["mismatch"] for k in ("W", "exp_avg", "exp_avg_sq") if r[k]["mismatch"]}
sys.exit(f"replay mismatches {bad}" if bad else 0)
PY
  then echo "FAIL: $name replay"; failures=$((failures + 1)); return; fi
  echo "ok: $name"
}
check bf16_decay --steps 9 --tokens 40 --dims 37 --lr 1e-2 -- 
check bf16_no_decay --steps 8 --tokens 33 --dims 64 --weight-decay 0 --
check bf16_schedule --steps 10 --tokens 30 --dims 50 --schedule --no-attributes -- --lr lr --weight-decay 0.01
check bf16_avx512_threads --steps 4 --tokens 700 --dims 100 --capability avx512 --threads 3 -- \
  --torch-capability avx512 --torch-threads 3
check bf16_safetensors --steps 6 --tokens 20 --dims 24 safetensors --
check f32_decay --dtype f32 --steps 8 --tokens 40 --dims 37 --lr 1e-2 --
check f32_default_schedule --dtype f32 --steps 7 --tokens 30 --dims 33 --capability default --schedule -- \
  --torch-capability default --lr lr
# eps 0: rows whose exp_avg_sq is 0 become NaN (0/0); the replay compares their bits.
check f32_eps0_nan --dtype f32 --steps 6 --tokens 33 --dims 5 --capability default --eps 0 -- --torch-capability default
# A window from the middle of a run: k is the input's `steps` (100 ..), as torch counted them.
check bf16_training_steps --steps 7 --tokens 20 --dims 24 --first-step 100 --
# Mixed formats: bf16 W and gradient, the states stored as float32 (exact bf16 values).
"$python" - "$work/bf16_decay.h5" "$work/mixed.h5" <<'PY' || { echo "FAIL: writing mixed.h5"; failures=$((failures + 1)); }
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "w") as g:
    for k in f.keys():
        d = f[k][...]
        if k in ("momentum_W", "variance_W"):
            d = (d.astype(np.uint32) << 16).view(np.float32)
        g.create_dataset(k, data=d)
    g.attrs.update(dict(f.attrs))
PY
if timeout 300 "${mpiexec[@]}" -np 3 "$latdisp" optimizer --input "$work/mixed.h5" --update-rule torch-mul-add \
     --report "$work/mixed.json" --overwrite --memory-budget 200KiB --max-steps-per-block 2 >/dev/null &&
   "$python" "$here/optimizer_reference.py" "$work/mixed.h5" "$work/mixed.json" --no-replay &&
   "$python" -c "import json,sys; r=json.load(open(sys.argv[1]))['replay']; sys.exit(sum(r[k]['mismatch'] for k in ('W','exp_avg','exp_avg_sq')))" "$work/mixed.json"; then
  echo "ok: mixed bf16/f32"
else
  echo "FAIL: mixed bf16/f32"; failures=$((failures + 1))
fi
# The figure: lost fraction, swallowed updates and the ratchet per step.
if "$python" -c "import matplotlib" 2>/dev/null; then
  if ! "$python" "$here/../tools/plot_optimizer.py" "$work/bf16_schedule.json" "$work/optimizer.png" ||
    [ "$(head -c 4 "$work/optimizer.png" | od -An -c | tr -d ' ')" != "211PNG" ]; then
    echo "FAIL: plot_optimizer.py"
    failures=$((failures + 1))
  fi
fi
grep -q "turn beta2" "$work/bf16_decay.txt" || { echo "FAIL: the text report does not say that beta2 rounds to 1"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ]
