"""latdisp.run: one subcommand under mpirun, its report back as a Report."""
import json
import os
import re
import signal
import subprocess
import tempfile
import warnings
from pathlib import Path

from ._errors import LatdispError
from ._launch import find_executable, launch_words, subcommand_options
from ._options import options_to_args
from ._report import Report

_STOP_GRACE_S = 30
_ERROR_PREFIX = "latdisp: error: "
_WARNING_LINE = re.compile(r"^latdisp(?: [a-z-]+)?: warning: (.*)")
# mpirun's own notices around a failed rank: never part of latdisp's message
_MPIRUN_NOTICES = ("Primary job", "a non-zero exit code", "Per user-direction", "mpirun detected", "the job to be",
                   "Process name:", "Exit code:", "The first process to do so")
# table options latdisp.run fills in with temporary files: keyword -> (option, file name)
_TABLES = {"per_token": ("per-token", "per_token.csv"), "series_csv": ("series-csv", "series.csv")}


class LatdispWarning(UserWarning):
    """A warning latdisp printed (``latdisp: warning: ...``), e.g. an input without a dead mask."""


def _config_values(config, cwd):
    """NAME = VALUE lines of a --config file (for the output paths it may set)."""
    values = {}
    path = Path(cwd or ".") / config
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return values               # latdisp itself reports an unreadable config
    for line in lines:
        line = line.split("#", 1)[0]
        if "=" in line:
            name, value = (part.strip() for part in line.split("=", 1))
            values[name] = value
    return values


def _stop(process):
    """SIGTERM to mpirun (which passes it on; latdisp removes its temporaries and exits 5),
    then SIGKILL if it does not end."""
    try:
        process.send_signal(signal.SIGTERM)
        return process.communicate(timeout=_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def _execute(command, timeout, cwd, env):
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                   text=True, errors="replace", cwd=cwd, env=env)
    except OSError as error:
        raise LatdispError(f"cannot start {command[0]}: {error.strerror or error}", None, command) from error
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = _stop(process)
        raise LatdispError(f"stopped after the timeout of {timeout} s", None, command, err) from None
    except BaseException:           # KeyboardInterrupt in a notebook: stop every rank, then re-raise
        _stop(process)
        raise
    return process.returncode, out, err


def error_message(stderr, exit_code):
    """latdisp's own message from a run's stderr: its `latdisp: error:` lines, without the
    prefix; else what remains once mpirun's notices are removed."""
    lines = stderr.splitlines()
    own = []
    for line in lines:
        if line.startswith(_ERROR_PREFIX) and line[len(_ERROR_PREFIX):] not in own:
            own.append(line[len(_ERROR_PREFIX):])
    if own:
        return "\n".join(own)
    rest = [line.strip() for line in lines if line.strip() and not set(line.strip()) <= {"-"}
            and not any(notice in line for notice in _MPIRUN_NOTICES)]
    return "\n".join(rest[-20:]) or f"latdisp exited with code {exit_code}"


def _warn(stderr):
    for line in stderr.splitlines():
        match = _WARNING_LINE.match(line)
        if match:
            warnings.warn(match.group(1), LatdispWarning, stacklevel=3)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _plan_outputs(accepted, options, report, tables, cwd):
    """Adds the options that make latdisp write its report and tables where run() reads them.
    Returns (report path or None, read JSON from stdout?, table paths, temporary folder)."""
    temporary = None

    def scratch(name):
        nonlocal temporary
        if temporary is None:
            temporary = tempfile.TemporaryDirectory(prefix="latdisp-")
        return os.path.join(temporary.name, name)

    configured = _config_values(options["config"], cwd) if options.get("config") else {}
    report_path, stdout_json = None, False
    if "report" in accepted:
        report_path = report or configured.get("report")
        if report_path is None:
            report_path = scratch("report.json")
        if report is not None or not configured.get("report"):
            options["report"] = report_path
    elif report is not None:
        raise TypeError("this subcommand writes no report file (report= is not one of its options)")
    elif "json" in accepted:
        options["json"] = True
        stdout_json = True
    paths = {}
    for key, (option, name) in _TABLES.items():
        if option not in accepted:
            continue
        given = options.get(key) or configured.get(option)
        if given:
            paths[key] = given
        elif tables:
            paths[key] = options[key] = scratch(name)
    return report_path, stdout_json, paths, temporary


