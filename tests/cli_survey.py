#!/usr/bin/env python3
"""`latdisp survey` against the independent reference of survey_oracle.py on
planted matrices of every element format: groups, halo rows at known
distances across zero and across binades, zero rows of both signs,
non-finite rows, f32 distances beyond 2^31; a byte-level tokenizer with
tokens of every kind; a sharded model folder; --compare; the groups file
read back. Every §-key of the report and every field of the per-token CSV.
usage: cli_survey.py LATDISP WORKDIR RANKS MPIEXEC..."""
import csv
import json
import math
import os
import random
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import survey_oracle as oracle  # noqa: E402
from cli_survey_files import write_safetensors  # noqa: E402

LATDISP, WORK, RANKS = sys.argv[1], sys.argv[2], int(sys.argv[3])
MPIEXEC = sys.argv[4:]
os.makedirs(WORK, exist_ok=True)
DTYPES = {"bf16": "BF16", "f16": "F16", "f32": "F32", "f8e4m3": "F8_E4M3", "f8e5m2": "F8_E5M2"}
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def bits_of(fmt, pos):
    total = oracle.FORMATS[fmt][0]
    return (1 << (total - 1)) | -pos if pos < 0 else pos


def max_position(fmt):
    total, ebits, bias, mbits, fn = oracle.FORMATS[fmt]
    top = (1 << (total - 1)) - 1
    return top - 1 if fn else ((1 << ebits) - 1) << mbits


