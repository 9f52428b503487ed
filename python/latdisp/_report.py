"""Report: a latdisp JSON report with its tables as pandas DataFrames."""
import json
from collections.abc import Mapping
from pathlib import Path

from . import _tables


class Report(Mapping):
    """A latdisp report: the JSON's keys (``report["displacement"]["exact"]``), the whole
    dict as ``report.data``, and the tables as pandas DataFrames (``series()``,
    ``per_token()``, ``groups()``).

    Attributes:
        data: the JSON report as a dict ({} for subcommands that write none: generate, pack).
        command: the subcommand (``"analyze"``, ``"optimizer"``, ...).
        schema: ``data["schema"]`` (e.g. ``"latdisp.analyze/1"``), or None.
        stdout, stderr: what the run printed (the text report is on stdout).
        args: the command line that ran.
        tables: the paths of the tables the run wrote (``per_token``, ``series_csv``).
    """

    def __init__(self, data, command=None, stdout="", stderr="", args=(), tables=None, keep=None):
        self.data = data
        self.command = command or _command_of(data)
        self.stdout, self.stderr, self.args = stdout, stderr, list(args)
        self.tables = {k: str(v) for k, v in (tables or {}).items() if v}
        self._keep = keep          # a TemporaryDirectory holding the tables, removed with the report
        self._cache = {}

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, key):
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)

    @property
    def schema(self):
        return self.data.get("schema")

    def __repr__(self):
        shape = self.data.get("input", {}).get("shape")
        path = self.data.get("input", {}).get("path")
        verdict = self.data.get("displacement", {}).get("verdict")
        parts = [f"latdisp {self.command} report"] + [str(p) for p in (path, shape, verdict) if p is not None]
        return "<" + ", ".join(parts) + ">"

    # ------------------------------------------------------------------ tables
    def _table(self, key, read):
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key].copy()

    def _training_steps(self):
        steps = self.data.get("input", {}).get("steps")
        return steps if isinstance(steps, list) and steps else None

    def series(self):
        """The per-step series as a DataFrame: one row per transition (analyze: t -> t+1;
        optimizer: step t; blackholes: each selected step), the columns of the command's
        ``--series-csv`` (docs/formats.md §10-11). Read exactly from the CSV the run wrote,
        else built from the JSON (the same values and dtypes: a column whose values are all
        whole numbers is int64, as pandas reads it from the CSV). When the input carries training step
        numbers, the index is the training step (``training_step``: the step a transition
        ends at); otherwise pandas' default index, which counts the rows from 0."""
        if self.schema == "latdisp.survey/1":
            raise ValueError("a survey has no per-step series: groups() gives its groups, per_token() its rows")
        frame = self._table("series", self._read_series)
        steps = self._training_steps()
        if steps is not None and "training_step" in frame.columns and frame["training_step"].notna().all():
            frame = frame.set_index("training_step")
            frame.index = frame.index.astype("int64")
        elif steps is not None and "to_step" in frame.columns:
            frame.index = frame["to_step"].astype("int64").rename("training_step")
        return frame

    def _read_series(self):
        path = self.tables.get("series_csv")
        if path:
            return _tables.read_csv_exact(path)
        if self.schema == "latdisp.analyze/1":
            return _tables.analyze_series(self.data)
        if self.schema == "latdisp.blackholes/1":
            return _tables.blackholes_series(self.data)
        if self.schema == "latdisp.optimizer/1":
            try:
                return _tables.optimizer_series(self.data)
            except (KeyError, TypeError):
                pass                # another layout: every per_step list found in the JSON
        if "input" in self.data and "shape" in self.data["input"]:
            return _tables.generic_series(self.data)
        raise ValueError(f"this {self.command} report has no per-step series")

    def per_token(self):
        """The per-token table (``--per-token``, .csv, .h5 or .safetensors) as a DataFrame,
        one row per token in token order, read exactly. ``latdisp.run`` asks for one in a
        temporary file unless ``per_token=`` named a file (or ``tables=False``)."""
        path = self.tables.get("per_token")
        if not path:
            raise ValueError(f"this {self.command} report has no per-token table: run it with per_token='FILE.csv' "
                             "(latdisp.run writes one by itself unless tables=False), or give per_token= to "
                             "latdisp.load_report")
        return self._table("per_token", lambda: _tables.read_table(path, self.schema))

    def groups(self):
        """The groups as a DataFrame: for a blackholes report the groups of the last
        selected step (``final_groups``: size, first_token, formed_at, dead_members), for a
        survey its ``groups`` (size, first_token, beyond_tokenizer, unchanged, halo,
        distance_counts, strings), in report order."""
        pd = _tables.pandas()
        rows = self.data.get("final_groups") if self.schema == "latdisp.blackholes/1" else self.data.get("groups")
        if rows is None:
            raise ValueError(f"this {self.command} report has no groups")
        return pd.DataFrame(rows)


def _command_of(data):
    schema = data.get("schema") or ""
    return schema.split(".", 1)[1].split("/", 1)[0] if schema.startswith("latdisp.") else None


def _table_path(given, report_folder):
    if not given:
        return None
    path = Path(given)
    if path.is_file():
        return path
    if not path.is_absolute() and (report_folder / path).is_file():
        return report_folder / path
    return None


def load_report(path, series_csv=None, per_token=None):
    """A Report from a JSON file a run wrote. Its tables are the files given, else those the
    report's ``run.options`` name (``per_token``, ``series_csv``) when they exist, looked up
    as given and beside the report."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    options = (data.get("run") or {}).get("options") or {}
    tables = {}
    for key, given in (("per_token", per_token), ("series_csv", series_csv)):
        found = _table_path(given or options.get(key), path.parent)
        if given and found is None:
            raise FileNotFoundError(f"{given} does not exist")
        tables[key] = found
    return Report(data, tables=tables)
