"""latdisp from Python: run latdisp, read its reports as pandas DataFrames, rebuild saved
displacements exactly, and record PyTorch training runs in the layout latdisp reads.

    import latdisp
    report = latdisp.run("analyze", ranks=2, input="run.h5", memory_budget="2GiB")
    report["displacement"]["verdict"]        # the JSON's keys; report.data is the whole dict
    report.series()                          # per-step series, indexed by training step
    report.per_token()                       # one row per token
    x = latdisp.load_displacements("out.h5") # every x of a saved --output, float64

    with latdisp.Recorder("run.h5", model.embed.weight, optimizer, steps=100) as recorder:
        ...  # optimizer.step(); recorder.record(); optimizer.zero_grad()

Only the standard library is needed to import the package and to run latdisp; numpy,
pandas, h5py and torch are imported by the functions that use them.
"""
from ._displacements import load_displacements
from ._errors import LatdispError
from ._launch import find_executable, subcommands
from ._recorder import Recorder
from ._report import Report, load_report
from ._runner import LatdispWarning, run
from ._tables import read_csv_exact, read_table
from ._writer import TrajectoryWriter

__version__ = "0.1.0"
__all__ = ["run", "Report", "load_report", "LatdispError", "LatdispWarning", "load_displacements", "Recorder",
           "TrajectoryWriter", "find_executable", "subcommands", "read_csv_exact", "read_table"]
