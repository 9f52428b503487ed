"""latdisp.Recorder with a real PyTorch training run: what it writes is what training did
(checked against copies the loop takes itself), and latdisp reads it as it is."""
import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import latdisp
from conftest import REPOSITORY, assert_same_values, needs_latdisp, needs_subcommand, needs_torch

np = pytest.importorskip("numpy")
h5py = pytest.importorskip("h5py")
pytestmark = needs_torch

TOKENS, DIMS, USED, STEPS = 48, 8, 40, 12


def bf16_bits(tensor):
    """The oracle's own way to the bits: bfloat16 -> float32 is exact; its top half."""
    return (tensor.detach().float().numpy().view(np.uint32) >> 16).astype(np.uint16)


def train(recorders, dtype="bfloat16", schedule=True, seed=0):
    """A tiny model trained with AdamW (and a step-decay schedule); every recorder records
    after each step. Returns what the loop saw: W, grad, exp_avg, exp_avg_sq, lr per index."""
    import torch
    torch.manual_seed(seed)
    embedding = torch.nn.Embedding(TOKENS, DIMS).to(getattr(torch, dtype))
    head = torch.nn.Linear(DIMS, 5)
    optimizer = torch.optim.AdamW(embedding.parameters(), lr=0.02, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 0.5 ** (i // 4) if schedule else 1.0)
    started = [make(embedding.weight, optimizer) for make in recorders]
    weight = embedding.weight
    seen = {"W": [weight.detach().clone()], "grad_W": [torch.zeros_like(weight)],
            "momentum_W": [torch.zeros_like(weight)], "variance_W": [torch.zeros_like(weight)], "lr": [0.02]}
    for _ in range(STEPS):
        ids = torch.randint(0, USED, (32,))
        loss = torch.nn.functional.cross_entropy(head(embedding(ids).float()), ids % 5)
        loss.backward()
        seen["lr"].append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        for recorder in started:
            recorder.record()
        state = optimizer.state[weight]
        for name, tensor in (("W", weight), ("grad_W", weight.grad), ("momentum_W", state["exp_avg"]),
                             ("variance_W", state["exp_avg_sq"])):
            seen[name].append(tensor.detach().clone())
        optimizer.zero_grad()
        scheduler.step()
    for recorder in started:
        recorder.set_dead_mask(np.arange(TOKENS) >= USED)
        recorder.close()
    return seen


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recorded")
    h5, series = folder / "run.h5", folder / "run_series"
    seen = train([lambda p, o: latdisp.Recorder(h5, p, o, steps=STEPS),
                  lambda p, o: latdisp.Recorder(series, p, o, steps=STEPS)])
    return h5, series, seen


def test_hdf5_holds_what_training_did(recorded):
    h5, _, seen = recorded
    with h5py.File(h5, "r") as f:
        for name in ("W", "grad_W", "momentum_W", "variance_W"):
            assert f[name].dtype == np.uint16 and f[name].shape == (STEPS + 1, TOKENS, DIMS)
            assert f[name].attrs["dtype"] == "bfloat16"
            for t in range(STEPS + 1):
                assert np.array_equal(f[name][t], bf16_bits(seen[name][t])), (name, t)
        assert f["steps"][...].tolist() == list(range(STEPS + 1))
        assert f["lr"][...].tolist() == seen["lr"] and len(set(seen["lr"])) == 3
        assert f["dead_mask"].dtype == bool and f["dead_mask"][...].tolist() == [n >= USED for n in range(TOKENS)]
        attributes = dict(f.attrs)
    assert attributes["learning_rate"] == 0.02 and attributes["adam_beta1"] == 0.9
    assert attributes["adam_beta2"] == 0.999 and attributes["adam_epsilon"] == 1e-8
    assert attributes["weight_decay"] == 0.1 and attributes["optimizer"] == "AdamW"


def test_series_holds_what_training_did(recorded):
    from latdisp import _safetensors
    _, series, seen = recorded
    files = sorted(p.name for p in series.iterdir())
    assert files == ["dead_mask.safetensors"] + [f"step-{k:08d}.safetensors" for k in range(STEPS + 1)]
    for t in range(STEPS + 1):
        path = series / f"step-{t:08d}.safetensors"
        header = _safetensors.read_header(path)
        assert header[1]["learning_rate"] == "0.02" and header[1]["optimizer"] == "AdamW"
        for name in ("W", "grad_W", "momentum_W", "variance_W"):
            assert header[0][name]["dtype"] == "BF16"
            assert np.array_equal(_safetensors.read_tensor(path, name, header), bf16_bits(seen[name][t]))
        assert float(header[1]["lr"]) == seen["lr"][t] and header[1]["step"] == str(t)
        assert set(header[0]) == {"W", "grad_W", "momentum_W", "variance_W"}


def assert_holds(got, expected, where):
    """Every key of the reference, with its value, in latdisp's report (which has more)."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in got, f"{where}.{key}"
            assert_holds(got[key], value, f"{where}.{key}")
    else:
        assert got == expected, where


@needs_latdisp
def test_analyze_reads_the_recording_as_the_reference_does(recorded, work):
    h5, series, _ = recorded
    report = latdisp.run("analyze", ranks=2, input=str(h5))
    assert report["input"]["shape"] == [STEPS + 1, TOKENS, DIMS] and report["input"]["n_dead"] == TOKENS - USED
    assert report["input"]["steps"] == list(range(STEPS + 1))
    subprocess.run([sys.executable, str(REPOSITORY / "tools" / "reference_analyze.py"), str(h5), "--output",
                    "reference.json"], check=True)
    expected = json.loads(Path("reference.json").read_text())
    for section in ("displacement", "magnitude", "crossings"):
        assert_holds(report[section], expected[section], section)
    frame = report.series()
    assert list(frame.index) == list(range(1, STEPS + 1))
    import pandas
    pandas.testing.assert_frame_equal(latdisp.Report(report.data).series(), frame, check_exact=True)
    from_series = latdisp.run("analyze", ranks=3, input=str(series), dead_mask=f"{series}/dead_mask.safetensors:dead_mask")
    assert from_series["input"]["format"] == "series" and from_series["input"]["steps"] == list(range(STEPS + 1))
    for section in ("displacement", "magnitude", "crossings", "motion"):
        assert from_series[section] == report[section], section


@needs_latdisp
@needs_subcommand("optimizer")
def test_optimizer_audit_reads_the_recording_as_it_is(tmp_path, work):
    """The file as recorded, with a step-decay schedule: the audit takes the hyperparameters
    from its attributes and the rate of every step from its lr dataset; under torch 1.13's
    update rule its replay matches every recorded coordinate bit for bit, which holds only
    if every index is aligned the way the audit reads it."""
    import torch
    path = tmp_path / "audit.h5"
    train([lambda p, o: latdisp.Recorder(path, p, o)])
    report = latdisp.run("optimizer", ranks=2, input=str(path), update_rule="torch-mul-add")
    assert report.schema == "latdisp.optimizer/1"
    assert report["classes"]["coordinates"] == STEPS * TOKENS * DIMS
    hyperparameters = report["run"]["hyperparameters"]
    assert hyperparameters["lr"]["source"] == "dataset" and hyperparameters["weight_decay"]["value"] == 0.1
    assert all(hyperparameters[k]["source"] == "attribute" for k in ("beta1", "beta2", "eps", "weight_decay"))
    for tensor in ("W", "exp_avg", "exp_avg_sq"):
        replay = report["replay"][tensor]
        assert replay["match"] + replay["mismatch"] == STEPS * TOKENS * DIMS
        if torch.__version__.startswith("1.13"):
            assert replay["mismatch"] == 0, (tensor, report["replay"]["first_mismatches"][:3])
    series = report.series()
    assert len(series) == STEPS and list(series.index) == list(range(1, STEPS + 1))
    assert series.index.name == "training_step"
    assert_same_values(series.reset_index(drop=True), latdisp.read_csv_exact(report.tables["series_csv"]))
    assert_same_values(latdisp.Report(report.data).series(), series)        # the same table from the JSON
    tokens = report.per_token()
    assert len(tokens) == TOKENS and list(tokens["dead"]) == [int(n >= USED) for n in range(TOKENS)]
    assert_same_values(tokens, latdisp.read_csv_exact(report.tables["per_token"]))


def test_float32_and_float16_parameters(work):
    import torch
    torch.manual_seed(1)
    weight = torch.nn.Parameter(torch.randn(6, 3))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    snapshots = [weight.detach().clone()]
    with latdisp.Recorder("f32.h5", weight, optimizer) as recorder:
        for _ in range(3):
            weight.sum().backward()
            optimizer.step()
            recorder.record()
            snapshots.append(weight.detach().clone())
            optimizer.zero_grad()
    with h5py.File("f32.h5", "r") as f:
        assert f["W"].dtype == np.float32 and f["variance_W"].dtype == np.float32
        assert np.array_equal(f["W"][...], np.stack([s.numpy() for s in snapshots]))
    half = torch.randn(5, 2).half()
    with latdisp.Recorder("f16.h5", half) as recorder:
        for step in (10, 20):
            half += 0.5
            recorder.record(step=step)
    with h5py.File("f16.h5", "r") as f:
        assert f["W"].dtype == np.float16 and f["steps"][...].tolist() == [0, 10, 20]
        assert np.array_equal(f["W"][2], half.numpy()) and "lr" not in f and "grad_W" not in f


def test_bits_of_every_bfloat16_pattern():
    import torch
    from latdisp._recorder import bf16_bits_via_float32, storage_array
    patterns = np.arange(1 << 16, dtype=np.uint32)
    exponent, mantissa = (patterns >> 7) & 0xFF, patterns & 0x7F
    patterns = patterns[~((exponent == 0xFF) & (mantissa != 0))]          # NaN payloads are not values
    values = torch.from_numpy((patterns << 16).view(np.float32)).to(torch.bfloat16).reshape(-1, 1)
    assert np.array_equal(storage_array(values)[:, 0], patterns.astype(np.uint16))
    assert np.array_equal(bf16_bits_via_float32(values)[:, 0], patterns.astype(np.uint16))


def test_misuse_is_refused_clearly(work):
    import torch
    weight = torch.nn.Parameter(torch.randn(4, 2).bfloat16())
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    recorder = latdisp.Recorder("misuse.h5", weight, optimizer)
    with pytest.raises(RuntimeError, match="must follow every optimizer.step"):
        recorder.record()
    weight.float().sum().backward()
    optimizer.step()
    optimizer.step()
    with pytest.raises(RuntimeError, match="taken 2 steps"):
        recorder.record()
    recorder.close()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        latdisp.Recorder("misuse.h5", weight, optimizer)
    other = torch.nn.Parameter(torch.randn(4, 2).bfloat16())
    with pytest.raises(ValueError, match="does not hold"):
        latdisp.Recorder("other.h5", other, optimizer)
    with pytest.raises(TypeError, match="keeps none"):
        latdisp.Recorder("sgd.h5", other, torch.optim.SGD([other], lr=0.1))
    with pytest.raises(TypeError, match="float64"):
        latdisp.Recorder("f64.h5", torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="folder of safetensors"):
        latdisp.Recorder("one.safetensors", weight)
    fresh = torch.nn.Parameter(torch.randn(4, 2).bfloat16())
    adam = torch.optim.AdamW([fresh], lr=0.1)
    with latdisp.Recorder("nograd.h5", fresh, adam) as recorder:
        fresh.float().sum().backward()
        adam.step()
        adam.zero_grad(set_to_none=True)
        with pytest.raises(RuntimeError, match="no gradient"):
            recorder.record()
    assert not [p for p in os.listdir() if "latdisp-partial" in p]


def test_written_under_a_temporary_name(work):
    import torch
    weight = torch.randn(3, 2).bfloat16()
    temporary = Path(f".run.h5.latdisp-partial-{socket.gethostname()}-{os.getpid()}")
    with latdisp.Recorder("run.h5", weight) as recorder:
        recorder.record()
        assert temporary.exists() and not Path("run.h5").exists()
    assert Path("run.h5").exists() and not temporary.exists()
    with pytest.warns(UserWarning, match="stopped by KeyError after 2 snapshots"):
        with pytest.raises(KeyError):
            with latdisp.Recorder("run.h5", weight, overwrite=True) as recorder:
                recorder.record()
                raise KeyError("training failed")
    with h5py.File("run.h5", "r") as f:
        assert f["W"].shape == (2, 3, 2)


def test_stale_temporaries_are_removed(work):
    import torch
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = Path(f".run.h5.latdisp-partial-{socket.gethostname()}-{dead.pid}")
    stale.write_text("left by a killed run")
    with latdisp.Recorder("run.h5", torch.zeros(2, 2).bfloat16()):
        assert not stale.exists()


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs (needs root)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("target", ["run.h5", "run_series"])
def test_a_full_disk_is_one_clear_error(small_disk, target):
    import torch
    weight = torch.zeros(64, 64).bfloat16()                       # 8 KiB per snapshot
    with pytest.raises(OSError) as caught:
        latdisp.Recorder(small_disk / target, weight, steps=1000)    # 8 MiB: refused up front
    assert "need" in str(caught.value) and "free" in str(caught.value)
    recorder = latdisp.Recorder(small_disk / target, weight)
    with pytest.raises(OSError) as caught:
        for _ in range(100):
            weight += 1
            recorder.record()
    assert caught.value.errno == 28 and "the disk is full" in str(caught.value)
    assert str(small_disk / target) in str(caught.value)
    assert os.listdir(small_disk) == []                               # no target, no temporary
    with pytest.raises(ValueError, match="closed"):
        recorder.record()
