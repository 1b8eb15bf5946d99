"""The safetensors file: written atomically with a canonical header, read back checked."""

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as to_bytes

from .._json import loads

from ._codec import FORMAT, FORMAT_VERSION, _InvalidFile


def _digest(text, tensors):
    """SHA-256 of the JSON text and of each tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256(text.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"\0{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _canonical_header(data):
    """The safetensors bytes with the header's metadata in sorted order.

    safetensors writes its metadata from a hash map, in an order that
    changes from process to process; sorted, the same model gives the same
    bytes (and hash) whenever and wherever it is saved.
    """
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    header = {"__metadata__": header.pop("__metadata__"), **header}  # tensors: as written
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data stays 8-byte aligned, as safetensors pads it
    return len(text).to_bytes(8, "little") + text + data[8 + length :]


def _write_atomically(path, tensors, metadata):
    """Write the file through a temporary file beside it, so a failed save leaves none.

    Raises
    ------
    OSError
        Of the kind the system gave (``PermissionError``, a full disk...),
        naming ``path``.
    """
    data = _canonical_header(to_bytes(tensors, metadata=metadata))
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".skeeg-", suffix=".tmp")
    except OSError as error:
        raise _named(error, path) from error
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, _mode_for(path))  # mkstemp's 0600 would hide a shared model
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError):
            raise _named(error, path) from error
        raise


def _mode_for(path):
    """The permissions of the file ``path`` replaces, else those a new file gets (umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask():
    """The process's umask: read where the system shows it (setting it races other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _named(error, path):
    """``error`` again, of its own kind, with a message that names the file written."""
    return type(error)(error.errno, f"Cannot write {path!r}: {error.strerror or error}")


# ---------------------------------------------------------------------------
# Loading


def _read_file(path):
    """``(metadata, tensors)`` of a safetensors file, read once into memory, on the CPU.

    Only a regular file is read (a FIFO would block, a device never end), and
    its bytes are read once: the tensors are built from those bytes, so a
    process rewriting the file meanwhile cannot change or crash what is
    loaded, as it could a memory map (SIGBUS). The header is parsed here, its
    declared length checked against the bytes read, before any tensor.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise _InvalidFile(f"it cannot be read ({error.strerror or error}).") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise _InvalidFile(
            "it is not a regular file (a folder, FIFO, device or socket): pass the path "
            "of a model file written by skeeg.save."
        )
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read()
        except OSError as error:
            raise _InvalidFile(f"it cannot be read ({error.strerror or error}).") from None
    size = len(data)
    declared = int.from_bytes(data[:8], "little") if size >= 8 else None
    if declared is None or declared > size - 8 or data[8:9] != b"{":
        what = (
            f"its first 8 bytes declare a header of {declared} bytes in a file of {size} bytes"
            if declared is not None else f"it has only {size} bytes"
        )
        raise _InvalidFile(
            f"it is not a skeeg model file ({what}): it is truncated, or not a safetensors "
            "file written by skeeg.serialization.save."
        )
    try:
        header = loads(data[8 : 8 + declared])
    except (ValueError, RecursionError) as error:
        raise _InvalidFile(f"its header is not valid JSON ({str(error):.200}).") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    _check_format(metadata if isinstance(metadata, dict) else {})  # before any tensor
    try:
        tensors = {name: tensor.clone() for name, tensor in load_tensors(data).items()}
    except (SafetensorError, RuntimeError, ValueError) as error:
        raise _InvalidFile(
            f"it is truncated or not a valid safetensors file ({str(error):.200})."
        ) from None
    return metadata, tensors


def _check_format(metadata):
    if metadata.get("format") != FORMAT:
        raise _InvalidFile(
            "it is a safetensors file but not a skeeg model (its header metadata has no "
            f"format {FORMAT!r}): load only reads files written by skeeg.serialization.save."
        )
    version = metadata.get("format_version")
    # ASCII digits only: str.isdigit also takes "²", which int() refuses.
    if not (isinstance(version, str) and re.fullmatch(r"[1-9][0-9]{0,5}", version)):
        raise _InvalidFile(
            f"its format version {version!r:.40} is not a version skeeg writes (a whole "
            f"number from 1 in ASCII digits; this skeeg reads up to {FORMAT_VERSION}): the "
            "file was edited, or not written by skeeg.serialization.save."
        )
    if int(version) > FORMAT_VERSION:
        raise _InvalidFile(
            f"it was written in format version {version} by a newer skeeg; this skeeg reads "
            f"up to version {FORMAT_VERSION}: upgrade skeeg."
        )
