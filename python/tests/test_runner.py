"""latdisp.run against the built executable: reports, errors and exit codes."""
import gc
import json
import os
from pathlib import Path

import pytest

import latdisp
from conftest import needs_latdisp

pytestmark = needs_latdisp


def _without_run(data):
    return {k: v for k, v in data.items() if k != "run"}


def test_reports_agree_at_1_2_3_ranks(trajectory):
    reports = [latdisp.run("analyze", ranks=r, input=str(trajectory), memory_budget="64MiB") for r in (1, 2, 3)]
    assert [r["run"]["ranks"] for r in reports] == [1, 2, 3]
    assert _without_run(reports[0].data) == _without_run(reports[1].data) == _without_run(reports[2].data)
    assert reports[2]["run"]["memory_budget_bytes"] == 64 * 2 ** 20


def test_report_reads_the_json_keys(trajectory, work):
    report = latdisp.run("analyze", ranks=2, input=str(trajectory), report="kept.json")
    with open("kept.json") as f:
        on_disk = json.load(f)
    assert report.data == on_disk and isinstance(report.data, dict)
    assert report["displacement"]["exact"] == on_disk["displacement"]["exact"]
    assert report.schema == "latdisp.analyze/1" and report.command == "analyze"
    assert set(report) == set(on_disk) and len(report) == len(on_disk) and "motion" in report
    assert dict(report)["input"]["shape"] == [7, 45, 8]
    assert "Verdict" in report.stdout
    assert report["run"]["options"]["report"] == "kept.json"


def test_temporary_files_go_with_the_report(trajectory):
    report = latdisp.run("analyze", input=str(trajectory))
    folder = Path(report.tables["per_token"]).parent
    assert folder.is_dir() and (folder / "report.json").is_file()
    assert "latdisp-" in folder.name
    del report
    gc.collect()
    assert not folder.exists()


def test_tables_false_writes_none(trajectory):
    report = latdisp.run("analyze", input=str(trajectory), tables=False)
    assert report.tables == {}
    with pytest.raises(ValueError, match="no per-token table"):
        report.per_token()
    assert len(report.series()) == 6          # built from the JSON


@pytest.mark.parametrize("ranks", [1, 2])
def test_missing_input_is_exit_2_with_one_message(ranks, work):
    with pytest.raises(latdisp.LatdispError) as caught:
        latdisp.run("analyze", ranks=ranks, input="nope.h5")
    error = caught.value
    assert error.exit_code == 2
    assert error.message == "input 'nope.h5' does not exist"
    assert "mpirun" not in error.message and "----" not in error.message
    assert str(error) == "input 'nope.h5' does not exist (exit code 2)"


def test_usage_and_output_errors(trajectory, work):
    with pytest.raises(latdisp.LatdispError) as caught:
        latdisp.run("analyze", ranks=2, input=str(trajectory), no_such_option=1)
    assert caught.value.exit_code == 1 and "--no-such-option" in caught.value.message
    with pytest.raises(latdisp.LatdispError) as caught:
        latdisp.run("analyze", ranks=2, input=str(trajectory), report="missing-folder/r.json")
    assert caught.value.exit_code == 3 and "missing-folder" in caught.value.message
    Path("taken.json").write_text("{}")
    with pytest.raises(latdisp.LatdispError) as caught:
        latdisp.run("analyze", input=str(trajectory), report="taken.json")
    assert caught.value.exit_code == 3
    assert Path("taken.json").read_text() == "{}"
    report = latdisp.run("analyze", input=str(trajectory), report="taken.json", overwrite=True)
    assert json.loads(Path("taken.json").read_text()) == report.data


def test_strict_is_exit_4_with_the_report(trajectory):
    with pytest.raises(latdisp.LatdispError) as caught:
        latdisp.run("analyze", ranks=2, input=str(trajectory), strict=True)
    error = caught.value
    assert error.exit_code == 4
    assert error.report["displacement"]["verdict"] != "PERFECT"
    assert error.report["displacement"]["verdict"] in error.message
    assert len(error.report.per_token()) == 45


def test_unknown_subcommand(work):
    with pytest.raises(latdisp.LatdispError) as caught:
        latdisp.run("no-such-command")
    assert caught.value.exit_code == 1 and "unknown subcommand" in caught.value.message


def test_warnings_become_python_warnings(work):
    h5py = pytest.importorskip("h5py")
    import numpy as np
    with h5py.File("nomask.h5", "w") as f:
        f["W"] = np.zeros((3, 4, 2), np.uint16)
    with pytest.warns(latdisp.LatdispWarning, match="no dead mask"):
        report = latdisp.run("analyze", input="nomask.h5")
    assert report["input"]["dead_mask"] is None


def test_every_subcommand_runs(trajectory, work):
    generated = latdisp.run("generate", ranks=2, output="m.safetensors", matrix=True, tokens=1200, dims=8)
    assert generated.data == {} and "m.safetensors" in generated.stdout and Path("m.safetensors").is_file()
    packed = latdisp.run("pack", ranks=2, input=str(trajectory), output="packed.h5")
    assert packed.data == {} and Path("packed.h5").is_file()
    holes = latdisp.run("blackholes", ranks=3, matrix="m.safetensors", output="groups.safetensors")
    assert holes.schema == "latdisp.blackholes/1" and len(holes.groups()) == len(holes["final_groups"]) >= 4
    inspected = latdisp.run("inspect", matrix="m.safetensors", groups="groups.safetensors", dims="0,3")
    assert inspected.schema == "latdisp.inspect/1"
    separated = latdisp.run("separation", ranks=2, matrix="m.safetensors", groups="groups.safetensors")
    assert separated.schema == "latdisp.separation/1"


def test_relative_paths_follow_cwd(trajectory, tmp_path):
    os.symlink(trajectory, tmp_path / "here.h5")
    report = latdisp.run("analyze", input="here.h5", cwd=str(tmp_path), report="r.json")
    assert (tmp_path / "r.json").is_file() and report["input"]["path"] == "here.h5"


def test_timeout_stops_the_run(trajectory):
    with pytest.raises(latdisp.LatdispError, match="timeout"):
        # mpirun's grace before it kills the ranks it passed SIGTERM to: Open MPI's default, which the
        # test suite's environment lowers to 0 (tests/CMakeLists.txt).
        latdisp.run("analyze", ranks=2, input=str(trajectory), block_pause=5, max_steps_per_block=2, timeout=3,
                    env={"OMPI_MCA_odls_base_sigkill_timeout": "1"})


def test_output_paths_from_a_config_file(trajectory, work):
    Path("run.cfg").write_text(f"input = {trajectory}\nreport = from_config.json\nper-token = tokens.csv\n")
    report = latdisp.run("analyze", ranks=2, config="run.cfg")
    assert json.loads(Path("from_config.json").read_text()) == report.data
    assert report.tables["per_token"].endswith("tokens.csv") and len(report.per_token()) == 45
