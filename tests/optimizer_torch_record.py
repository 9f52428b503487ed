#!/usr/bin/python3
"""Records a small real torch AdamW training run in the layout `latdisp
optimizer` reads (docs/optimizer.md §1): W, grad_W, momentum_W, variance_W
(steps, tokens, dims) with index 0 the initial state and index t the values
after optimizer step t (grad_W[t] the gradient step t used), the learning
rate of each step as `lr`, the hyperparameters as root attributes (HDF5) or
__metadata__ (safetensors), and a dead mask (tokens no batch ever holds).

    optimizer_torch_record.py OUT.h5|OUT.safetensors [--dtype bf16|f32] [--steps S] [--tokens N]
        [--dims D] [--lr 1e-3] [--weight-decay 0.01] [--schedule] [--capability avx2|avx512|default]
        [--threads T] [--seed K] [--no-attributes]

Exits 77 when torch cannot be imported (the tests skip then).
"""
import argparse
import json
import os
import struct
import sys


def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("output")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--tokens", type=int, default=40)
    p.add_argument("--dims", type=int, default=37)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--betas", default="0.9,0.999")
    p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--schedule", action="store_true", help="a warm-up then cosine learning rate, set per step")
    p.add_argument("--capability", default="avx2")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-attributes", action="store_true", help="hyperparameters left out of the file")
    p.add_argument("--first-step", type=int, default=0,
                   help="write a `steps` dataset starting here (torch's step count starts there too)")
    p.add_argument("--step-gap", type=int, default=0, help="with --first-step: make step 2 a gap")
    return p.parse_args(argv)


def learning_rate(args, step):
    if not args.schedule:
        return args.lr
    import math
    warm = 3
    if step <= warm:
        return args.lr * step / warm
    return args.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, args.steps - warm)))


def bits_of(tensor, torch, np):
    if tensor.dtype == torch.bfloat16:
        return tensor.detach().view(torch.int16).numpy().view(np.uint16).copy()
    return tensor.detach().numpy().astype(np.float32).copy()


def train(args, torch, np):
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    n, d = args.tokens, args.dims
    weight = torch.nn.Parameter((torch.randn(n, d) * 0.02).to(dtype))
    b1, b2 = (float(x) for x in args.betas.split(","))
    opt = torch.optim.AdamW([weight], lr=args.lr, betas=(b1, b2), eps=args.eps, weight_decay=args.weight_decay)
    if args.first_step:
        # A window from the middle of a run: torch's own step count is the recorded step number.
        opt.state[weight] = {"step": torch.tensor(float(args.first_step)),
                             "exp_avg": torch.zeros_like(weight), "exp_avg_sq": torch.zeros_like(weight)}
    live = n - max(1, n // 5)  # the last fifth never appears in a batch: dead
    target = torch.randn(d)
    tensors = {k: [] for k in ("W", "grad_W", "momentum_W", "variance_W")}
    zeros = torch.zeros_like(weight)

    def record(grad, m, v):
        tensors["W"].append(bits_of(weight, torch, np))
        tensors["grad_W"].append(bits_of(grad, torch, np))
        tensors["momentum_W"].append(bits_of(m, torch, np))
        tensors["variance_W"].append(bits_of(v, torch, np))

    record(zeros, zeros, zeros)
    lrs = [float("nan")]
    for step in range(1, args.steps):
        lr = learning_rate(args, step)
        for group in opt.param_groups:
            group["lr"] = lr
        batch = torch.randint(0, live, (64,))
        scale = torch.exp(torch.randn(64, 1) * 2)  # gradients over several binades
        loss = ((weight[batch].float() * scale) @ target).pow(2).mean() * 1e-2
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = opt.state[weight]
        record(weight.grad, state["exp_avg"], state["exp_avg_sq"])
        lrs.append(lr)
    dead = np.zeros(n, dtype=bool)
    dead[live:] = True
    return {k: np.stack(v) for k, v in tensors.items()}, np.array(lrs), dead, (b1, b2)


def write_hdf5(path, tensors, lrs, dead, attributes, steps):
    import h5py
    with h5py.File(path, "w") as f:
        for name, data in tensors.items():
            f.create_dataset(name, data=data)
        f.create_dataset("lr", data=lrs)
        f.create_dataset("dead_mask", data=dead)
        if steps is not None:
            f.create_dataset("steps", data=steps)
        for key, value in attributes.items():
            f.attrs[key] = value


def write_safetensors(path, tensors, lrs, dead, attributes, np):
    entries, blobs, offset = {}, [], 0
    items = [(k, v) for k, v in tensors.items()] + [("lr", lrs.astype(np.float64)), ("dead_mask", dead)]
    for name, data in items:
        dtype = {"uint16": "BF16", "float32": "F32", "float64": "F64", "bool": "BOOL"}[str(data.dtype)]
        raw = np.ascontiguousarray(data).tobytes()
        entries[name] = {"dtype": dtype, "shape": list(data.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    entries["__metadata__"] = {k: repr(float(v)) for k, v in attributes.items()}
    header = json.dumps(entries).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for raw in blobs:
            f.write(raw)


def main(argv):
    args = parse(argv)
    os.environ["ATEN_CPU_CAPABILITY"] = args.capability
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"torch is not installed ({e})")
        return 77
    tensors, lrs, dead, (b1, b2) = train(args, torch, np)
    attributes = {} if args.no_attributes else {
        "learning_rate": args.lr, "adam_beta1": b1, "adam_beta2": b2, "adam_epsilon": args.eps,
        "weight_decay": args.weight_decay}
    steps = None
    if args.first_step or args.step_gap:
        steps = np.arange(args.first_step, args.first_step + args.steps, dtype=np.int64)
        if args.step_gap:
            steps[2:] += 1
    if args.output.endswith(".safetensors"):
        write_safetensors(args.output, tensors, lrs, dead, attributes, np)
    else:
        write_hdf5(args.output, tensors, lrs, dead, attributes, steps)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
