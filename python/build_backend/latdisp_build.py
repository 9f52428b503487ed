"""The package's own build backend (PEP 517 and PEP 660), standard library only.

`pip install ./python` needs no network: pyproject.toml requires nothing, and this module
writes the wheel itself (a zip of latdisp/ plus its .dist-info). A wheel built from a
checkout records that checkout's build/ folder, where latdisp.find_executable looks for the
executable last.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent          # python/
NAME = "latdisp"
SUMMARY = "latdisp from Python: run it, read its reports as DataFrames, record PyTorch training runs"
_EPOCH = (1980, 1, 1, 0, 0, 0)                           # fixed timestamps: the same wheel every time


def _version():
    text = (ROOT / NAME / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def _dist_info():
    return f"{NAME}-{_version()}.dist-info"


def _metadata():
    readme = (ROOT / "README.md").read_text(encoding="utf-8") if (ROOT / "README.md").is_file() else ""
    lines = ["Metadata-Version: 2.1", f"Name: {NAME}", f"Version: {_version()}", f"Summary: {SUMMARY}",
             "Requires-Python: >=3.8",
             # no Requires-Dist: pip would try to download what the interpreter lacks; numpy,
             # pandas, h5py and torch are imported only where used, with a message if missing
             "Provides-Extra: tables", "Requires-Dist: numpy; extra == \"tables\"",
             "Requires-Dist: pandas; extra == \"tables\"", "Requires-Dist: h5py; extra == \"tables\"",
             "Description-Content-Type: text/markdown", "", readme]
    return "\n".join(lines)


def _wheel_text(tag):
    return f"Wheel-Version: 1.0\nGenerator: latdisp_build\nRoot-Is-Purelib: true\nTag: {tag}\n"


def _package_files():
    for path in sorted((ROOT / NAME).rglob("*.py")):
        if "__pycache__" not in path.parts and path.name != "_install_info.py":
            yield path.relative_to(ROOT).as_posix(), path.read_bytes()


def _install_info():
    build = (ROOT.parent / "build").resolve()
    text = ('"""Written by the build backend: the build folder of the checkout this package was built from."""\n'
            f"BUILD_FOLDERS = [{str(build)!r}]\n")
    return f"{NAME}/_install_info.py", text.encode()


def _write_wheel(directory, entries):
    tag = "py3-none-any"
    filename = f"{NAME}-{_version()}-{tag}.whl"
    info = _dist_info()
    entries = list(entries) + [(f"{info}/METADATA", _metadata().encode()),
                               (f"{info}/WHEEL", _wheel_text(tag).encode()),
                               (f"{info}/top_level.txt", f"{NAME}\n".encode())]
    record = []
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries:
            wheel.writestr(zipfile.ZipInfo(name, _EPOCH), data, zipfile.ZIP_DEFLATED)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(zipfile.ZipInfo(f"{info}/RECORD", _EPOCH), "\n".join(record) + "\n", zipfile.ZIP_DEFLATED)
    return filename


def _write_metadata(directory):
    folder = Path(directory) / _dist_info()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(_metadata(), encoding="utf-8")
    (folder / "WHEEL").write_text(_wheel_text("py3-none-any"), encoding="utf-8")
    return folder.name


# ---------------------------------------------------------------- PEP 517
def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _write_metadata(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _write_metadata(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [*_package_files(), _install_info()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel whose .pth file puts this folder on sys.path (pip install -e)."""
    return _write_wheel(wheel_directory, [(f"__editable__.{NAME}.pth", (str(ROOT) + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{_version()}"
    filename = f"{base}.tar.gz"
    members = [("pyproject.toml", (ROOT / "pyproject.toml").read_bytes()),
               ("build_backend/latdisp_build.py", Path(__file__).read_bytes()),
               ("PKG-INFO", _metadata().encode())]
    if (ROOT / "README.md").is_file():
        members.append(("README.md", (ROOT / "README.md").read_bytes()))
    members += list(_package_files())
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            member = tarfile.TarInfo(f"{base}/{name}")
            member.size, member.mtime, member.mode = len(data), 315532800, 0o644
            archive.addfile(member, io.BytesIO(data))
    return filename
