#!/usr/bin/env python3
"""A released model's tokenizer (path in LATDISP_REAL_TOKENIZER, e.g. Qwen3's
tokenizer.json; skipped when unset): every token string of the survey's
per-token table equals Python's decoding (GPT-2's byte table reversed,
decode('utf-8', 'backslashreplace'); added tokens as their content), and the
rows beyond the tokenizer have none.
usage: cli_survey_real_tokenizer.py LATDISP WORKDIR MPIEXEC..."""
import csv
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import survey_oracle as oracle  # noqa: E402
from cli_survey_files import write_safetensors  # noqa: E402

LATDISP, WORK = sys.argv[1], sys.argv[2]
MPIEXEC = sys.argv[3:]
tokenizer_path = os.environ.get("LATDISP_REAL_TOKENIZER", "")
if not tokenizer_path or not os.path.isfile(tokenizer_path):
    print("skipped: set LATDISP_REAL_TOKENIZER to a tokenizer.json")
    sys.exit(0)
os.makedirs(WORK, exist_ok=True)
with open(tokenizer_path, encoding="utf-8") as f:
    tokenizer = json.load(f)
strings, size = oracle.tokenizer_strings(tokenizer)
rows = size + 267
rng = np.random.default_rng(2)
write_safetensors(f"{WORK}/m.safetensors",
                  {"model.embed_tokens.weight": ("BF16", rng.integers(0, 0x3F80, size=(rows, 2), dtype=np.uint16))})
table = f"{WORK}/tokens.csv"
done = subprocess.run(MPIEXEC + ["-np", "2", LATDISP, "survey", "--model", f"{WORK}/m.safetensors", "--tokenizer",
                                 tokenizer_path, "--per-token", table, "--overwrite"], capture_output=True, timeout=300)
if done.returncode != 0:
    print(done.stderr.decode(errors="replace"))
    sys.exit(1)
with open(table, newline="", encoding="utf-8") as f:
    read = list(csv.DictReader(f))
bad = [(t, r["string"], strings.get(t)) for t, r in enumerate(read) if r["string"] != (strings.get(t) or "")
       or (r["beyond_tokenizer"] == "1") != (t not in strings)]
print(f"{len(read)} rows, tokenizer size {size}, {len(strings)} strings, {len(bad)} mismatches")
for t, got, want in bad[:10]:
    print(t, repr(got), repr(want))
sys.exit(1 if bad else 0)
