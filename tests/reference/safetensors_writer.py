"""A minimal safetensors writer for the tests, written from the format's
definition (independent of latdisp's own writer): an 8-byte little-endian
header length N, N bytes of JSON mapping each tensor name to its dtype, shape
and data_offsets [begin, end) relative to the data buffer (plus an optional
"__metadata__" of strings), then the data buffer, tensors back to back in the
order given, little-endian, C order."""
import json
import struct

import numpy as np

DTYPES = {"BF16": "<u2", "U16": "<u2", "I16": "<i2", "F16": "<f2", "F32": "<f4", "F64": "<f8",
          "BOOL": "|b1", "U8": "|u1", "F8_E4M3": "|u1", "F8_E5M2": "|u1", "I8": "|i1", "I32": "<i4", "I64": "<i8", "U32": "<u4", "U64": "<u8"}


def write_safetensors(path, tensors, metadata=None, align=True):
    """tensors: list of (name, dtype, numpy array), written in this order.
    BF16 arrays are given as their uint16 bit patterns, F8_* ones as uint8 bits. align=False leaves the
    header unpadded, so tensors may start at odd file offsets."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name, dtype, array in tensors:
        data = np.ascontiguousarray(np.asarray(array).astype(DTYPES[dtype], copy=False)).tobytes()
        header[name] = {"dtype": dtype, "shape": list(np.asarray(array).shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    if align:
        text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in chunks:
            f.write(data)
