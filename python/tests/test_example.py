"""python/examples/train_and_audit.py runs as a script: trains, records, analyzes (and
audits where the executable can), and draws its two pictures."""
import os
import subprocess
import sys

import pytest

from conftest import EXECUTABLE, PACKAGE_ROOT, module_available, needs_latdisp, needs_torch

pytestmark = [needs_latdisp, needs_torch,
              pytest.mark.skipif(not module_available("matplotlib"), reason="matplotlib is not installed")]


def test_example_runs(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), LATDISP=EXECUTABLE, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(PACKAGE_ROOT / "examples" / "train_and_audit.py"), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recorded 61 snapshots" in done.stdout and "verdict" in done.stdout
    for picture in ("regimes.png", "tokens.png"):
        data = (tmp_path / picture).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
