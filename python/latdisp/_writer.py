"""TrajectoryWriter: a trajectory written one snapshot at a time, safely.

The file (HDF5) or folder (a safetensors checkpoint series) is written under a temporary
name beside the target, `.NAME.latdisp-partial-HOST-PID`, and renamed into place when the
writer is closed, so the target name never holds a partial file (docs/formats.md §15).
"""
import errno
import os
import shutil
import socket
import warnings
from pathlib import Path

from . import _safetensors

# element type -> (numpy storage dtype, safetensors dtype, HDF5 `dtype` attribute or None)
ELEMENT_TYPES = {
    "bf16": ("<u2", "BF16", "bfloat16"),
    "f16": ("<f2", "F16", None),
    "f32": ("<f4", "F32", None),
    "f8e4m3": ("u1", "F8_E4M3", "float8_e4m3fn"),
    "f8e5m2": ("u1", "F8_E5M2", "float8_e5m2"),
}
_HDF5_SUFFIXES = {".h5", ".hdf5", ".he5"}
_MAX_CHUNK_BYTES = 1 << 30       # HDF5 chunks must stay below 4 GiB
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
# HDF5 cannot be closed cleanly after a failed write (h5py's state is broken afterwards), so
# the HDF5 writer never lets it fail: before each snapshot it reserves the snapshot's space
# (plus room for HDF5's own metadata) with posix_fallocate, and it keeps a cushion file whose
# space it gives back before closing, so that the last metadata flush always fits.
_METADATA_ROOM = 64 << 10
_CUSHION_BYTES = 64 << 10


def _numpy():
    import numpy
    return numpy


def is_hdf5_path(path):
    """True for an HDF5 target (.h5, .hdf5), False for a folder (a safetensors series)."""
    path = Path(path)
    if path.suffix.lower() in _HDF5_SUFFIXES:
        return True
    if path.suffix.lower() == ".safetensors":
        raise ValueError(f"{path}: a recording is an HDF5 file (.h5) or a folder of safetensors "
                         "checkpoints (a path without .safetensors); one .safetensors file cannot grow step by step")
    return False


