#!/usr/bin/python3
"""An embedding trajectory from a real training run, for the tests and the benchmark: a small
word-level language model (Zipf-distributed words from a random bigram source, a tied
VOCAB x DIMS bfloat16 embedding and a context mixer, AdamW with warm-up and cosine decay,
every parameter held in bfloat16), W recorded after every optimizer step as bfloat16 bits,
and the tokens no batch ever touched (dead). Seeded, on one thread: the same arguments give the
same bits with the same torch. Needs torch (1.13 or later) and numpy; writing the file needs h5py.

Synthetic trajectories (`latdisp generate`) move every coordinate by a random walk and spread
a step's values over about 31 binades; a trained embedding keeps most of its values within a
few binades of its scale, leaves most tokens untouched, and moves a few near zero by many
cells. Speed decisions are checked on both (docs/operations.md §10).

usage: trained_trajectory.py OUT.h5 [--vocab 8192] [--dims 64] [--steps 400]"""
import argparse
import math
import os

import numpy as np


def bigram_corpus(rng, vocab, words):
    """Zipf-distributed words in which each word prefers a few successors."""
    zipf = 1.0 / np.arange(1, vocab + 1) ** 1.1
    zipf /= zipf.sum()
    successors = rng.choice(vocab, size=(vocab, 4), p=zipf)
    out = np.empty(words, dtype=np.int64)
    out[0] = 0
    for i in range(1, words):
        out[i] = successors[out[i - 1], rng.integers(0, 4)] if rng.random() < 0.7 else rng.choice(vocab, p=zipf)
    return out


def train(torch, corpus, vocab, dims, steps, batch=64, context=8):
    """W[t] after every optimizer step of a tied-embedding LM, as bfloat16 bits [steps + 1,
    vocab, dims], and the tokens no batch touched."""
    torch.manual_seed(7)
    embedding = torch.nn.Parameter((torch.randn(vocab, dims) * 0.02).to(torch.bfloat16))
    mix = torch.nn.Parameter((torch.randn(context * dims, dims) * (context * dims) ** -0.5).to(torch.bfloat16))
    optimizer = torch.optim.AdamW([embedding, mix], lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    warm = 10
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / (steps - warm))))
    snapshots = [embedding.detach().view(torch.int16).numpy().astype(np.uint16).copy()]
    rng = np.random.default_rng(3)
    seen = np.zeros(vocab, dtype=bool)
    for _ in range(steps):
        starts = rng.integers(0, len(corpus) - context - 1, batch)
        window = np.stack([corpus[s:s + context + 1] for s in starts])
        seen[window.ravel()] = True
        inputs, target = torch.from_numpy(window[:, :context]), torch.from_numpy(window[:, context])
        hidden = torch.tanh(embedding[inputs].reshape(batch, -1) @ mix)
        loss = torch.nn.functional.cross_entropy((hidden @ embedding.t()).float(), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        snapshots.append(embedding.detach().view(torch.int16).numpy().astype(np.uint16).copy())
    return np.stack(snapshots), ~seen


def write(path, vocab, dims, steps):
    """The run's W [steps + 1, vocab, dims] (bfloat16 bits) and dead_mask into an HDF5 file at
    `path`, written under a temporary name and renamed when complete."""
    import h5py
    import torch
    torch.set_num_threads(1)  # one order of every sum: the same bits on every machine
    w, dead = train(torch, bigram_corpus(np.random.default_rng(11), vocab, 20000), vocab, dims, steps)
    partial = path + ".partial"
    with h5py.File(partial, "w") as f:
        f["W"] = w
        f["dead_mask"] = dead
    os.rename(partial, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    write(args.out, args.vocab, args.dims, args.steps)


if __name__ == "__main__":
    main()
