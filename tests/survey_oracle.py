"""An independent reference for `latdisp survey`, written from the definitions
(docs/definitions.md, "Model survey"): values decoded to exact fractions,
lattice positions by enumerating the format's finite values (formats of at
most 16 bits), norms as correctly rounded square roots of exact fractions,
numpy's percentile, Python's own UTF-8 decoder for byte-level tokens."""
import functools
import math
from fractions import Fraction

import numpy as np

# name: (total bits, exponent bits, bias, mantissa bits, fn)
FORMATS = {
    "bf16": (16, 8, 127, 7, False),
    "f16": (16, 5, 15, 10, False),
    "f32": (32, 8, 127, 23, False),
    "f8e4m3": (8, 4, 7, 3, True),
    "f8e5m2": (8, 5, 15, 2, False),
}
NUMPY_BITS = {8: np.uint8, 16: np.uint16, 32: np.uint32}


def fields(fmt, bits):
    total, ebits, bias, mbits, fn = FORMATS[fmt]
    sign = (bits >> (total - 1)) & 1
    exponent = (bits >> mbits) & ((1 << ebits) - 1)
    mantissa = bits & ((1 << mbits) - 1)
    return sign, exponent, mantissa


def is_finite(fmt, bits):
    total, ebits, bias, mbits, fn = FORMATS[fmt]
    sign, exponent, mantissa = fields(fmt, bits)
    if fn:
        return not (exponent == (1 << ebits) - 1 and mantissa == (1 << mbits) - 1)
    return exponent != (1 << ebits) - 1


def value(fmt, bits):
    """The exact value of finite bits as a Fraction."""
    total, ebits, bias, mbits, fn = FORMATS[fmt]
    sign, exponent, mantissa = fields(fmt, bits)
    if exponent == 0:
        v = Fraction(mantissa, 1 << mbits) * Fraction(2) ** (1 - bias)
    else:
        v = (1 + Fraction(mantissa, 1 << mbits)) * Fraction(2) ** (exponent - bias)
    return -v if sign else v


_POSITION_TABLES = {}


def position(fmt, bits):
    """Index on the ordered lattice of finite values, +0 and -0 both at 0."""
    total = FORMATS[fmt][0]
    if total > 16:
        # f32: positive finite values are ordered as their magnitude bits (every
        # step of the bits is one step of the value), checked on the small formats.
        magnitude = bits & ((1 << (total - 1)) - 1)
        return -magnitude if bits >> (total - 1) else magnitude
    if fmt not in _POSITION_TABLES:
        finite = sorted({value(fmt, b) for b in range(1 << total) if is_finite(fmt, b)})
        zero_index = finite.index(Fraction(0))
        index = {v: i - zero_index for i, v in enumerate(finite)}
        _POSITION_TABLES[fmt] = {b: index[value(fmt, b)] for b in range(1 << total) if is_finite(fmt, b)}
    return _POSITION_TABLES[fmt][bits]


def norm(fmt, row):
    total = sum((value(fmt, int(b)) ** 2 for b in row), Fraction(0))
    return math.sqrt(float(total))


