"""load_displacements: every x of a saved `analyze --output`, rebuilt exactly."""
from pathlib import Path

from . import _safetensors

# exception kinds (docs/formats.md §8) and the report's class each counts
KINDS = {1: "almost", 2: "half", 3: "non_integer", 4: "nonfinite", 5: "out_of_range"}
_INTEGER_RANGES = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}


def _read_hdf5(path):
    import h5py
    with h5py.File(path, "r") as f:
        def get(name):
            return f[name][()] if name in f else None
        tensors = {key: get(name) for key, name in (
            ("delta", "delta_W_prime"), ("index", "exceptions/index"), ("value", "exceptions/value"),
            ("kind", "exceptions/kind"), ("n_steps", "n_steps"), ("n_tokens", "n_tokens"), ("n_dims", "n_dims"))}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return tensors, attrs


def _read_safetensors(path):
    header = _safetensors.read_header(path)
    names = header[0]
    tensors = {key: _safetensors.read_tensor(path, name, header) if name in names else None for key, name in (
        ("delta", "delta_W_prime"), ("index", "exceptions.index"), ("value", "exceptions.value"),
        ("kind", "exceptions.kind"), ("n_steps", "n_steps"), ("n_tokens", "n_tokens"), ("n_dims", "n_dims"))}
    return tensors, dict(header[1])


def _fail(path, text):
    raise ValueError(f"{path}: {text}")


def _check_shapes(path, t, np):
    if t["delta"] is None or any(t[k] is None for k in ("index", "value", "kind")):
        missing = [name for key, name in (("delta", "delta_W_prime"), ("index", "exceptions/index"),
                                          ("value", "exceptions/value"), ("kind", "exceptions/kind")) if t[key] is None]
        _fail(path, f"lacks {', '.join(missing)}: without the dense integers and the whole exceptions table "
              "the displacements cannot be rebuilt (save with --outputs all, or include delta_W_prime,exceptions)")
    delta = t["delta"]
    if delta.ndim != 3 or delta.dtype.kind not in "iu":
        _fail(path, f"delta_W_prime is {delta.dtype} {delta.shape}, not a 3-D integer array")
    for key, size in (("n_steps", 0), ("n_tokens", 1), ("n_dims", 2)):
        if t[key] is not None and int(t[key]) != delta.shape[size]:
            _fail(path, f"{key} = {int(t[key])} but delta_W_prime has shape {delta.shape}")
    index, value, kind = t["index"], t["value"], t["kind"]
    k = index.shape[0] if index.ndim == 2 else -1
    if index.ndim != 2 or index.shape[1] != 3 or value.shape != (k,) or kind.shape != (k,):
        _fail(path, f"the exceptions table is inconsistent: index {index.shape}, value {value.shape}, kind {kind.shape}")


def _check_exceptions(path, t, attrs, np):
    delta, index, value, kind = t["delta"], t["index"].astype(np.int64), t["value"], t["kind"]
    if index.size and ((index < 0).any() or (index >= np.array(delta.shape)).any()):
        _fail(path, "an exception's [step, token, dim] lies outside delta_W_prime")
    flat = np.ravel_multi_index((index[:, 0], index[:, 1], index[:, 2]), delta.shape) if index.size else index[:, 0]
    keys = index[:, 1] * (delta.shape[0] * delta.shape[2]) + index[:, 0] * delta.shape[2] + index[:, 2]
    if (np.diff(keys) <= 0).any():
        _fail(path, "the exceptions are not ordered by token, step, dim without repeats (a damaged table)")
    if not np.isin(kind, list(KINDS)).all():
        _fail(path, f"unknown exception kinds {sorted(set(kind.tolist()) - set(KINDS))}")
    if (delta.reshape(-1)[flat] != 0).any():
        _fail(path, "delta_W_prime is not 0 where an exception is listed (a damaged file)")
    finite = np.isfinite(value)
    if finite[kind == 4].any() or not finite[kind != 4].all():
        _fail(path, "an exception's value does not match its kind (non-finite values are kind 4)")
    bits = _INTEGER_RANGES.get(str(attrs.get("delta_dtype", delta.dtype.name)))
    out = value[kind == 5]
    if bits and out.size and ((out != np.round(out)) | ((out >= -(2.0 ** (bits - 1))) & (out <= 2.0 ** (bits - 1) - 1))).any():
        _fail(path, f"a kind-5 exception is an integer inside the {bits}-bit range of delta_W_prime")
    return flat


def _check_report(path, report, shape, kind, np):
    data = getattr(report, "data", report)
    if data is None:
        return
    if list(data.get("input", {}).get("shape", [shape[0] + 1, shape[1], shape[2]])) != [shape[0] + 1, *shape[1:]]:
        _fail(path, f"holds {shape} displacements, the report's input has shape {data['input']['shape']}")
    saved = (data.get("output") or {}).get("exceptions")
    if saved is not None and int(saved) != kind.size:
        _fail(path, f"holds {kind.size} exceptions, the report says {saved} were saved: rows are missing")
    counts = data.get("displacement", {})
    for code, name in KINDS.items():
        if name in counts and int(counts[name]) != int((kind == code).sum()):
            _fail(path, f"{int((kind == code).sum())} exceptions of kind {code} ({name}), the report counts "
                  f"{counts[name]}: coordinates are missing")


def load_displacements(path, report=None):
    """Every lattice displacement x of a saved ``analyze --output``, as float64 (S-1, N, D).

    Reads ``delta_W_prime`` (the dense integers) and the exceptions table (``exceptions/``
    in HDF5, ``exceptions.*`` in safetensors; docs/formats.md §8) and puts each exception's
    value (the correctly rounded double of x; NaN, or in the seed arithmetic ±Inf/NaN, for a
    non-finite x) in its place, so every x comes back exactly as a double.

    Checks that nothing is missing: both parts present, the shapes consistent with
    ``n_steps``/``n_tokens``/``n_dims``, every exception inside the array, listed once, in
    order, where the dense array holds 0, with a value that fits its kind. Given the run's
    ``report`` (a latdisp.Report or its dict), also that the exceptions' count and kinds
    match the report's ``output.exceptions`` and class counts. Raises ValueError otherwise.
    """
    import numpy as np
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, "rb") as f:
        hdf5 = f.read(8) == b"\x89HDF\r\n\x1a\n"
    tensors, attrs = _read_hdf5(path) if hdf5 else _read_safetensors(path)
    _check_shapes(path, tensors, np)
    flat = _check_exceptions(path, tensors, attrs, np)
    _check_report(path, report, tensors["delta"].shape, tensors["kind"], np)
    x = tensors["delta"].astype(np.float64)
    x.reshape(-1)[flat] = tensors["value"].astype(np.float64)
    return x
