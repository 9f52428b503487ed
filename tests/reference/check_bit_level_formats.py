#!/usr/bin/python3
"""inspect and separation on every element format against an oracle written from the definitions
(docs/definitions.md §17): each pattern's exact value from its fields (fractions), cross-checked with
struct for f16 and f32; the ULP distance as the number of lattice values between two values, counted
binade by binade (not from the patterns' bits); NaN gives no distance. The matrices mix zeros of both
signs, subnormals, the smallest normal, the largest finite value, Inf and NaN with random patterns.

usage: check_bit_level_formats.py LATDISP WORKDIR RANKS MPIEXEC...
"""
import json
import os
import random
import struct
import subprocess
import sys
from fractions import Fraction

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

# name: (safetensors dtype, total bits, exponent bits, bias, mantissa bits, OCP FN (no Inf, one NaN per sign))
FORMATS = {"bf16": ("BF16", 16, 8, 127, 7, False), "f16": ("F16", 16, 5, 15, 10, False),
           "f32": ("F32", 32, 8, 127, 23, False), "f8e4m3": ("F8_E4M3", 8, 4, 7, 3, True),
           "f8e5m2": ("F8_E5M2", 8, 5, 15, 2, False)}
STORAGE = {8: np.uint8, 16: np.uint16, 32: np.uint32}
TOKENS, DIMS = 6, 12


class Format:
    def __init__(self, name):
        self.name = name
        self.dtype, self.bits, self.ebits, self.bias, self.mbits, self.fn = FORMATS[name]

    def fields(self, p):
        return p >> (self.bits - 1), (p >> self.mbits) & ((1 << self.ebits) - 1), p & ((1 << self.mbits) - 1)

    def kind(self, p):
        s, e, m = self.fields(p)
        top = (1 << self.ebits) - 1
        if self.fn:
            return "nan" if (e == top and m == (1 << self.mbits) - 1) else "finite"
        if e == top:
            return "inf" if m == 0 else "nan"
        return "finite"

    def value(self, p):
        s, e, m = self.fields(p)
        if e == 0:
            v = Fraction(m, 1 << self.mbits) * Fraction(2) ** (1 - self.bias)
        else:
            v = (1 + Fraction(m, 1 << self.mbits)) * Fraction(2) ** (e - self.bias)
        return -v if s else v

    def values_below(self, x):
        """How many finite non-negative lattice values lie in [0, x), counted binade by binade."""
        spacing = Fraction(2) ** (1 - self.bias - self.mbits)
        count = min(x, Fraction(2) ** (1 - self.bias)) / spacing  # the subnormals and zero
        top = (1 << self.ebits) - (1 if self.fn else 2)
        for e in range(1, top + 1):
            low, width = Fraction(2) ** (e - self.bias), Fraction(2) ** (e - self.bias)
            count += min(max(x - low, 0), width) / (spacing * 2 ** (e - 1))
        return count

    def position(self, p):
        if self.kind(p) == "inf":  # one past the largest finite value
            largest = self.largest_finite()
            n = self.values_below(self.value(largest)) + 1
        else:
            n = self.values_below(abs(self.value(p)))
        assert n.denominator == 1
        return -int(n) if self.fields(p)[0] else int(n)

    def largest_finite(self):
        top = (1 << self.ebits) - (1 if self.fn else 2)
        m = (1 << self.mbits) - (2 if self.fn else 1)
        return (top << self.mbits) | m

    def specials(self):
        sign = 1 << (self.bits - 1)
        ones_exp = ((1 << self.ebits) - 1) << self.mbits
        out = [0, sign, 1, (1 << self.mbits) - 1, 1 << self.mbits, sign | 1, self.largest_finite(),
               sign | self.largest_finite(), self.largest_finite() - 1]
        if self.fn:
            out += [ones_exp | ((1 << self.mbits) - 1), sign | ones_exp | ((1 << self.mbits) - 1)]
        else:
            out += [ones_exp, sign | ones_exp, ones_exp | 1]
        return out

    def bits_text(self, p):
        text = format(p, "0%db" % self.bits)
        return text[0] + "|" + text[1:1 + self.ebits] + "|" + text[1 + self.ebits:]

    def value_text(self, p):
        k = self.kind(p)
        if k == "nan":
            return "nan"
        if k == "inf":
            return "-inf" if self.fields(p)[0] else "+inf"
        return "%+.6e" % float(self.value(p))


def cross_check_values(fmt, patterns):
    """The fractions oracle against Python's own float16 / float32 decoding."""
    code = {"f16": "<e", "f32": "<f"}.get(fmt.name)
    for p in patterns:
        if code and fmt.kind(p) == "finite":
            packed = struct.pack("<H" if fmt.bits == 16 else "<I", p)
            assert Fraction(struct.unpack(code, packed)[0]) == fmt.value(p), (fmt.name, hex(p))


def make_matrix(fmt, rng):
    specials = fmt.specials()
    w = np.zeros((TOKENS, DIMS), dtype=STORAGE[fmt.bits])
    for t in range(TOKENS):
        for d in range(DIMS):
            w[t, d] = specials[(3 * t + d) % len(specials)] if d % 2 else rng.getrandbits(fmt.bits)
    w[4] = w[0]      # bit-identical member of group bh1
    w[5] = w[1]
    w[5, 3] = w[1, 3] ^ 1  # bh2's member differs in one dim by one pattern step
    if fmt.kind(int(w[5, 3])) == "nan" or fmt.kind(int(w[1, 3])) == "nan":
        w[5, 3] = w[1, 3] ^ 2
    return w