def planted(fmt, rows=64, dims=7, seed=5):
    """Raw bits; the planted facts are checked against the oracle too."""
    total, ebits, bias, mbits, fn = oracle.FORMATS[fmt]
    rng = random.Random(seed)
    one = bias << mbits  # position of 1.0
    top = max_position(fmt)
    shift = 128 if total >= 16 else 16
    a = [one, one - 1, 1, -(one + 3), one + 2, -(one // 2), 2]  # 1.0, just below 1.0, smallest subnormal, ...
    positions = [[rng.randrange(-top // 2, top // 2) for _ in range(dims)] for _ in range(rows)]
    band = min(20 << mbits, top // 2)  # rows spanning about 20 binades below 1.0: sums that must round
    for t in range(17, 30):
        positions[t] = [rng.choice((1, -1)) * (one - rng.randrange(band)) for _ in range(dims)]
    for t in (3, 10, 20, 40, 50):
        positions[t] = list(a)
    b = list(a)
    b[0] += shift
    b[4] -= shift
    for t in (5, 25, 45):
        positions[t] = list(b)
    for t in (7, 30, 55):
        positions[t] = [0] * dims
    halo = {11: (3, 1), 12: (3, 2), 13: (3, 3), 14: (3, 17)}  # token: (dim, step) from A
    for t, (d, step) in halo.items():
        positions[t] = list(a)
        positions[t][d] += step
    positions[15] = list(a)
    positions[15][2] = -1  # across zero: smallest subnormal to its negative, 2 cells
    positions[16] = list(a)
    positions[16][1] = one + 1  # across the binade of 1.0: 2 cells
    matrix = np.array([[bits_of(fmt, p) for p in row] for row in positions], dtype=np.uint64)
    for t in (8, 31):
        matrix[t] = 1 << (total - 1)  # -0 everywhere
    matrix[9] = [(1 << (total - 1)) if d % 2 else 0 for d in range(dims)]  # mixed +-0: zero, in no group
    nan = ((1 << (total - 1)) - 1) if fn else (((1 << ebits) - 1) << mbits) | 1
    inf = nan if fn else ((1 << ebits) - 1) << mbits
    matrix[60][3] = nan
    matrix[61][0] = inf
    if fmt == "f32":  # distances beyond 2^31
        big = 0x7F000000
        for t in (33, 34):
            matrix[t] = [bits_of(fmt, -big)] * dims
        matrix[35] = [bits_of(fmt, big - 5)] * dims
    return matrix.astype(oracle.NUMPY_BITS[total])


def byte_level_tokenizer():
    special = [b"\xff", b"\xe2\x82", b"\x00", b"\r\n", b"\r", b"\n", b"\t", b"a,b", b'say "hi"', b'"', b",",
               "é".encode(), "😀".encode(), "😀".encode()[:3], b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80",
               b" the", b"\\x41", b"\x7f\x1b"]
    rng = random.Random(3)
    vocab = {}
    for data in special:
        vocab.setdefault(oracle.encode_byte_level(data), len(vocab))
    while len(vocab) < 50:
        vocab.setdefault(oracle.encode_byte_level(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))),
                         len(vocab))
    added = [{"id": 50, "content": "<|endoftext|>", "special": True},
             {"id": 51, "content": "<|im_start|>\n", "special": True},
             {"id": 52, "content": "a,\"b\"\r\n", "special": False}]
    return {"version": "1.0", "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel", "add_prefix_space": False}]},
            "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "vocab": vocab, "merges": []}}


def run(args, expect=0):
    command = MPIEXEC + ["-np", str(RANKS), LATDISP, "survey"] + args + ["--overwrite"]
    done = subprocess.run(command, capture_output=True, timeout=120)
    if done.returncode != expect:
        print(done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    check(done.returncode == expect, f"exit {done.returncode} (expected {expect}) for {' '.join(args)}")
    return done


def compare(expected, actual, where):
    if isinstance(expected, dict):
        for key, value in expected.items():
            check(isinstance(actual, dict) and key in actual, f"{where}.{key} missing")
            if isinstance(actual, dict) and key in actual:
                compare(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, f"{where}[{i}]")
    elif isinstance(expected, float):
        check(isinstance(actual, float) and expected == actual, f"{where}: {actual!r} != {expected!r}")
    else:
        check(expected == actual, f"{where}: {actual!r} != {expected!r}")


def check_csv(path, expected):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    check(rows[0] == ["token", "string", "group", "nearest_group", "distance", "norm", "zero", "beyond_tokenizer",
                      "unchanged"], f"{path}: header {rows[0]}")
    check(len(rows) == len(expected) + 1, f"{path}: {len(rows) - 1} rows")
    for row, want in zip(rows[1:], expected):
        fields = dict(zip(rows[0], row))
        for key in ("token", "group", "nearest_group", "distance", "zero", "beyond_tokenizer", "unchanged"):
            check(fields[key] == want[key], f"{path} token {want['token']} {key}: {fields[key]!r} != {want[key]!r}")
        check(fields["string"] == (want["string"] or ""), f"{path} token {want['token']} string {fields['string']!r}")
        norm = "" if want["norm"] is None else want["norm"]
        check((fields["norm"] == "" and norm == "") or (norm != "" and float(fields["norm"]) == norm),
              f"{path} token {want['token']} norm {fields['norm']} != {norm}")


def survey_case(fmt, matrix, model, extra, tokenizer=None, other=None, groups_max=64, near=1):
    tag = f"{fmt}_{os.path.basename(model)}_{groups_max}_{near}_{len(extra)}"
    report, table = f"{WORK}/{tag}.json", f"{WORK}/{tag}.csv"
    run(["--model", model, "--report", report, "--per-token", table, "--groups-max", str(groups_max),
         "--near", str(near), "--memory-budget", "1000"] + extra)
    with open(report) as f:
        actual = json.load(f)
    expected, per_token, groups = oracle.survey(fmt, matrix, groups_max, near, tokenizer, other)
    compare(expected, actual, tag)
    check(actual["schema"] == "latdisp.survey/1", f"{tag}: schema")
    check_csv(table, per_token)
    return actual, groups


def planted_facts(fmt, actual):
    """What the planting promises, whatever the oracle says."""
    g = actual["groups"]
    check([x["size"] for x in g[:2]] == [5, 3] and g[0]["first_token"] == 3, f"{fmt}: groups A and B first")
    check(g[0]["distance_counts"][:3] == [1, 3, 1], f"{fmt}: halo of A at 1, 2, 3 cells (incl. across zero and binade)")
    shift = 128 if oracle.FORMATS[fmt][0] >= 16 else 16
    check(actual["distances"]["linf"][0][1] == shift and actual["distances"]["active_dims"][0][1] == 2,
          f"{fmt}: A and B {shift} cells apart in 2 dims")
    check(actual["rows"]["zero"] == 6 and actual["rows"]["nonfinite"] == 2, f"{fmt}: zero and non-finite rows")
    if fmt == "f32":
        check(max(max(r) for r in actual["distances"]["linf"]) > 2 ** 31, "f32: a distance beyond 2^31")


def main():
    tokenizer = byte_level_tokenizer()
    for fmt in oracle.FORMATS:
        matrix = planted(fmt)
        path = f"{WORK}/{fmt}.safetensors"
        write_safetensors(path, {"model.embed_tokens.weight": (DTYPES[fmt], matrix),
                                 "lm_head.weight": (DTYPES[fmt], matrix[:, :3])})
        actual, groups = survey_case(fmt, matrix, path, ["--no-tokenizer"])
        planted_facts(fmt, actual)
        if fmt == "bf16":  # hash collisions forced: the byte comparison still separates the rows
            survey_case(fmt, matrix, path, ["--no-tokenizer", "--hash-bits", "2"])

    # HDF5: bf16 as 16-bit integers, f16 and f32 as IEEE floats, FP8 as uint8 with its dtype attribute.
    import h5py
    views = {"bf16": np.uint16, "f16": np.float16, "f32": np.float32, "f8e4m3": np.uint8, "f8e5m2": np.uint8}
    for fmt, view in views.items():
        matrix = planted(fmt, seed=9)
        path = f"{WORK}/{fmt}.h5"
        with h5py.File(path, "w") as f:
            dataset = f.create_dataset("wte.weight", data=matrix.view(view))
            if fmt.startswith("f8"):
                dataset.attrs["dtype"] = {"f8e4m3": "float8_e4m3fn", "f8e5m2": "float8_e5m2"}[fmt]
            f.create_dataset("lm_head.weight", data=matrix[:, :2].view(view))
        survey_case(fmt, matrix, path, [])

    # A sharded folder with a tokenizer, a fine-tuned twin, groups beyond --groups-max, --near 2.
    matrix = planted("bf16")
    folder, twin = f"{WORK}/model", f"{WORK}/twin"
    for where, m in ((folder, matrix), (twin, matrix.copy())):
        os.makedirs(where, exist_ok=True)
        if where == twin:
            m[[3, 5, 11, 20, 62]] ^= np.uint16(1)
        write_safetensors(f"{where}/model-00001-of-00002.safetensors",
                          {"model.norm.weight": ("BF16", m[0]), "model.layers.0.w": ("BF16", m[:4, :5])})
        write_safetensors(f"{where}/model-00002-of-00002.safetensors", {"model.embed_tokens.weight": ("BF16", m)})
        with open(f"{where}/model.safetensors.index.json", "w") as f:
            json.dump({"metadata": {}, "weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors",
                                                      "model.layers.0.w": "model-00001-of-00002.safetensors",
                                                      "model.embed_tokens.weight": "model-00002-of-00002.safetensors"}},
                      f)
        with open(f"{where}/config.json", "w") as f:
            json.dump({"vocab_size": 64}, f)
        with open(f"{where}/tokenizer.json", "w", encoding="utf-8") as f:
            json.dump(tokenizer, f, ensure_ascii=False)
        if where == twin:
            other = m
    groups_file = f"{WORK}/groups.safetensors"
    for groups_max, near in ((64, 1), (2, 2)):
        actual, groups = survey_case("bf16", matrix, folder, ["--compare", twin, "--output", groups_file],
                                     tokenizer, other, groups_max, near)
    check(actual["tokenizer"]["size"] == 53 and actual["tokenizer"]["beyond_tokenizer"] == 11, "tokenizer size")
    # The groups file: every group, largest first, as inspect and separation read it.
    with open(groups_file, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    names = sorted((k for k in header if k.endswith("_token_ids")), key=lambda k: int(k[2:-10]))
    stored = [list(np.frombuffer(data[header[k]["data_offsets"][0]:header[k]["data_offsets"][1]], dtype=np.int64))
              for k in names]
    check(stored == groups, f"groups file {stored} != {groups}")
    done = subprocess.run(MPIEXEC + ["-np", str(RANKS), LATDISP, "separation", "--matrix",
                                     f"{folder}/model-00002-of-00002.safetensors:model.embed_tokens.weight",
                                     "--groups", groups_file], capture_output=True, timeout=120)
    check(done.returncode == 0, "separation reads the groups file")
    # Without --tokenizer the folder's tokenizer.json is used; the text summary names the groups.
    done = run(["--model", folder])
    check(b"groups of bit-identical rows" in done.stdout and b"<|endoftext|>" not in done.stderr, "summary printed")
    # WordPiece and Unigram vocabularies are shown as they are; --groups-max 0 measures nothing.
    small = planted("bf16", seed=11)
    small_path = f"{WORK}/small.safetensors"
    write_safetensors(small_path, {"wte.weight": ("BF16", small)})
    wordpiece = {"model": {"type": "WordPiece", "unk_token": "[UNK]",
                           "vocab": {"[PAD]": 0, "hello": 1, "##lo": 2, 'a,"b': 3, "\u0120x": 5}},
                 "added_tokens": [{"id": 7, "content": "[MASK]"}]}
    unigram = {"model": {"type": "Unigram", "vocab": [["<unk>", 0.0], ["\u2581the", -1.5], ["\r\n", -3.0]]}}
    for name, tok, groups_max in (("wordpiece", wordpiece, 64), ("unigram", unigram, 0)):
        path = f"{WORK}/{name}.json"
        with open(path, "w", encoding="utf-8") as f:
            json.dump(tok, f)
        survey_case("bf16", small, small_path, ["--tokenizer", path], tok, groups_max=groups_max)

    # Every 1- and 2-byte token and random 3- and 4-byte ones, decoded as Python decodes them.
    rng = random.Random(7)
    sequences = [bytes([b]) for b in range(256)] + [bytes([a, b]) for a in range(256) for b in range(256)]
    sequences += [bytes(rng.choice((rng.randrange(0xC0, 0xF8), rng.randrange(0x80, 0xC0), rng.randrange(256)))
                        for _ in range(rng.choice((3, 4)))) for _ in range(8000)]
    vocab = {}
    for data in sequences:
        vocab.setdefault(oracle.encode_byte_level(data), len(vocab))
    every = {"model": {"type": "BPE", "vocab": vocab, "merges": []}, "decoder": {"type": "ByteLevel"}}
    every_path = f"{WORK}/every_byte.json"
    with open(every_path, "w", encoding="utf-8") as f:
        json.dump(every, f, ensure_ascii=False)
    every_model = f"{WORK}/every_byte.safetensors"
    write_safetensors(every_model, {"wte.weight": ("BF16", np.arange(len(vocab) + 5, dtype=np.uint16).reshape(-1, 1))})
    table = f"{WORK}/every_byte.csv"
    run(["--model", every_model, "--tokenizer", every_path, "--per-token", table])
    strings, _ = oracle.tokenizer_strings(every)
    with open(table, newline="", encoding="utf-8") as f:
        got = [row["string"] for row in csv.DictReader(f)]
    wrong = [t for t in range(len(vocab)) if got[t] != strings[t]]
    check(not wrong, f"byte-level strings differ from Python's for {len(wrong)} tokens, e.g. "
                     f"{[(got[t], strings[t]) for t in wrong[:3]]}")

    # The figure of a report: a PNG.
    figure = f"{WORK}/survey.png"
    tools = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "plot_survey.py")
    subprocess.run([sys.executable, tools, f"{WORK}/bf16_model_64_1_4.json", "--out", figure], check=True, timeout=120)
    with open(figure, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "plot_survey.py wrote a PNG")
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("survey: every key and every per-token field agrees with the reference")


main()
