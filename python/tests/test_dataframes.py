"""report.series() and report.per_token(): equal to latdisp's CSVs read exactly, indexed
by training step where the input knows it."""
import csv
import json
from fractions import Fraction

import pytest

import latdisp
from conftest import assert_same_values, has_subcommand, needs_latdisp, needs_subcommand

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")
pytestmark = needs_latdisp


def exact_csv(path):
    return pd.read_csv(path, float_precision="round_trip")


@pytest.fixture(scope="module")
def analyzed(trajectory, tmp_path_factory):
    folder = tmp_path_factory.mktemp("analyzed")
    paths = {k: str(folder / name) for k, name in (("report", "r.json"), ("per_token", "t.csv"),
                                                   ("series_csv", "s.csv"))}
    report = latdisp.run("analyze", ranks=2, input=str(trajectory), **paths)
    return report, paths


def test_series_equals_the_csv_read_exactly(analyzed):
    report, paths = analyzed
    series = report.series()
    assert_same_values(series, exact_csv(paths["series_csv"]))
    assert isinstance(series.index, pd.RangeIndex)          # the generated input has no training steps
    assert series["all.mean"].dtype == np.float64 and series["all.exact"].dtype == np.int64
    pd.testing.assert_frame_equal(series, exact_csv(paths["series_csv"]), check_exact=True)


def test_series_from_the_json_equals_the_csv(analyzed):
    report, paths = analyzed
    from_json = latdisp.load_report(paths["report"], series_csv=None, per_token=None)
    from_json.tables.pop("series_csv", None)
    pd.testing.assert_frame_equal(from_json.series(), exact_csv(paths["series_csv"]), check_exact=True)


def test_per_token_equals_the_csv_read_exactly(analyzed):
    report, paths = analyzed
    table = report.per_token()
    pd.testing.assert_frame_equal(table, exact_csv(paths["per_token"]), check_exact=True)
    assert table["max_magnitude"].dtype == np.float64 and len(table) == 45


def test_per_token_magnitudes_are_exact(analyzed, trajectory, reference):
    """max_magnitude against the exact x of the reference: sqrt of numpy's pairwise sum of
    the correctly rounded doubles (the definition), per token."""
    import h5py
    report, _ = analyzed
    with h5py.File(trajectory, "r") as f:
        w = f["W"][...].view(np.uint16).astype(int)
    steps, tokens, dims = w.shape
    expected = []
    for n in range(tokens):
        best = None
        for t in range(steps - 1):
            row = []
            for d in range(dims):
                a, b = reference.bf16_value(int(w[t + 1, n, d])), reference.bf16_value(int(w[t, n, d]))
                if a is None or b is None:
                    row = None
                    break
                row.append(float((a - b) / reference.bf16_ulp(int(w[t, n, d]), "min-normal")))
            if row is None:
                continue
            xs = np.array(row, dtype=np.float64)
            m = float(np.sqrt(np.add.reduce(xs * xs)))
            if np.isfinite(m):
                best = m if best is None else max(best, m)
        expected.append(np.nan if best is None else best)
    got = report.per_token()["max_magnitude"].to_numpy()
    expected = np.array(expected)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert (got[~np.isnan(got)] == expected[~np.isnan(expected)]).all()


def test_loaded_report_finds_its_tables(analyzed, monkeypatch):
    report, paths = analyzed
    loaded = latdisp.load_report(paths["report"])
    assert loaded.data == report.data
    assert_same_values(loaded.per_token(), report.per_token())
    assert_same_values(loaded.series(), report.series())


@pytest.mark.parametrize("suffix", [".h5", ".safetensors"])
def test_per_token_in_binary_formats_equals_the_csv(trajectory, analyzed, work, suffix):
    _, paths = analyzed
    report = latdisp.run("analyze", ranks=3, input=str(trajectory), per_token="t" + suffix)
    assert report.tables["per_token"].endswith("t" + suffix)
    assert_same_values(report.per_token(), exact_csv(paths["per_token"]))


def test_series_indexed_by_training_step(trajectory, work):
    """A trajectory that carries training steps (100, 110, ...): the series is indexed by the
    step each transition ends at, in the analyze and the blackholes report."""
    import h5py
    with h5py.File(trajectory, "r") as f:
        w, mask = f["W"][...], f["dead_mask"][...]
    with latdisp.TrajectoryWriter("stepped.h5", {"W": (w.shape[1], w.shape[2], "bf16")}) as writer:
        for t in range(w.shape[0]):
            writer.append({"W": w[t]}, step=100 + 10 * t)
        writer.set_dead_mask(mask)
    report = latdisp.run("analyze", ranks=2, input="stepped.h5")
    series = report.series()
    assert series.index.name == "training_step"
    assert list(series.index) == [110 + 10 * t for t in range(w.shape[0] - 1)]
    assert list(series["from_step"]) == [100 + 10 * t for t in range(w.shape[0] - 1)]
    assert_same_values(series.reset_index(drop=True), exact_csv(report.tables["series_csv"]))
    holes = latdisp.run("blackholes", ranks=2, matrix="stepped.h5", steps="all", report="bh.json", series_csv="bh.csv")
    frame = holes.series()
    assert frame.index.name == "training_step" and list(frame.index) == [100 + 10 * t for t in range(w.shape[0])]
    assert_same_values(frame.reset_index()[list(exact_csv("bh.csv").columns)], exact_csv("bh.csv"))
    pd.testing.assert_frame_equal(latdisp.Report(holes.data).series(), frame, check_exact=True)
    pd.testing.assert_frame_equal(latdisp.Report(report.data).series(), series, check_exact=True)


