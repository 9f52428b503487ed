#!/usr/bin/env bash
# latdisp optimizer on bad input: one message from rank 0, exit 1 or 2, no
# hang: companions of another shape or step count, missing companions (the
# message names what the input holds), non-consecutive steps, no learning
# rate, an lr dataset of the wrong length or name, hyperparameters in the
# input outside the options' ranges (a NaN learning rate of a step), bad
# option values.
# usage: cli_optimizer_bad_input.sh LATDISP PYTHON WORKDIR RANKS MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 work=$3 ranks=$4
shift 4
mpiexec=("$@")
mkdir -p "$work"
"$python" - "$work" <<'PY' || exit 1
import sys
import h5py
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(3)
S, N, D = 5, 6, 4

def bits(shape):
    return (rng.integers(0x3C00, 0x3F00, size=shape)).astype(np.uint16)

def write(name, tensors, attrs=None, lr=True):
    with h5py.File(f"{work}/{name}.h5", "w") as f:
        for k, v in tensors.items():
            f.create_dataset(k, data=v)
        if lr is True:
            f.create_dataset("lr", data=np.full(S, 1e-3))
        elif lr is not None:
            f.create_dataset("lr", data=lr)
        for k, v in (attrs or {}).items():
            f.attrs[k] = v

full = {k: bits((S, N, D)) for k in ("W", "grad_W", "momentum_W", "variance_W")}
write("good", full)
write("no_grad", {k: v for k, v in full.items() if k != "grad_W"})
write("grad_shape", dict(full, grad_W=bits((S, N, D + 1))))
write("grad_steps", dict(full, momentum_W=bits((S - 1, N, D))))
write("gap", dict(full, steps=np.array([0, 1, 2, 4, 5])))
write("no_lr", full, lr=None)
write("lr_length", full, lr=np.full(S + 1, 1e-3))
write("f16_w", dict(full, W=full["W"].view(np.float16)))
write("beta2_one", full, attrs={"adam_beta2": 1.0})
write("eps_negative", full, attrs={"adam_epsilon": -1e-8})
write("decay_nan", full, attrs={"weight_decay": float("nan")})
write("lr_attribute_negative", full, attrs={"learning_rate": -1e-3}, lr=None)
write("lr_step_nan", full, lr=np.array([np.nan, 1e-3, np.nan, 1e-3, 1e-3]))  # entry 0 is no step's
PY
launch() { timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@"; }
# shellcheck source=tests/expect_error.sh
source "$(dirname "${BASH_SOURCE[0]}")/expect_error.sh"
expect() { expect_error "$@"; }
w=$work
expect 2 "needs the gradient (--grad 'grad_W').*datasets present: W, lr, momentum_W, variance_W" -- optimizer --input "$w/no_grad.h5"
expect 2 "the gradient 'grad_W' has shape \[5, 6, 5\]; W 'W' has \[5, 6, 4\]" -- optimizer --input "$w/grad_shape.h5"
expect 2 "exp_avg 'momentum_W' has shape \[4, 6, 4\]" -- optimizer --input "$w/grad_steps.h5"
expect 2 "not consecutive optimizer steps: index 2 is step 2 and index 3 is step 4" -- optimizer --input "$w/gap.h5"
expect 1 "no learning rate" -- optimizer --input "$w/no_lr.h5"
expect 2 "has 6 entries; the input has 5 steps" -- optimizer --input "$w/lr_length.h5"
expect 2 "names no dataset" -- optimizer --input "$w/good.h5" --lr rates
expect 2 "holds f16 values" -- optimizer --input "$w/f16_w.h5"
expect 2 "does not exist" -- optimizer --input "$w/missing.h5"
expect 1 "update-rule must be" -- optimizer --input "$w/good.h5" --update-rule adam
expect 1 "torch-capability must be" -- optimizer --input "$w/good.h5" --torch-capability sse
expect 1 "betas must be" -- optimizer --input "$w/good.h5" --betas 0.9
expect 1 "lr must be a number in \[0, 1e+300\]" -- optimizer --input "$w/good.h5" --lr -1
# Hyperparameters from the input: the options' ranges (torch's AdamW refuses these too).
expect 2 "the attribute 'adam_beta2' of '.*beta2_one.h5' is 1; it must be in \[0, 1), as for --betas" -- \
  optimizer --input "$w/beta2_one.h5"
expect 2 "the attribute 'adam_epsilon' of .* is -1e-08; it must be in \[0, 1e+300\], as for --eps" -- \
  optimizer --input "$w/eps_negative.h5"
expect 2 "the attribute 'weight_decay' of .* is nan" -- optimizer --input "$w/decay_nan.h5"
expect 2 "the attribute 'learning_rate' of .* is -0.001; it must be in \[0, 1e+300\], as for --lr" -- \
  optimizer --input "$w/lr_attribute_negative.h5"
expect 2 "the learning rate 'lr' of .* at index 2 is nan" -- optimizer --input "$w/lr_step_nan.h5"
expect 1 "too small" -- optimizer --input "$w/good.h5" --memory-budget 1KiB
expect 1 "needs --input" -- optimizer
echo "$checks checks, $failures failures"
[ "$failures" -eq 0 ]
