#!/usr/bin/env python3
"""`latdisp survey` refuses bad input with one message from rank 0 and exit 2,
never a hang: a folder without an embedding (naming its 2-D tensors), a
folder without a model file, a sharded index naming a missing shard or a
path outside the folder, a tokenizer that is not the tokenizers format,
--compare of another shape, a tensor that is not 2-D, a type that is no
element format. usage: cli_survey_bad_input.py LATDISP WORKDIR RANKS MPIEXEC..."""
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_survey_files import write_safetensors  # noqa: E402

LATDISP, WORK, RANKS = sys.argv[1], sys.argv[2], int(sys.argv[3])
MPIEXEC = sys.argv[4:]
failures = []


def folder(name, files):
    path = os.path.join(WORK, name)
    os.makedirs(path, exist_ok=True)
    for file, content in files.items():
        if isinstance(content, dict) and "tensors" in content:
            write_safetensors(os.path.join(path, file), content["tensors"])
        else:
            with open(os.path.join(path, file), "w") as f:
                f.write(content if isinstance(content, str) else json.dumps(content))
    return path


def expect_refusal(name, args, *words):
    command = MPIEXEC + ["-np", str(RANKS), LATDISP, "survey"] + args
    try:
        done = subprocess.run(command, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: hung")
        return
    errors = [line for line in done.stderr.decode(errors="replace").splitlines() if line.startswith("latdisp: error")]
    ok = done.returncode == 2 and len(errors) == 1 and all(w in errors[0] for w in words)
    print(("ok  " if ok else "FAIL"), name, done.returncode, errors)
    if not ok:
        failures.append(name)


os.makedirs(WORK, exist_ok=True)
m = np.arange(6 * 4, dtype=np.uint16).reshape(6, 4)
embedding = {"model.embed_tokens.weight": ("BF16", m)}
good = folder("good", {"model.safetensors": {"tensors": embedding}})
expect_refusal("no embedding", ["--model", folder("no_embedding", {"model.safetensors": {"tensors": {
    "encoder.proj.weight": ("BF16", m), "model.norm.weight": ("BF16", m[0])}}})], "encoder.proj.weight (6 x 4)",
    "no embedding")
expect_refusal("no such --tensor", ["--model", good, "--tensor", "wte"], "model.embed_tokens.weight (6 x 4)")
expect_refusal("no model file", ["--model", folder("empty", {"config.json": {}})], "model.safetensors")
index = {"weight_map": {"model.embed_tokens.weight": "model-00002-of-00002.safetensors"}}
expect_refusal("missing shard", ["--model", folder("missing_shard", {"model.safetensors.index.json": index})],
               "model-00002-of-00002.safetensors", "missing")
outside = {"weight_map": {"model.embed_tokens.weight": "../good/model.safetensors"}}
expect_refusal("shard outside", ["--model", folder("outside", {"model.safetensors.index.json": outside})],
               "outside the model folder")
absolute = {"weight_map": {"model.embed_tokens.weight": os.path.join(good, "model.safetensors")}}
expect_refusal("absolute shard", ["--model", folder("absolute", {"model.safetensors.index.json": absolute})],
               "outside the model folder")
expect_refusal("tokenizer not tokenizers", ["--model", good, "--tokenizer",
                                            folder("tok", {"t.json": {"vocab": {"a": 0}}}) + "/t.json"],
               "not a Hugging Face tokenizers file")
expect_refusal("tokenizer not JSON", ["--model", good, "--tokenizer",
                                      folder("tok2", {"t.json": "<html>"}) + "/t.json"], "not valid JSON")
other = folder("other_shape", {"model.safetensors": {"tensors": {"model.embed_tokens.weight": ("BF16", m[:5])}}})
expect_refusal("compare shape", ["--model", good, "--compare", other], "5 x 4", "6 x 4")
expect_refusal("3-D tensor", ["--model", folder("three_d", {"model.safetensors": {"tensors": {
    "model.embed_tokens.weight": ("BF16", m.reshape(2, 3, 4))}}})], "2-D")
expect_refusal("int32", ["--model", folder("int32", {"model.safetensors": {"tensors": {
    "model.embed_tokens.weight": ("I32", m.astype(np.int32))}}})], "I32")
expect_refusal("missing model", ["--model", os.path.join(WORK, "nothing_here")], "nothing_here")
if failures:
    print(f"{len(failures)} failure(s): {failures}")
    sys.exit(1)
print("survey bad inputs: one message, exit 2, no hang")
