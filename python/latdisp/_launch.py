"""Finding the latdisp executable and mpirun, and what each subcommand accepts."""
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from ._errors import LatdispError

_HELP_TIMEOUT_S = 120
_help_cache = {}
_mpirun_cache = {}


def _is_executable(path):
    return path.is_file() and os.access(path, os.X_OK)


def _build_folders():
    """Build folders to look in, nearest first: the repository this package sits in
    (python/latdisp/ inside it), the one recorded when the package was installed from a
    checkout, and `build/` in the current folder or any folder above it."""
    folders = [Path(__file__).resolve().parents[2] / "build"]
    try:
        from . import _install_info
        folders += [Path(p) for p in _install_info.BUILD_FOLDERS]
    except ImportError:
        pass
    here = Path.cwd().resolve()
    folders += [folder / "build" for folder in (here, *here.parents)]
    return folders


def find_executable(executable=None):
    """The path of the latdisp executable.

    Looked up in this order: the ``executable`` argument, the ``LATDISP`` environment
    variable, ``latdisp`` on ``PATH``, then ``build/latdisp`` of the checkout this package
    was installed from or lives in, and of the current folder and the folders above it.
    Raises LatdispError when none is found, saying where it looked.
    """
    for given, source in ((executable, "executable="), (os.environ.get("LATDISP"), "LATDISP")):
        if given:
            path = Path(given).expanduser()
            if not _is_executable(path):
                raise LatdispError(f"{source}{given!s} is not an executable file")
            return str(path.resolve())
    on_path = shutil.which("latdisp")
    if on_path:
        return on_path
    folders = _build_folders()
    for folder in folders:
        if _is_executable(folder / "latdisp"):
            return str(folder / "latdisp")
    raise LatdispError("cannot find the latdisp executable: set LATDISP=/path/to/latdisp, put it on PATH, "
                       "or build it (cmake --build build --target latdisp); looked in "
                       + ", ".join(str(f) for f in folders[:3]) + " and the build/ folders above the current one")


def _run_help(executable, words):
    try:
        done = subprocess.run([executable, *words], capture_output=True, text=True, errors="replace",
                              timeout=_HELP_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except OSError as error:
        raise LatdispError(f"cannot start {executable}: {error.strerror or error}") from error
    if done.returncode != 0:
        lines = [line[len("latdisp: error: "):] for line in done.stderr.splitlines()
                 if line.startswith("latdisp: error: ")]
        raise LatdispError("\n".join(lines) or done.stderr.strip() or f"{executable} {' '.join(words)} failed",
                           done.returncode, [executable, *words], done.stderr)
    return done.stdout


def _cached(key_words, executable, parse):
    stat = os.stat(executable)
    key = (os.path.realpath(executable), stat.st_mtime_ns, stat.st_size, key_words)
    if key not in _help_cache:
        _help_cache[key] = parse(_run_help(executable, list(key_words)))
    return _help_cache[key]


_OPTION_LINE = re.compile(r"^\s+(?:-\w \[ )?--([a-z0-9][a-z0-9-]*)")
_SUBCOMMAND_LINE = re.compile(r"^  ([a-z][a-z0-9-]*)\s+\S")


def subcommand_options(executable, subcommand):
    """The long option names (without ``--``) that ``latdisp SUBCOMMAND --help`` lists.
    Raises LatdispError for a subcommand this executable does not have."""
    def parse(text):
        return frozenset(m.group(1) for m in map(_OPTION_LINE.match, text.splitlines()) if m)
    return _cached((subcommand, "--help"), executable, parse)


def subcommands(executable=None):
    """The subcommands the executable offers (``latdisp --help``), e.g.
    ``{'analyze', 'generate', 'pack', 'inspect', 'separation', 'blackholes'}``."""
    executable = find_executable(executable)

    def parse(text):
        found, inside = set(), False
        for line in text.splitlines():
            if line.startswith("subcommands:"):
                inside = True
            elif inside and line.strip() and not line.startswith(" "):
                break
            elif inside:
                match = _SUBCOMMAND_LINE.match(line)
                if match:
                    found.add(match.group(1))
        return frozenset(found)
    return set(_cached(("--help",), executable, parse))


def physical_cores():
    """Cores this process may run on (hardware threads of one core counted once), which
    is what Open MPI counts as slots."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(),
                       (topology / "core_id").read_text().strip()))
        except OSError:
            return len(cpus)
    return max(1, len(cores))


def _mpirun():
    """(launcher words, is Open MPI) from LATDISP_MPIRUN, else mpirun/mpiexec on PATH."""
    given = os.environ.get("LATDISP_MPIRUN")
    words = shlex.split(given) if given else None
    if not words:
        found = shutil.which("mpirun") or shutil.which("mpiexec")
        words = [found] if found else None
    if words is None:
        return None, False
    key = tuple(words)
    if key not in _mpirun_cache:
        try:
            version = subprocess.run([*words, "--version"], capture_output=True, text=True, errors="replace",
                                     timeout=60, stdin=subprocess.DEVNULL)
            text = version.stdout + version.stderr
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        _mpirun_cache[key] = "Open MPI" in text or "OpenRTE" in text
    return words, _mpirun_cache[key]


def launch_words(ranks, mpirun_args=()):
    """The words that start `ranks` processes: mpirun with -np, and for Open MPI
    --allow-run-as-root when running as root and --oversubscribe when there are more
    ranks than cores. Without any mpirun, one rank runs the executable directly."""
    ranks = int(ranks)
    if ranks < 1:
        raise ValueError(f"ranks must be at least 1, not {ranks}")
    words, open_mpi = _mpirun()
    if words is None:
        if ranks == 1 and not mpirun_args:
            return []
        raise LatdispError(f"{ranks} ranks need mpirun, which is not on PATH (or set LATDISP_MPIRUN)")
    words = [*words, "-np", str(ranks)]
    if open_mpi and hasattr(os, "geteuid") and os.geteuid() == 0:
        words.append("--allow-run-as-root")
    if open_mpi and ranks > physical_cores():
        words.append("--oversubscribe")
    return words + [str(a) for a in mpirun_args]