def _resolve(path, cwd):
    return None if path is None else str(Path(cwd or ".") / path)


def run(subcommand, ranks=1, *, report=None, executable=None, tables=True, mpirun_args=(), timeout=None, cwd=None,
        env=None, **options):
    """Runs ``latdisp SUBCOMMAND`` on ``ranks`` MPI ranks and returns its report.

    Args:
        subcommand: ``"analyze"``, ``"generate"``, ``"pack"``, ``"blackholes"``,
            ``"inspect"``, ``"separation"``, ``"optimizer"``, ``"survey"``, ...
        ranks: MPI ranks (mpirun -np; with Open MPI ``--allow-run-as-root`` is added when
            running as root and ``--oversubscribe`` when there are more ranks than cores).
        report: where the JSON report goes (kept); default: a temporary file, removed.
        executable: the latdisp executable (default: ``LATDISP``, ``PATH``, the build folder;
            see ``latdisp.find_executable``).
        tables: when the subcommand has ``--per-token`` / ``--series-csv`` and they are not
            given, write them to temporary files so that ``per_token()`` and ``series()``
            read latdisp's own tables (False: don't).
        mpirun_args: extra words for mpirun (e.g. ``["--bind-to", "none"]``).
        timeout: seconds before the run is stopped (SIGTERM, then SIGKILL) and
            LatdispError raised.
        cwd, env: the working folder and environment of the run (relative paths are
            relative to cwd).
        **options: latdisp's options as keywords: ``memory_budget="2GiB"`` is
            ``--memory-budget 2GiB``, ``True`` a bare flag, ``False``/``None`` nothing, a
            list repeats the option.

    Returns a ``latdisp.Report``: ``report["displacement"]["exact"]``, ``report.data``,
    ``report.series()``, ``report.per_token()``. For subcommands without a report
    (generate, pack) its data is ``{}`` and ``stdout`` holds what they printed; inspect and
    separation run with ``--json`` and their JSON is the report.

    Raises ``latdisp.LatdispError`` when latdisp fails: ``.message`` is latdisp's one
    message (no mpirun notices), ``.exit_code`` its code (docs/report.md §12); with
    ``strict=True`` a verdict other than PERFECT is exit code 4 and ``.report`` holds the
    report. latdisp's warnings become ``latdisp.LatdispWarning`` warnings.
    """
    executable = find_executable(executable)
    accepted = subcommand_options(executable, subcommand)
    options = dict(options)
    report_path, stdout_json, paths, temporary = _plan_outputs(accepted, options, report, tables, cwd)
    command = launch_words(ranks, mpirun_args) + [executable, subcommand] + options_to_args(options)
    try:
        exit_code, out, err = _execute(command, timeout, cwd, None if env is None else {**os.environ, **env})
        _warn(err)
        data = _read_json(_resolve(report_path, cwd)) if report_path else None
        if stdout_json and exit_code == 0:
            start = out.find("{")
            data = json.loads(out[start:]) if start >= 0 else None
        tables_found = {k: _resolve(v, cwd) for k, v in paths.items()}
        result = None if data is None else Report(data, subcommand, out, err, command, tables_found, temporary)
        if exit_code != 0:
            message = error_message(err, exit_code)
            if exit_code == 4 and _ERROR_PREFIX not in err:
                verdict = (data or {}).get("displacement", {}).get("verdict") or "not PERFECT"
                message = f"the verdict is {verdict}, not PERFECT (strict)"
            if result is not None:
                temporary = None        # the report on the error keeps its tables
            raise LatdispError(message, exit_code, command, err, result)
        if result is None:
            if report_path or stdout_json:
                raise LatdispError(f"latdisp {subcommand} ended without writing its report", exit_code, command, err)
            result = Report({}, subcommand, out, err, command, tables_found, temporary)
        temporary = None        # the report keeps it
        return result
    finally:
        if temporary is not None:
            temporary.cleanup()