def _temporary_prefix(target):
    return f".{target.name}.latdisp-partial-"


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _remove_stale_temporaries(target):
    """Removes what a killed writer of this target on this host left."""
    prefix = _temporary_prefix(target) + socket.gethostname() + "-"
    for entry in target.parent.iterdir():
        pid = entry.name[len(prefix):].split(".")[0]
        if not entry.name.startswith(prefix) or not pid.isdigit() or int(pid) == os.getpid() or _process_alive(int(pid)):
            continue
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _reserve(path, offset, length):
    """Allocates [offset, offset + length) of the file now, so that writing there cannot
    meet a full disk; OSError(ENOSPC) if the disk has no such room. File systems without
    fallocate are left alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, offset, length)
    except OSError as error:
        if error.errno in _DISK_FULL:
            raise
    finally:
        os.close(fd)


def _drop_reserved_tail(path):
    """Cuts a closed HDF5 file back to its end of allocation (the reservations beyond it)."""
    import h5py
    with h5py.File(path, "r") as f:
        end = f.id.get_filesize()
    if os.path.getsize(path) > end:
        os.truncate(path, end)


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class TrajectoryWriter:
    """Writes snapshots of one or more (N, D) matrices, one step at a time.

    Args:
        path: the target, an HDF5 file (``.h5``/``.hdf5``) or a folder, which becomes a
            safetensors checkpoint series (one ``step-K.safetensors`` per snapshot, K its
            training step), both in the layout ``latdisp`` reads (docs/formats.md §2, §4, §15).
        tensors: ``{name: (rows, cols, element_type)}``; the element type is one of
            ``bf16`` (stored as 16-bit integers holding the bits), ``f16``, ``f32``,
            ``f8e4m3``, ``f8e5m2`` (8-bit integers holding the bits).
        overwrite: replace an existing target (else FileExistsError, before anything is
            written).
        expected_snapshots: how many snapshots will be written, if known: checked against
            the free disk space now, so that a recording too large fails at once.

    ``append`` adds one snapshot (the arrays in their storage dtype: uint16 bits for bf16),
    ``close`` renames the temporary into place. A failed write (a full disk) raises OSError
    naming the target and the reason, and removes the temporary.
    """

    def __init__(self, path, tensors, overwrite=False, expected_snapshots=None):
        self.target = Path(os.path.abspath(os.fspath(path)))
        self.hdf5 = is_hdf5_path(self.target)
        self.tensors = {name: (int(r), int(c), et) for name, (r, c, et) in tensors.items()}
        for name, (_, _, et) in self.tensors.items():
            if et not in ELEMENT_TYPES:
                raise ValueError(f"{name}: unknown element type {et!r} (one of {', '.join(ELEMENT_TYPES)})")
        self._check_target(overwrite, expected_snapshots)
        _remove_stale_temporaries(self.target)
        self.temporary = self.target.parent / f"{_temporary_prefix(self.target)}{socket.gethostname()}-{os.getpid()}"
        self._cushion = self.temporary.with_name(self.temporary.name + ".reserve")
        _remove(self.temporary)
        _remove(self._cushion)
        self.snapshots, self.last_step, self.attributes = 0, None, {}
        self._has_lr = None
        self._closed = False
        self._guard("create", self._open)

    # ------------------------------------------------------------------ checks
    def snapshot_bytes(self):
        np = _numpy()
        return sum(r * c * np.dtype(ELEMENT_TYPES[et][0]).itemsize for r, c, et in self.tensors.values())

    def _check_target(self, overwrite, expected_snapshots):
        folder = self.target.parent
        if not folder.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"the folder of {self.target} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, f"cannot write in {folder}")
        if self.target.exists() or self.target.is_symlink():
            if self.hdf5 and self.target.is_dir():
                raise IsADirectoryError(errno.EISDIR, f"{self.target} is a folder, not an HDF5 file")
            if not self.hdf5 and not self.target.is_dir():
                raise FileExistsError(errno.EEXIST, f"{self.target} is a file; a checkpoint series needs a folder "
                                      "(or give a .h5 path for one HDF5 file)")
            if not overwrite:
                raise FileExistsError(errno.EEXIST, f"{self.target} exists (pass overwrite=True to replace it)")
        if expected_snapshots:
            needed = int(expected_snapshots) * self.snapshot_bytes()
            free = shutil.disk_usage(folder).free
            if needed > free:
                raise OSError(errno.ENOSPC, f"cannot record into {self.target}: {expected_snapshots} snapshots need "
                              f"{needed / 2**20:.1f} MiB, the disk has {free / 2**20:.1f} MiB free")

    def _failure_reason(self, error):
        code = getattr(error, "errno", None)
        text = str(error)
        if code in _DISK_FULL or "No space left" in text or "Disk quota" in text:
            return "the disk is full (No space left on device)"
        try:
            if shutil.disk_usage(self.target.parent).free < self.snapshot_bytes():
                return "the disk is full (No space left on device)"
        except OSError:
            pass
        return text

    def _guard(self, what, action, *args):
        """Runs a write; on failure removes the temporary and raises one clear OSError."""
        if self._closed:
            raise ValueError(f"the recording {self.target} is closed")
        try:
            return action(*args)
        except (OSError, RuntimeError) as error:
            reason = self._failure_reason(error)
            self.abort()
            code = errno.ENOSPC if reason.startswith("the disk is full") else getattr(error, "errno", None) or errno.EIO
            raise OSError(code, f"cannot write {self.target} ({what}): {reason}; nothing was written "
                          f"under {self.target.name} and the temporary file was removed") from error

    # ------------------------------------------------------------------ formats
    def _open(self):
        if not self.hdf5:
            os.mkdir(self.temporary)
            return
        import h5py
        _reserve(self._cushion, 0, _CUSHION_BYTES)
        self._file = h5py.File(self.temporary, "w")
        for name, (rows, cols, et) in self.tensors.items():
            storage, _, attribute = ELEMENT_TYPES[et]
            chunk_rows = max(1, min(rows, _MAX_CHUNK_BYTES // (_numpy().dtype(storage).itemsize * max(cols, 1))))
            dataset = self._file.create_dataset(name, shape=(0, rows, cols), maxshape=(None, rows, cols),
                                                dtype=storage, chunks=(1, chunk_rows, cols))
            if attribute:
                dataset.attrs["dtype"] = attribute
        self._file.create_dataset("steps", shape=(0,), maxshape=(None,), dtype="<i8", chunks=(4096,))

    def _append_hdf5(self, arrays, step, lr):
        # get_filesize() is HDF5's end of allocation: the reservation extends the file past it
        _reserve(self.temporary, self._file.id.get_filesize(), self.snapshot_bytes() + _METADATA_ROOM)
        t = self.snapshots
        for name, array in arrays.items():
            dataset = self._file[name]
            dataset.resize(t + 1, axis=0)
            dataset[t] = array
        for name, value, dtype in (("steps", step, "<i8"), ("lr", lr, "<f8")):
            if value is None:
                continue
            if name not in self._file:
                self._file.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,))
            self._file[name].resize(t + 1, axis=0)
            self._file[name][t] = value
        self._file.flush()

    def _append_series(self, arrays, step, lr):
        tensors = [(name, array, ELEMENT_TYPES[self.tensors[name][2]][1]) for name, array in arrays.items()]
        metadata = dict(self.attributes, step=str(step))
        if lr is not None:
            metadata["lr"] = repr(lr)          # the shortest text that reads back as the same double
        _safetensors.write(self.temporary / f"step-{step:08d}.safetensors", tensors, metadata)

    # ------------------------------------------------------------------ interface
    def set_attributes(self, attributes):
        """Hyperparameters and provenance: HDF5 root attributes, or the ``__metadata__``
        of every checkpoint of a series (set them before the first ``append``)."""
        if not self.hdf5 and self.snapshots:
            raise ValueError("a series takes its attributes before the first snapshot")
        attributes = {str(k): (str(v) if isinstance(v, str) else v) for k, v in attributes.items()}
        self.attributes.update(attributes)
        if self.hdf5:
            def store():
                for key, value in attributes.items():
                    self._file.attrs[key] = value
            self._guard("attributes", store)

    def append(self, arrays, step, lr=None):
        """Adds one snapshot: ``arrays`` maps every tensor name to its (rows, cols) array
        in the storage dtype (uint16 bits for bf16); ``step`` is its training step (must
        grow); ``lr`` the learning rate the step used (the ``lr`` dataset), given for every
        snapshot or for none."""
        np = _numpy()
        if set(arrays) != set(self.tensors):
            raise ValueError(f"append wants the tensors {sorted(self.tensors)}, not {sorted(arrays)}")
        checked = {}
        for name, array in arrays.items():
            rows, cols, et = self.tensors[name]
            array = np.asarray(array)
            storage = np.dtype(ELEMENT_TYPES[et][0])
            if et == "bf16" and array.dtype == np.int16:
                array = array.view(np.uint16)
            if array.dtype.kind != storage.kind or array.dtype.itemsize != storage.itemsize:
                raise TypeError(f"{name}: append wants {et} as {storage.name} (bits for bf16 and FP8), "
                                f"not {array.dtype.name} (a float conversion would change the values)")
            if array.shape != (rows, cols):
                raise ValueError(f"{name}: append wants a ({rows}, {cols}) matrix, not {array.shape}")
            checked[name] = array
        step = int(step)
        if self.last_step is not None and step <= self.last_step:
            raise ValueError(f"steps must grow: step {step} after step {self.last_step}")
        if self._has_lr is not None and self._has_lr != (lr is not None):
            raise ValueError("give lr for every snapshot or for none")
        self._has_lr = lr is not None
        lr = None if lr is None else float(lr)
        self._guard(f"snapshot {self.snapshots}", self._append_hdf5 if self.hdf5 else self._append_series,
                    checked, step, lr)
        self.snapshots += 1
        self.last_step = step

    def set_dead_mask(self, mask):
        """One bool per token of the first tensor (True: dead): ``dead_mask``, in the
        HDF5 file or as ``dead_mask.safetensors`` in the series folder (analyze it with
        ``dead_mask="FOLDER/dead_mask.safetensors:dead_mask"``)."""
        np = _numpy()
        mask = np.asarray(mask)
        rows = next(iter(self.tensors.values()))[0]
        if mask.shape != (rows,) or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"the dead mask needs {rows} values 0/1 or bool, not {mask.dtype} {mask.shape}")
        mask = mask.astype(bool)

        def store():
            if self.hdf5:
                if "dead_mask" in self._file:
                    del self._file["dead_mask"]
                self._file.create_dataset("dead_mask", data=mask)
                self._file.flush()
            else:
                _safetensors.write(self.temporary / "dead_mask.safetensors", [("dead_mask", mask, "BOOL")])
        self._guard("dead mask", store)

    def close(self):
        """Finishes the file and renames it into place (replacing an existing target only
        when created with overwrite=True). Idempotent."""
        if self._closed:
            return
        def finish():
            if self.hdf5:
                _remove(self._cushion)
                self._file.close()
                _drop_reserved_tail(self.temporary)
                with open(self.temporary, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(self.temporary, self.target)
            else:
                _fsync_folder(self.temporary)
                old = None
                if self.target.exists():
                    old = self.target.parent / (self.temporary.name + "-old")
                    os.rename(self.target, old)
                os.rename(self.temporary, self.target)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            _fsync_folder(self.target.parent)
        self._guard("close", finish)
        self._closed = True

    def abort(self):
        """Closes without renaming: removes the temporary; the target is left as it was."""
        if self._closed:
            return
        self._closed = True
        _remove(self._cushion)
        handle = getattr(self, "_file", None)
        if handle is not None:
            try:
                handle.close()
            except Exception:       # already failing: the temporary goes anyway
                pass
        _remove(self.temporary)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        """Closes; after an exception in the caller's code the snapshots written so far are
        kept (each is complete) and a warning says how many."""
        if kind is not None and not self._closed:
            warnings.warn(f"{self.target}: recording stopped by {kind.__name__} after {self.snapshots} snapshots; "
                          "those are kept", stacklevel=2)
        self.close()
        return False
