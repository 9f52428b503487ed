"""Keyword options, mpirun's words and latdisp's message, without running latdisp."""
import os
from pathlib import Path

import pytest

import latdisp
from latdisp import _launch
from latdisp._options import options_to_args
from latdisp._runner import error_message


def test_keywords_become_options():
    assert options_to_args({"memory_budget": "2GiB"}) == ["--memory-budget", "2GiB"]
    assert options_to_args({"overwrite": True, "strict": False, "report": None}) == ["--overwrite"]
    assert options_to_args({"dims": [37, 8]}) == ["--dims", "37", "--dims", "8"]
    assert options_to_args({"input": Path("a b/W.h5"), "steps": 7}) == ["--input", "a b/W.h5", "--steps", "7"]


def test_floats_reach_latdisp_unchanged():
    for value in (1e-6, 0.1, 1 / 3, 2.0 ** -60):
        (text,) = options_to_args({"epsilon": value})[1:]
        assert float(text) == value


def test_values_without_a_command_line_form_are_refused():
    with pytest.raises(TypeError):
        options_to_args({"steps": {"a": 1}})
    with pytest.raises(TypeError):
        options_to_args({"flags": [True]})


MPIRUN_NOISE = """latdisp: error: input 'nope.h5' does not exist
--------------------------------------------------------------------------
Primary job  terminated normally, but 1 process returned
a non-zero exit code. Per user-direction, the job has been aborted.
--------------------------------------------------------------------------
--------------------------------------------------------------------------
mpirun detected that one or more processes exited with non-zero status, thus causing
the job to be terminated. The first process to do so was:

  Process name: [[9389,1],0]
  Exit code:    2
--------------------------------------------------------------------------
"""


def test_message_is_latdisps_own_line():
    assert error_message(MPIRUN_NOISE, 2) == "input 'nope.h5' does not exist"


def test_message_without_latdisp_line_drops_mpirun_notices():
    text = MPIRUN_NOISE.replace("latdisp: error: input 'nope.h5' does not exist\n", "killed by the OOM killer\n")
    assert error_message(text, 9) == "killed by the OOM killer"
    assert error_message("", 9) == "latdisp exited with code 9"


def test_error_carries_message_and_code():
    error = latdisp.LatdispError("bad", 2)
    assert (error.message, error.exit_code, str(error)) == ("bad", 2, "bad (exit code 2)")


def test_mpirun_words(monkeypatch, tmp_path):
    fake = tmp_path / "mpirun"
    fake.write_text("#!/bin/sh\necho 'mpirun (Open MPI) 4.1.4'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("LATDISP_MPIRUN", str(fake))
    monkeypatch.setattr(_launch, "physical_cores", lambda: 2)
    words = _launch.launch_words(2)
    assert words[:3] == [str(fake), "-np", "2"] and "--oversubscribe" not in words
    assert ("--allow-run-as-root" in words) == (os.geteuid() == 0)
    assert "--oversubscribe" in _launch.launch_words(3)
    assert _launch.launch_words(1, ["--bind-to", "none"])[-2:] == ["--bind-to", "none"]
    with pytest.raises(ValueError):
        _launch.launch_words(0)


def test_other_mpiruns_get_no_open_mpi_flags(monkeypatch, tmp_path):
    fake = tmp_path / "mpiexec"
    fake.write_text("#!/bin/sh\necho 'HYDRA build details'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("LATDISP_MPIRUN", str(fake))
    monkeypatch.setattr(_launch, "physical_cores", lambda: 1)
    assert _launch.launch_words(4) == [str(fake), "-np", "4"]


def test_executable_lookup_order(monkeypatch, tmp_path):
    real = tmp_path / "real"
    for folder in ("env", "path", "cwd/build"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "latdisp").write_text("#!/bin/sh\n")
        (tmp_path / folder / "latdisp").chmod(0o755)
    real.mkdir()
    monkeypatch.setenv("LATDISP", str(tmp_path / "env" / "latdisp"))
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    assert latdisp.find_executable() == str(tmp_path / "env" / "latdisp")
    monkeypatch.delenv("LATDISP")
    assert latdisp.find_executable() == str(tmp_path / "path" / "latdisp")
    monkeypatch.setenv("PATH", str(real))
    monkeypatch.setattr(_launch, "_build_folders", lambda: [real / "build", tmp_path / "cwd" / "build"])
    assert latdisp.find_executable() == str(tmp_path / "cwd" / "build" / "latdisp")
    monkeypatch.setattr(_launch, "_build_folders", lambda: [real / "build"])
    with pytest.raises(latdisp.LatdispError, match="cannot find the latdisp executable"):
        latdisp.find_executable()
    monkeypatch.setenv("LATDISP", str(real))
    with pytest.raises(latdisp.LatdispError, match="not an executable file"):
        latdisp.find_executable()


def test_build_folders_include_the_current_ones(monkeypatch, tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    folders = _launch._build_folders()
    assert tmp_path.resolve() / "a" / "b" / "build" in folders and tmp_path.resolve() / "build" in folders