@functools.lru_cache(maxsize=None)
def byte_decoder():
    """The byte-level alphabet (the same tables every call: built once)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}, {b: chr(c) for b, c in zip(bs, cs)}


def decode_byte_level(token):
    decoder, _ = byte_decoder()
    return bytes(decoder[c] for c in token).decode("utf-8", "backslashreplace")


def encode_byte_level(data):
    _, encoder = byte_decoder()
    return "".join(encoder[b] for b in data)


def tokenizer_strings(tokenizer):
    """id -> string of a tokenizers JSON (dict), and its size."""
    model = tokenizer["model"]
    byte_level = any(
        isinstance(part, dict) and "ByteLevel" in str(part)
        for part in (tokenizer.get("pre_tokenizer"), tokenizer.get("decoder")))
    strings = {}
    if isinstance(model["vocab"], list):
        for i, (piece, _score) in enumerate(model["vocab"]):
            strings[i] = piece
    else:
        for piece, i in model["vocab"].items():
            strings[i] = decode_byte_level(piece) if byte_level and model.get("type") == "BPE" else piece
    for added in tokenizer.get("added_tokens") or []:
        strings[added["id"]] = added["content"]
    return strings, max(strings) + 1


def survey(fmt, matrix, groups_max=64, near=1, tokenizer=None, other=None):
    """The expected report (the keys latdisp must match) and per-token rows."""
    rows, dims = matrix.shape
    finite = [all(is_finite(fmt, int(b)) for b in matrix[t]) for t in range(rows)]
    zero = [finite[t] and all(value(fmt, int(b)) == 0 for b in matrix[t]) for t in range(rows)]
    by_bytes = {}
    for t in range(rows):
        if finite[t]:
            by_bytes.setdefault(matrix[t].tobytes(), []).append(t)
    groups = sorted((g for g in by_bytes.values() if len(g) >= 2), key=lambda g: (-len(g), g[0]))
    reported = groups[:groups_max]
    group_of = {t: i for i, g in enumerate(reported) for t in g}
    positions = [[position(fmt, int(b)) for b in matrix[t]] if finite[t] else None for t in range(rows)]
    reps = [positions[g[0]] for g in reported]
    nearest, distance = [-1] * rows, [-1] * rows
    for t in range(rows):
        if not finite[t] or t in group_of or not reps:
            continue
        ds = [max(abs(a - b) for a, b in zip(positions[t], rep)) for rep in reps]
        nearest[t] = min(range(len(ds)), key=lambda i: (ds[i], i))
        distance[t] = ds[nearest[t]]
    G = len(reported)
    linf = [[max(abs(a - b) for a, b in zip(reps[i], reps[j])) for j in range(G)] for i in range(G)]
    l1 = [[sum(abs(a - b) for a, b in zip(reps[i], reps[j])) for j in range(G)] for i in range(G)]
    active = [[sum(a != b for a, b in zip(reps[i], reps[j])) for j in range(G)] for i in range(G)]

    def components(limit):
        comp = list(range(G))
        for i in range(G):
            for j in range(G):
                if linf[i][j] <= limit:
                    a, b = comp[i], comp[j]
                    comp = [min(a, b) if c in (a, b) else c for c in comp]
        out = {}
        for i in range(G):
            out.setdefault(comp[i], []).append(i)
        return sorted(out.values())

    norms = [norm(fmt, matrix[t]) if finite[t] else None for t in range(rows)]
    finite_norms = np.array([n for n in norms if n is not None], dtype=np.float64)
    strings, size = ({}, 0) if tokenizer is None else tokenizer_strings(tokenizer)
    beyond = [tokenizer is not None and t not in strings for t in range(rows)]
    unchanged = None if other is None else [matrix[t].tobytes() == other[t].tobytes() for t in range(rows)]
    counts = [0] * 17
    for t in range(rows):
        if nearest[t] >= 0 and distance[t] != 0:
            counts[distance[t] if distance[t] <= 16 else 0] += 1
    report = {
        "input": {"shape": [rows, dims], "element_type": fmt},
        "tokenizer": None if tokenizer is None else {"size": size, "beyond_tokenizer": sum(beyond)},
        "rows": {"zero": sum(zero), "nonfinite": rows - sum(finite), "grouped": sum(len(g) for g in groups),
                 "groups": len(groups)},
        "groups": [{
            "size": len(g), "first_token": g[0],
            "beyond_tokenizer": None if tokenizer is None else sum(beyond[t] for t in g),
            "unchanged": None if other is None else sum(unchanged[t] for t in g),
            "halo": sum(1 for t in range(rows) if nearest[t] == i and distance[t] <= near),
            "distance_counts": [sum(1 for t in range(rows) if nearest[t] == i and distance[t] == d)
                                for d in range(1, 17)],
            "strings": None if tokenizer is None else [strings.get(t) for t in g[:8]],
        } for i, g in enumerate(reported)],
        "nearest": {"counts": counts},
        "distances": {"linf": linf, "l1": l1, "active_dims": active},
        "components": {"1": components(1), "near": components(near)},
        "norms": {"min": float(finite_norms.min()), "max": float(finite_norms.max()),
                  "percentiles": {k: float(np.percentile(finite_norms, float(k))) for k in ("0.1", "1", "50", "99")}},
        "compare": None if other is None else {"unchanged": sum(unchanged)},
    }
    per_token = [{
        "token": str(t),
        "string": strings.get(t),
        "group": str(group_of.get(t, -1)),
        "nearest_group": str(nearest[t]),
        "distance": "" if nearest[t] < 0 else str(distance[t]),
        "norm": norms[t],
        "zero": "1" if zero[t] else "0",
        "beyond_tokenizer": "" if tokenizer is None else ("1" if beyond[t] else "0"),
        "unchanged": "" if other is None else ("1" if unchanged[t] else "0"),
    } for t in range(rows)]
    return report, per_token, groups
