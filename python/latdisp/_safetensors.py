"""A small reader and writer of the safetensors format (docs/formats.md §14), on numpy.

latdisp's files need nothing more than this; the `safetensors` package is not required.
BF16 tensors come back as their uint16 bit patterns and FP8 tensors as uint8, because numpy
has no such types.
"""
import json
import os
import struct

_HEADER_LIMIT = 100 * 1000 * 1000

# safetensors dtype -> numpy dtype of the stored bytes
NUMPY_DTYPES = {"BOOL": "?", "U8": "u1", "I8": "i1", "U16": "<u2", "I16": "<i2", "F16": "<f2", "BF16": "<u2",
                "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8",
                "F8_E4M3": "u1", "F8_E5M2": "u1"}


def _numpy():
    import numpy
    return numpy


def read_header(path):
    """(tensors, metadata, data_start): the header's tensor entries, its
    ``__metadata__`` (a dict of strings) and the byte offset of the data buffer."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (length,) = struct.unpack("<Q", head)
        if length > _HEADER_LIMIT or 8 + length > size:
            raise ValueError(f"{path}: not a safetensors file (a header of {length} bytes in a file of {size})")
        try:
            header = json.loads(f.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: the safetensors header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    return header, metadata, 8 + length


def read_tensor(path, name, header=None):
    """Tensor `name` of the file as a numpy array (BF16 as uint16 bits, FP8 as uint8)."""
    np = _numpy()
    tensors, _, start = header if header is not None else read_header(path)
    if name not in tensors:
        raise KeyError(f"{path} holds no tensor '{name}' (it holds: {', '.join(sorted(tensors)) or 'none'})")
    entry = tensors[name]
    dtype = NUMPY_DTYPES.get(entry.get("dtype"))
    if dtype is None:
        raise ValueError(f"{path}: tensor '{name}' has the unknown dtype {entry.get('dtype')!r}")
    shape = tuple(int(n) for n in entry["shape"])
    begin, end = (int(v) for v in entry["data_offsets"])
    count = 1
    for n in shape:
        count *= n
    if end - begin != count * np.dtype(dtype).itemsize or start + end > os.path.getsize(path):
        raise ValueError(f"{path}: tensor '{name}' does not fit its offsets {begin}..{end}")
    return np.fromfile(path, dtype=dtype, count=count, offset=start + begin).reshape(shape)


def tensor_names(path, header=None):
    """The file's tensor names in the order of their bytes."""
    tensors = (header if header is not None else read_header(path))[0]
    return sorted(tensors, key=lambda name: int(tensors[name]["data_offsets"][0]))


def write(path, tensors, metadata=None):
    """Writes ``tensors``, a list of (name, numpy array, safetensors dtype), back to back
    in that order, header padded with spaces to a multiple of 8 bytes; every write,
    flush, sync and close is checked (an OSError propagates)."""
    np = _numpy()
    entries, blobs, offset = {}, [], 0
    if metadata:
        entries["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array, dtype in tensors:
        data = np.ascontiguousarray(array, dtype=NUMPY_DTYPES[dtype]).tobytes()
        entries[name] = {"dtype": dtype, "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