def test_blackholes_series_equals_its_csv(work):
    latdisp.run("generate", ranks=2, output="traj.h5", steps=5, tokens=60, dims=4, seed=3)
    holes = latdisp.run("blackholes", ranks=2, matrix="traj.h5", steps="all")
    csv_frame = exact_csv(holes.tables["series_csv"])
    pd.testing.assert_frame_equal(holes.series(), csv_frame, check_exact=True)
    pd.testing.assert_frame_equal(latdisp.Report(holes.data).series(), csv_frame, check_exact=True)


def test_text_columns_keep_every_character(tmp_path):
    """A survey-style CSV (RFC 4180: every string quoted, quotes doubled, CRLF rows): strings
    with commas, quotes, CR, LF, NUL and 'NA' come back as written, the empty string stays
    apart from no string (an unquoted empty cell: None), numbers exactly, empty ones NaN."""
    strings = ["a,b", 'say "hi"', "line\r\nbreak", "nul\x00byte", "NA", "", None]
    norms = ["0.1", repr(1 / 3), "2", "1e-300", "4.2426406871192848", "5", ""]
    lines = ["token,string,group,distance,norm"]
    for token, (text, norm) in enumerate(zip(strings, norms)):
        quoted = "" if text is None else '"' + text.replace('"', '""') + '"'
        lines.append(f"{token},{quoted},{-1 if token else 0},{'' if token == 0 else token},{norm}")
    path = tmp_path / "survey.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    frame = latdisp.read_csv_exact(path)
    assert list(frame["string"]) == strings
    assert list(frame["group"]) == [0, -1, -1, -1, -1, -1, -1] and frame["group"].dtype == np.int64
    assert np.isnan(frame["distance"][0]) and list(frame["distance"][1:]) == [1, 2, 3, 4, 5, 6]
    assert [Fraction(v) for v in frame["norm"][:6]] == [Fraction(float(v)) for v in norms[:6]]
    assert np.isnan(frame["norm"][6])


@needs_subcommand("survey")
def test_survey_tables(work):
    latdisp.run("generate", ranks=2, output="m.safetensors", matrix=True, tokens=1200, dims=8)
    vocab = {"a": 0, "\u0120b": 1, '"q"': 2, ",": 3, "x\u010ay": 5}        # byte-level: " b", "x\ny"
    (work / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": vocab},
                                                     "added_tokens": [{"id": 4, "content": "<|x|>"}],
                                                     "pre_tokenizer": {"type": "ByteLevel"},
                                                     "decoder": {"type": "ByteLevel"}}))
    report = latdisp.run("survey", ranks=2, model="m.safetensors", tensor="W", tokenizer="tokenizer.json",
                         per_token="pt.csv")
    table = report.per_token()
    assert len(table) == report["input"]["shape"][0]
    assert list(table["string"][:7]) == ["a", " b", '"q"', ",", "<|x|>", "x\ny", None]
    assert list(table["beyond_tokenizer"][:7]) == [0, 0, 0, 0, 0, 0, 1]
    assert_same_values(table, latdisp.read_csv_exact("pt.csv"))
    assert len(report.groups()) == len(report["groups"])
    with pytest.raises(ValueError, match="no per-step series"):
        report.series()


@pytest.mark.skipif(has_subcommand("optimizer"), reason="runs where the optimizer audit is absent")
def test_generic_series_of_an_optimizer_style_report():
    """Until `latdisp optimizer` exists: its JSON layout (per_step lists of S-1 entries for
    step t = 1 .. S-1, for all, live and dead) becomes one column per series."""
    data = {"schema": "latdisp.optimizer/1", "input": {"shape": [3, 4, 2], "steps": [5, 6, 7]},
            "classes": {"per_step": {"swallowed": [1, 2]}, "live": {"per_step": {"swallowed": [1, 0]}}},
            "replay": {"W": {"per_step_mismatch": [0, 3]}},
            "sums": {"per_step": {"lost_fraction": [0.5, None]}}}
    series = latdisp.Report(data).series()
    assert series.index.name == "training_step" and list(series.index) == [6, 7]
    assert list(series["step"]) == [1, 2] and list(series["all.classes.swallowed"]) == [1, 2]
    assert list(series["live.classes.swallowed"]) == [1, 0] and list(series["all.replay.W.mismatch"]) == [0, 3]
    assert series["all.sums.lost_fraction"][6] == 0.5 and np.isnan(series["all.sums.lost_fraction"][7])
    json.dumps(data)
