"""A strided checkpoint series for the tests of training-step labels: snapshots
at training steps 0, 25, ..., 300 of a small bf16 embedding whose motion is
designed (thermal moves, then single-cell hops, then a freeze), with the
motion oracle's answers computed here from the bits (docs/definitions.md §15:
m = sqrt(sum x^2), frozen m = 0, hop 0 < m <= R, thermal m > R, R = sqrt(D)).
Every value stays inside one binade of one sign, so x is the difference of the
bit patterns."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from safetensors_writer import write_safetensors  # noqa: E402

STEP_STRIDE = 25
SNAPSHOTS = 13  # training steps 0 .. 300
TOKENS, DIMS = 7, 4
LAST_THERMAL, LAST_HOP = 5, 8  # transitions


def trajectory_bits():
    """W as bfloat16 bit patterns [S, N, D]: all values in [1, 2) (exponent 127, sign +)."""
    rng = np.random.default_rng(3)
    base = (0x3F80 + rng.integers(200, 300, size=(TOKENS, DIMS))).astype(np.int64)
    w = np.empty((SNAPSHOTS, TOKENS, DIMS), dtype=np.int64)
    w[0] = base
    for t in range(SNAPSHOTS - 1):
        move = np.zeros((TOKENS, DIMS), dtype=np.int64)
        if t <= LAST_THERMAL:
            move[0] = rng.integers(3, 9, size=DIMS)  # m > 2: thermal
        if t <= LAST_HOP:
            move[1, t % DIMS] = 1  # one cell: a hop
        w[t + 1] = w[t] + move
    return w.astype(np.uint16)


def oracle_motion(bits, steps):
    """The report's motion keys (all tokens), transition indices and their training-step twins."""
    x = np.diff(bits.astype(np.int64), axis=0)
    m = np.sqrt((x.astype(float) ** 2).sum(axis=2))
    radius = np.sqrt(DIMS)
    moving_t = [t for t in range(m.shape[0]) if (m[t] > 0).any()]
    hop_t = [t for t in range(m.shape[0]) if ((m[t] > 0) & (m[t] <= radius)).any()]
    thermal_t = [t for t in range(m.shape[0]) if (m[t] > radius).any()]
    last = moving_t[-1] if moving_t else None
    frozen_from = 0 if last is None else (None if last == m.shape[0] - 1 else last + 1)
    expected = {"first_motion_step": moving_t[0] if moving_t else None, "last_motion_step": last,
                "last_hop_step": hop_t[-1] if hop_t else None,
                "last_thermal_step": thermal_t[-1] if thermal_t else None, "frozen_from": frozen_from}
    for key in ("first_motion", "last_motion", "last_hop", "last_thermal"):
        t = expected[f"{key}_step"]
        expected[f"{key}_training_step"] = None if t is None or steps is None else steps[t + 1]
    expected["frozen_from_training_step"] = None if frozen_from is None or steps is None else steps[frozen_from]
    return expected


def write_series(folder, bits, dataset="emb"):
    """checkpoint-<step>/model.safetensors for each snapshot; returns the training steps."""
    steps = [STEP_STRIDE * s for s in range(bits.shape[0])]
    for s, step in enumerate(steps):
        os.makedirs(f"{folder}/checkpoint-{step}", exist_ok=True)
        write_safetensors(f"{folder}/checkpoint-{step}/model.safetensors", [(dataset, "BF16", bits[s])])
    return steps