def distance(fmt, a, b):
    if fmt.kind(a) == "nan" or fmt.kind(b) == "nan":
        return None
    return fmt.position(b) - fmt.position(a)


def check_inspect(fmt, w, got, errors):
    reps = [0, 1, 2, 3]
    if got.get("element_type") != fmt.name:
        errors.append("inspect element_type %r" % got.get("element_type"))
    for k, dim in enumerate(got["dims"]):
        pats = [int(w[t, k]) for t in reps]
        for g, v in enumerate(dim["values"]):
            p = pats[g]
            s, e, m = fmt.fields(p)
            want = {"value_text": fmt.value_text(p), "bits": fmt.bits_text(p), "sign": s, "exponent": e,
                    "mantissa": m, "lattice_position": None if fmt.kind(p) == "nan" else fmt.position(p)}
            for key, expected in want.items():
                if v[key] != expected:
                    errors.append("inspect dim %d group %d %s: %r != %r" % (k, g, key, v[key], expected))
        pairs = iter(dim["pairs"])
        for a in range(len(reps)):
            for b in range(a + 1, len(reps)):
                pair = next(pairs)
                (sa, ea, ma), (sb, eb, mb) = fmt.fields(pats[a]), fmt.fields(pats[b])
                want = {"sign_differs": sa != sb, "exponent_difference": eb - ea, "mantissa_difference": mb - ma,
                        "raw_difference": pats[b] - pats[a], "ulp_distance": distance(fmt, pats[a], pats[b])}
                for key, expected in want.items():
                    if pair[key] != expected:
                        errors.append("inspect dim %d pair %d-%d %s: %r != %r" % (k, a, b, key, pair[key], expected))


def check_separation(fmt, w, got, errors):
    if got.get("element_type") != fmt.name:
        errors.append("separation element_type %r" % got.get("element_type"))
    spread = abs(fmt.position(int(w[5, 3])) - fmt.position(int(w[1, 3])))
    want_groups = [(True, 0, 0, 0), (False, 1, spread, 1), (True, 0, 0, 0), (True, 0, 0, 0)]
    for g, (group, want) in enumerate(zip(got["groups"], want_groups)):
        have = (group["bit_identical"], group["differing_members"], group["spread_ulp"], group["spread_dims"])
        if have != want:
            errors.append("separation group %d: %r != %r" % (g, have, want))
    pairs = iter(got["pairs"])
    total = {}
    for a in range(4):
        for b in range(a + 1, 4):
            histogram, undefined = {}, 0
            for d in range(DIMS):
                x, y = int(w[a, d]), int(w[b, d])
                dist = distance(fmt, x, y)
                if dist is None:
                    undefined += x != y
                elif dist:
                    histogram[str(abs(dist))] = histogram.get(str(abs(dist)), 0) + 1
            pair = next(pairs)
            for key, count in histogram.items():
                total[key] = total.get(key, 0) + count
            if pair["histogram"] != histogram or pair["undefined_dims"] != undefined:
                errors.append("separation pair %d-%d: %r %r != %r %r" % (a, b, pair["histogram"],
                                                                         pair["undefined_dims"], histogram, undefined))
    if got["histogram"] != total:
        errors.append("separation histogram %r != %r" % (got["histogram"], total))


def main():
    latdisp, work, ranks = sys.argv[1], sys.argv[2], sys.argv[3]
    mpiexec = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    rng = random.Random(11)
    failures = 0
    groups = os.path.join(work, "groups.safetensors")
    write_safetensors(groups, [("bh1_token_ids", "I64", np.array([0, 4])), ("bh2_token_ids", "I64", np.array([1, 5])),
                               ("bh3_token_ids", "I64", np.array([2])), ("bh4_token_ids", "I64", np.array([3]))])
    for name in FORMATS:
        fmt = Format(name)
        w = make_matrix(fmt, rng)
        cross_check_values(fmt, [int(p) for p in w.ravel()])
        path = os.path.join(work, name + ".safetensors")
        view = {"F16": np.float16, "F32": np.float32}.get(fmt.dtype)
        write_safetensors(path, [("W", fmt.dtype, w.view(view) if view else w)])
        run = mpiexec + ["-np", ranks, latdisp]
        inspect = subprocess.run(run + ["inspect", "--matrix", path, "--groups", groups, "--dims", "0-%d" % (DIMS - 1),
                                        "--json"], check=True, stdout=subprocess.PIPE).stdout
        separation = subprocess.run(run + ["separation", "--matrix", path, "--groups", groups, "--json"], check=True,
                                    stdout=subprocess.PIPE).stdout
        errors = []
        check_inspect(fmt, w, json.loads(inspect), errors)
        check_separation(fmt, w, json.loads(separation), errors)
        for line in errors[:20]:
            print("%s: %s" % (name, line))
        print("%s: %s (%d mismatches)" % (name, "FAIL" if errors else "ok", len(errors)))
        failures += bool(errors)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
