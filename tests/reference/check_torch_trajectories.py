#!/usr/bin/python3
"""Real training trajectories in float32 and in mixed-precision float16 against the exact
reference (tools/reference_analyze.py), at 1 and 3 ranks.

A tiny model (an embedding of 40 tokens x 12 dims and a linear head) learns a next-token rule
with torch, whose inputs never hold tokens 30..39 (their rows never get a gradient: the dead
tokens). Two runs of 25 Adam steps:
- float32: the parameters and the optimizer in float32; the embedding is recorded as float32.
- mixed-precision float16: float32 master weights stepped by Adam, cast to float16 each step.
  The forward pass reads the float16 weights (widened to float32: torch 1.13 has no float16
  matmul on the CPU), the loss is scaled by 1024, the gradients are rounded to float16 (as an
  autocast backward would hold them), then unscaled into the masters' float32 gradients. The
  recorded trajectory is the float16 weights the model used, one snapshot per step.
Each trajectory is recorded at every step (and before the first) as an HDF5 dataset of the
format (float32 / float16, with the dead mask) and as a safetensors series (one F32 / F16
checkpoint per step, the mask beside the first), both written here with h5py and a writer
from the safetensors description. `latdisp analyze` of the HDF5 file at 1 and 3 ranks and of
the series at 3 ranks must report what the reference computes from the same file (the
reference reads both containers, and they must give it the same numbers), and
`--output` of both runs (3 ranks, the smallest step blocks) must hold the exact values
(tests/reference/check_saved_output.py).

usage: check_torch_trajectories.py LATDISP SOURCE_DIR WORKDIR MPIEXEC [MPIEXEC_FLAGS...]
Exits 77 (skipped) without torch."""
import os
import shutil
import subprocess
import sys

try:
    import torch
except ImportError as missing:
    print(f"SKIP: torch is not installed ({missing}); the training trajectories need it")
    sys.exit(77)
import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_writer import write_safetensors  # noqa: E402

TOKENS, DIMS, SEEN, STEPS, BATCH = 40, 12, 30, 25, 64
LOSS_SCALE = 1024.0


def batches(generator):
    """Inputs from tokens 0..SEEN-1 only; the rule to learn: y = (7x + 3) mod SEEN."""
    for _ in range(STEPS):
        x = torch.randint(0, SEEN, (BATCH,), generator=generator)
        yield x, (7 * x + 3) % SEEN


def train_float32():
    generator = torch.Generator().manual_seed(11)
    embedding = torch.nn.Parameter(torch.randn(TOKENS, DIMS, generator=generator) * 0.5)
    head = torch.nn.Parameter(torch.randn(DIMS, SEEN, generator=generator) * 0.3)
    optimizer = torch.optim.Adam([embedding, head], lr=1e-2)
    snapshots = [embedding.detach().clone()]
    for x, y in batches(generator):
        loss = torch.nn.functional.cross_entropy(embedding[x] @ head, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        snapshots.append(embedding.detach().clone())
    return torch.stack(snapshots).numpy()


def train_mixed_float16():
    generator = torch.Generator().manual_seed(12)
    masters = [torch.randn(TOKENS, DIMS, generator=generator) * 0.5, torch.randn(DIMS, SEEN, generator=generator) * 0.3]
    masters = [torch.nn.Parameter(m) for m in masters]
    optimizer = torch.optim.Adam(masters, lr=1e-2)
    snapshots = [masters[0].detach().half()]
    for x, y in batches(generator):
        # The float16 model: the masters rounded to float16, used (widened) by the forward pass.
        embedding, head = (m.detach().half().float().requires_grad_() for m in masters)
        loss = torch.nn.functional.cross_entropy(embedding[x] @ head, y)
        (loss * LOSS_SCALE).backward()
        for master, used in zip(masters, (embedding, head)):
            master.grad = used.grad.half().float() / LOSS_SCALE
        optimizer.step()
        optimizer.zero_grad()
        snapshots.append(masters[0].detach().half())
    return torch.stack(snapshots).numpy()


def record(name, values, dead):
    """name.h5 (dataset W of the values' dtype, dead_mask) and the series name_series/step_N."""
    with h5py.File(f"{name}.h5", "w") as f:
        f["W"] = values
        f["dead_mask"] = dead
    os.makedirs(f"{name}_series")
    dtype = {np.float16: "F16", np.float32: "F32"}[values.dtype.type]
    for t in range(values.shape[0]):
        tensors = [("W", dtype, values[t])] + ([("dead_mask", "BOOL", dead)] if t == 0 else [])
        write_safetensors(f"{name}_series/step_{t}.safetensors", tensors)


def main():
    latdisp, source, work, mpiexec = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    torch.manual_seed(0)
    dead = np.arange(TOKENS) >= SEEN
    runs = {"f32": train_float32(), "f16": train_mixed_float16()}
    failures = 0

    def check(what, command):
        nonlocal failures
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        ok = done.returncode == 0
        failures += not ok
        print(("ok: " if ok else "FAIL: ") + what)
        if not ok:
            print("    " + (done.stdout + done.stderr).strip().replace("\n", "\n    ")[:3000])

    for kind, values in runs.items():
        assert values.dtype == {"f32": np.float32, "f16": np.float16}[kind]
        moved = np.count_nonzero(values[1:] != values[:-1])
        frozen = np.all(values[:, dead] == values[:1, dead])
        print(f"{kind}: {values.shape} recorded, {moved} coordinate moves, dead rows frozen: {frozen}")
        record(f"train_{kind}", values, dead)
        for container in (f"train_{kind}.h5", f"train_{kind}_series"):
            subprocess.run([sys.executable, f"{source}/tools/reference_analyze.py", container, "--output",
                            f"{container}.reference.json"], check=True)
        check("the reference reads the same trajectory from the HDF5 file and the series",
              [sys.executable, f"{source}/tests/compare_reports.py", "--ignore", "input/path", "--ignore",
               "input/dtype", f"train_{kind}.h5.reference.json", f"train_{kind}_series.reference.json"])
        for ranks, input_path in ((1, f"train_{kind}.h5"), (3, f"train_{kind}.h5"), (3, f"train_{kind}_series")):
            expected = f"{input_path}.reference.json"
            report = f"{input_path}.np{ranks}.json"
            subprocess.run(mpiexec + ["-np", str(ranks), latdisp, "analyze", "--input", input_path, "--report", report,
                                      "--progress-seconds", "0"], capture_output=True, timeout=300)
            check(f"{input_path} at {ranks} rank(s) equals the reference",
                  [sys.executable, f"{HERE}/compare_with_reference.py", report, expected])
        check(f"train_{kind}.h5 --output at 3 ranks, smallest blocks",
              mpiexec + ["-np", "3", latdisp, "analyze", "--input", f"train_{kind}.h5", "--output",
                         f"saved_{kind}.safetensors", "--max-steps-per-block", "2", "--memory-budget", "64MiB",
                         "--progress-seconds", "0"])
        check(f"saved_{kind}.safetensors holds the exact values",
              [sys.executable, f"{HERE}/check_saved_output.py", f"train_{kind}.h5", f"saved_{kind}.safetensors"])
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
