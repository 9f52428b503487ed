"""`pip install ./python` without network access, in fresh virtual environments with and
without the system's packages; the installed package then runs latdisp."""
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import EXECUTABLE, PACKAGE_ROOT, needs_latdisp

pytestmark = needs_latdisp


def _can(command):
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# The install runs in a network namespace of its own (no network at all) where that is
# allowed; elsewhere pip is told not to look at any index, which fails the same way if the
# build needed anything downloaded.
OFFLINE = ["unshare", "-n"] if shutil.which("unshare") and _can(["unshare", "-n", "true"]) else []
HAS_VENV = _can([sys.executable, "-c", "import venv, ensurepip"])

CHECK = textwrap.dedent("""
    import json, sys
    import latdisp
    assert "site-packages" in latdisp.__file__, latdisp.__file__
    report = latdisp.run("analyze", ranks=2, input=sys.argv[1], report="r.json")
    assert report["input"]["shape"] == [7, 45, 8] and report.data == json.load(open("r.json"))
    try:
        latdisp.run("analyze", input="missing.h5")
    except latdisp.LatdispError as error:
        assert error.exit_code == 2 and error.message == "input 'missing.h5' does not exist", error
    try:
        import pandas
    except ImportError:
        try:
            report.series()
        except ImportError as error:
            assert "pandas" in str(error)
        print("ok without pandas")
    else:
        frame = pandas.read_csv(report.tables["series_csv"], float_precision="round_trip")
        assert report.series().equals(frame)
        print("ok with pandas")
""")


@pytest.mark.skipif(not HAS_VENV, reason="python3 -m venv needs Debian's python3-venv")
@pytest.mark.parametrize("system_site", [False, True], ids=["bare", "system-site-packages"])
def test_offline_install_in_a_fresh_venv(tmp_path, trajectory, system_site):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", *(["--system-site-packages"] if system_site else []), str(venv)],
                   check=True, timeout=300)
    python = str(venv / "bin" / "python")
    no_index = [] if OFFLINE else ["--no-index"]
    install = subprocess.run([*OFFLINE, python, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
                              *no_index, str(PACKAGE_ROOT)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert not list(PACKAGE_ROOT.glob("*.egg-info")) and not (PACKAGE_ROOT / "build").exists()
    (tmp_path / "check.py").write_text(CHECK)
    env = {"PATH": "/usr/bin:/bin", "LATDISP": EXECUTABLE, "OMPI_MCA_btl": "self,vader,tcp",
           "OMPI_MCA_btl_tcp_if_include": "lo", "HOME": str(tmp_path)}
    done = subprocess.run([python, "check.py", str(trajectory)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("ok with pandas" if system_site else "ok without pandas") in done.stdout


def test_wheel_holds_the_package_and_nothing_to_download(tmp_path):
    sys.path.insert(0, str(PACKAGE_ROOT / "build_backend"))
    try:
        import latdisp_build
    finally:
        sys.path.pop(0)
    assert latdisp_build.get_requires_for_build_wheel() == []
    import zipfile
    name = latdisp_build.build_wheel(str(tmp_path))
    with zipfile.ZipFile(tmp_path / name) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read("latdisp-0.1.0.dist-info/METADATA").decode()
        record = wheel.read("latdisp-0.1.0.dist-info/RECORD").decode()
    assert {"latdisp/__init__.py", "latdisp/_recorder.py", "latdisp/_install_info.py"} <= names
    assert all(line.startswith("Requires-Dist:") is False or "extra ==" in line for line in metadata.splitlines())
    assert len(record.splitlines()) == len(names)
    assert Path(latdisp_build.build_sdist(str(tmp_path))).suffix == ".gz"
