"""The protocol's tensor files: the safetensors layout (huggingface/safetensors README), mapped once
(copy-on-write) so a worker sees claa's tensors without a copy. Writes F32 only (the scores)."""

import json
import mmap
import struct

import numpy as np

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "F16": np.float16}


def _map_private(f):
    """The whole file mapped copy-on-write (writes stay the worker's): one mapping per request, where a
    numpy.memmap per tensor cost ~0.4 ms each. Not MAP_POPULATE: on a private writable mapping it
    copies every page up front (measured: the protocol's cost per layer doubled)."""
    return mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)


def load_tensors(path):
    """{name: numpy array viewing the mapped file (copy-on-write)} and the header's metadata."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        metadata = header.pop("__metadata__", {})
        base = 8 + size
        has_data = any(e["data_offsets"][1] > e["data_offsets"][0] for e in header.values())
        mapped = _map_private(f) if has_data else None
    tensors = {}
    for name, entry in header.items():
        dtype = np.dtype(_DTYPES[entry["dtype"]])
        begin, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        if end == begin:
            tensors[name] = np.zeros(shape, dtype)
            continue
        # copy-on-write: no copy is made, yet the array is writable (torch.from_numpy takes it as is)
        tensors[name] = np.frombuffer(mapped, dtype, (end - begin) // dtype.itemsize, base + begin).reshape(shape)
    return tensors, metadata


def save_tensors(path, tensors, metadata=None):
    """Writes {name: array} as F32 in the safetensors layout (header padded to 8 bytes)."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array in tensors.items():
        a = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        chunks.append(a)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in chunks:
            f.write(a.tobytes())
