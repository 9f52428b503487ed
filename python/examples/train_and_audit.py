#!/usr/bin/python3
# %% [markdown]
# # From a PyTorch training loop to pandas with latdisp
#
# A notebook-style script (each `# %%` is a cell): train a tiny model whose embedding is
# bfloat16, record the embedding and AdamW's state at every step, analyze the recording
# with latdisp, audit the optimizer where this latdisp has the audit, and plot two
# DataFrames. Run it as `python3 train_and_audit.py [OUTPUT_FOLDER]`, or cell by cell.

# %%
import sys
import tempfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import latdisp  # noqa: E402

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="latdisp-example-"))
out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Train, and record every step
# `record()` comes right after `optimizer.step()` and before `zero_grad()`: index t of the
# file then holds the gradient step t used and the weights and states after it.

# %%
torch.manual_seed(0)
vocab, dim, used, steps = 64, 16, 48, 60          # tokens >= 48 never appear: dead tokens
embedding = torch.nn.Embedding(vocab, dim).to(torch.bfloat16)
head = torch.nn.Linear(dim, 8)
optimizer = torch.optim.AdamW([embedding.weight, *head.parameters()], lr=3e-3, weight_decay=0.01)

with latdisp.Recorder(out / "run.h5", embedding.weight, optimizer, steps=steps, overwrite=True) as recorder:
    for step in range(steps):
        ids = torch.randint(0, used, (64,))
        loss = torch.nn.functional.cross_entropy(head(embedding(ids).float()), ids % 8)
        loss.backward()
        optimizer.step()
        recorder.record()
        optimizer.zero_grad()
    recorder.set_dead_mask(torch.arange(vocab) >= used)
print(f"recorded {recorder.snapshots} snapshots of {vocab} x {dim} into {recorder.path}")

# %% [markdown]
# ## Analyze: the report's keys, and its tables as DataFrames

# %%
report = latdisp.run("analyze", ranks=2, input=str(out / "run.h5"))
moves = report["displacement"]
print(f"verdict {moves['verdict']}: {moves['exact']} of {moves['coordinates']} moves are whole cells, "
      f"{moves['moved']} coordinates moved")
series = report.series()            # one row per step, indexed by the training step
tokens = report.per_token()         # one row per token
print(series[["live.moved", "live.hop", "live.thermal", "dead.moved"]].tail(3))
print(tokens[["token", "dead", "moved", "last_moved", "max_magnitude"]].head(3))

# %% [markdown]
# ## The optimizer audit: intended against realized updates

# %%
if "optimizer" in latdisp.subcommands():
    audit = latdisp.run("optimizer", ranks=2, input=str(out / "run.h5"))
    print("classes:", {k: v for k, v in audit["classes"].items() if isinstance(v, int)})
    print("replay of W:", audit["replay"]["W"]["match"], "match,", audit["replay"]["W"]["mismatch"], "mismatch")
    audit_series = audit.series()
    print(audit_series.iloc[-3:, :6])
else:
    print("this latdisp has no optimizer audit yet")

# %% [markdown]
# ## Two DataFrames, two pictures

# %%
fig, ax = plt.subplots(figsize=(7, 4))
series[["live.frozen", "live.hop", "live.thermal"]].plot.area(ax=ax, linewidth=0)
ax.set_xlabel("training step")
ax.set_ylabel("live tokens")
ax.set_title("motion regime of each live token, per step")
fig.tight_layout()
fig.savefig(out / "regimes.png", dpi=80)

fig, ax = plt.subplots(figsize=(7, 4))
colors = tokens["dead"].map({0: "tab:blue", 1: "tab:red"})
ax.bar(tokens["token"], tokens["moved"], color=colors, width=1.0)
ax.set_xlabel("token (red: dead, never in a batch)")
ax.set_ylabel("transitions in which it moved")
ax.set_title(f"which tokens moved, out of {len(series)} steps")
fig.tight_layout()
fig.savefig(out / "tokens.png", dpi=80)
print(f"wrote {out / 'regimes.png'} and {out / 'tokens.png'}")
