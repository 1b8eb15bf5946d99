"""Helpers shared by the data set loaders.

Every loader reads files that it did not write, so the helpers here never
trust a size that a file declares: a declared size is checked against a
limit and against the number of bytes the file really holds before
anything of that size is allocated.
"""

import hashlib
import io
import math
import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np

#: Environment variable that points at the folder holding the data sets.
DATA_ENV_VAR = "SKEEG_DATA"

#: Largest magnitude a float32 holds; the loaders return float32 trials.
FLOAT32_MAX = float(np.finfo(np.float32).max)

_UTF8_BOM = b"\xef\xbb\xbf"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive

# A deflated member may inflate to this many times its compressed size (or to
# _SMALL_MEMBER_BYTES, whichever is larger). Recorded EEG in float64 barely
# compresses; 20x leaves room for long NaN gaps and refuses zip bombs, which
# inflate about 1000x.
_MAX_INFLATION = 20
_SMALL_MEMBER_BYTES = 1 << 20
# numpy refuses .npy headers over 10,000 characters; this bounds one with its
# magic string and length field.
_NPY_HEADER_BYTES = 1 << 14


class _Named(ValueError):
    """A ValueError whose message already names the file."""


def get_data_dir(data_dir=None):
    """Return the folder where skeeg looks for data sets.

    Parameters
    ----------
    data_dir : str or path-like, default=None
        Folder to use. When None, the folder named by the ``SKEEG_DATA``
        environment variable is used if that variable is set and not empty,
        else ``~/skeeg_data``.

    Returns
    -------
    data_dir : pathlib.Path
        The folder, with ``~`` expanded. It is not created and may not exist.

    Raises
    ------
    TypeError
        If ``data_dir`` is neither None, a str nor path-like.
    ValueError
        If the path names an existing file (or FIFO, device), not a folder.

    Notes
    -----
    The loaders only read this folder, with two opt-in exceptions:
    ``load_uea(..., download=True)`` stores the data set it downloads there,
    and :func:`~skeeg.datasets.load_eegmmidb` lets MNE download missing
    EEGMMIDB files there.

    Examples
    --------
    >>> from skeeg.datasets import get_data_dir
    >>> get_data_dir("/data/eeg")
    PosixPath('/data/eeg')
    """
    source = "data_dir"
    if data_dir is None:
        source = f"the {DATA_ENV_VAR} environment variable" if os.environ.get(DATA_ENV_VAR) \
            else "the default data folder"
        data_dir = os.environ.get(DATA_ENV_VAR) or Path("~") / "skeeg_data"
    try:
        path = Path(data_dir).expanduser()
    except TypeError:
        raise TypeError(
            f"data_dir must be a str or path-like folder, or None; got {type(data_dir).__name__}."
        ) from None
    if path.exists() and not path.is_dir():
        mode = path.stat().st_mode
        kind = "a file" if stat.S_ISREG(mode) else next(
            (name for test, name in _KINDS if test(mode)), "not a folder"
        )
        raise ValueError(
            f"{source} names {str(path)!r}, which is {kind}, not a folder: give the folder "
            "that holds the data sets (for a single file, its parent folder)."
        )
    return path


def git_blob_id(content):
    """Return the git blob id of some bytes, as ``git hash-object`` does.

    Parameters
    ----------
    content : bytes
        The full content of a file.

    Returns
    -------
    blob_id : str
        Hexadecimal SHA-1 of ``b"blob <size>\\0"`` followed by the content.

    Examples
    --------
    >>> git_blob_id(b"")
    'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
    """
    header = b"blob %d\0" % len(content)
    return hashlib.sha1(header + content).hexdigest()


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(path, mode):
    kind = next((name for test, name in _KINDS if test(mode)), "not a plain file")
    return ValueError(
        f"{path} is {kind}, not a regular file; a data file must be a regular file "
        "(a FIFO or device would block or never end). Put the data set's file there."
    )


def is_regular_file(path):
    """Whether ``path`` is a regular file, refusing anything else that is there.

    Only ``os.stat`` is used, so a named pipe or a device is never opened
    (opening a FIFO blocks until a writer comes). A symbolic link to a
    regular file counts as one.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    present : bool
        True for a regular file, False when nothing is there (nor a folder
        on the way to it).

    Raises
    ------
    ValueError
        If ``path`` is a folder, a FIFO, a device or a socket; the message
        names the path and what it is.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    return True


def read_bytes(path, max_bytes=None, what="file"):
    """All bytes of a regular file, refusing other kinds and oversized files.

    Parameters
    ----------
    path : path-like
        The file.
    max_bytes : int, default=None
        Largest size accepted, checked on the file's real size before
        reading; None for no limit.
    what : str, default="file"
        What the file is, for the message about its size.

    Returns
    -------
    content : bytes

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path``.
    ValueError
        If ``path`` is not a regular file, or larger than ``max_bytes``.
    """
    if not is_regular_file(path):
        raise FileNotFoundError(f"{path} not found.")
    # O_NONBLOCK: should a FIFO replace the file after the check, opening it
    # returns at once instead of waiting for a writer; fstat then refuses it.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        if max_bytes is not None and info.st_size > max_bytes:
            raise ValueError(
                f"{path} holds {info.st_size} bytes, more than the {max_bytes} bytes "
                f"that a {what} can need; it is not the expected file."
            )
        return handle.read()


def read_text(path, max_bytes=None, what="file"):
    """Read a regular text file as UTF-8, falling back to Latin-1.

    A leading UTF-8 byte-order mark (written by some Windows editors) is
    dropped. Several description files of public EEG archives are Latin-1
    encoded (for example the ``µV`` of the BCI Competition II descriptions),
    and Latin-1 decodes any byte sequence, so reading never fails on
    encoding. ``max_bytes`` and ``what`` are as in :func:`read_bytes`, which
    also refuses anything but a regular file.
    """
    raw = read_bytes(path, max_bytes, what)
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_lines(text):
    """Split text at ``\\n``, ``\\r\\n`` or ``\\r`` only.

    ``str.splitlines`` also splits at form feeds, ``\\x1c``-``\\x1e`` and, in
    Latin-1 text, at byte 0x85, which would shift every line number after it.
    As with ``splitlines``, a final line break does not start another line.
    """
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if len(lines) > 1 and not lines[-1] else lines


def first_beyond_float32(values):
    """Index of the first finite value too large for float32, else None.

    Parameters
    ----------
    values : ndarray
        Numbers about to be stored as float32.

    Returns
    -------
    index : tuple of int or None
        Position (as from ``np.unravel_index``) of the first value whose
        magnitude exceeds the float32 maximum (about 3.4e38), which float32
        would turn into infinity.
    """
    values = np.asarray(values)
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4 or values.size == 0:
        return None  # float32 and smaller, and every integer type, fit
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(values) & (np.abs(values) > FLOAT32_MAX)
    if not bad.any():
        return None
    return np.unravel_index(int(np.argmax(bad)), values.shape)


def read_npz(path, content, names, max_bytes):
    """Read named numeric arrays from an ``.npz`` archive held in memory.

    Unlike ``np.load``, every size the archive declares is checked before
    anything of that size is allocated: each member's inflated size against
    ``max_bytes`` and against its compressed size (zip bombs), and each
    array's declared shape against the bytes its member really holds. Object
    and structured arrays are refused, so nothing is unpickled.

    Parameters
    ----------
    path : path-like
        The file's name, for error messages.
    content : bytes
        The whole file.
    names : sequence of str
        Arrays to read (``"signal"`` reads the member ``signal.npy``).
    max_bytes : int
        Largest array, in bytes, accepted for any of them.

    Returns
    -------
    arrays : dict of str to ndarray
        The arrays, read-only views on the bytes read.

    Raises
    ------
    ValueError
        If the file is not a zip archive (a single ``.npy`` array is named
        as such), a member is missing, encrypted, compressed by a method
        numpy does not write, larger than the limits, or an array header is
        malformed or declares more or fewer bytes than its member holds.
    """
    if content.startswith(_NPY_MAGIC):
        raise ValueError(f"{path} holds a single array (.npy), not an .npz archive of arrays.")
    if not content.startswith(_ZIP_MAGICS):
        raise ValueError(
            f"{path} is not a valid .npz archive (it does not start like a zip file); "
            "the file is damaged or of another format."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ValueError(f"{path} is not a valid .npz archive ({exc}).") from None
    members = {info.filename: info for info in infos}
    if len(members) < len(infos):
        # Two members of one name: readers disagree on which one counts.
        twice = sorted({info.filename for info in infos
                        if sum(i.filename == info.filename for i in infos) > 1})[:5]
        raise ValueError(
            f"{path} holds more than one member named {', '.join(map(repr, twice))}; numpy "
            "never writes such an archive, and which copy is meant cannot be told. The file "
            "is damaged or was tampered with."
        )
    found = {m[:-4] if m.endswith(".npy") else m: info for m, info in members.items()}
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(
            f"{path}: missing array(s) {missing}; the file holds {sorted(found)[:20]}."
        )
    arrays = {}
    with archive:
        for name in names:
            info = members.get(f"{name}.npy") or members[name]
            try:
                _check_member(path, info, len(content), max_bytes)
                arrays[name] = _read_member(path, archive, info)
            except _Named as exc:  # a plain ValueError for users: the class is private
                raise ValueError(str(exc)) from None
            except Exception as exc:  # zlib, CRC, EOF: a damaged member
                raise ValueError(
                    f"{path}: cannot read its array {name!r} ({type(exc).__name__}: {exc}); "
                    "the file is damaged."
                ) from None
    return arrays


def _check_member(path, info, file_size, max_bytes):
    what = f"{path}: array {info.filename!r}"
    if info.flag_bits & 0x1:
        raise _Named(f"{what} is encrypted; numpy never writes encrypted archives.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Named(
            f"{what} is compressed with zip method {info.compress_type}; numpy writes "
            "only stored or deflated members (np.savez, np.savez_compressed)."
        )
    # The declared sizes below come from the archive itself: check them
    # against the file's real size before trusting them.
    if info.compress_size > file_size:
        raise _Named(
            f"{what} declares {info.compress_size} compressed bytes but the whole "
            f"file has {file_size}; the file is truncated or damaged."
        )
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise _Named(
            f"{what} is stored uncompressed but declares {info.file_size} bytes in "
            f"{info.compress_size}; the file is damaged."
        )
    limit = max(_SMALL_MEMBER_BYTES, _MAX_INFLATION * info.compress_size)
    if info.file_size > limit:
        raise _Named(
            f"{what} would inflate from {info.compress_size} to {info.file_size} bytes "
            f"(more than {_MAX_INFLATION} times); refusing it as a possible zip bomb."
        )
    if info.file_size > max_bytes + _NPY_HEADER_BYTES:
        raise _Named(
            f"{what} holds {info.file_size} bytes, more than the {max_bytes} bytes "
            "that this data set's largest genuine array could need; refusing it."
        )


def _read_member(path, archive, info):
    what = f"{path}: array {info.filename!r}"
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
            else:  # 3.0 only serves structured dtypes with non-Latin-1 names
                raise ValueError(f"format version {version}; expected 1.0 or 2.0")
        except Exception as exc:  # numpy's messages do not name the file
            raise _Named(
                f"{what} does not start with a valid .npy header ({type(exc).__name__}: "
                f"{str(exc)[:200]}); the file is damaged."
            ) from None
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise _Named(
                f"{what} has dtype {dtype}; only plain numeric arrays are read (never "
                "objects, which would need unpickling)."
            )
        # Python ints: a product of declared sizes must not wrap around.
        n_bytes = math.prod(shape) * dtype.itemsize
        data_bytes = info.file_size - member.tell()
        if min(shape, default=0) < 0 or n_bytes != data_bytes:
            raise _Named(
                f"{what} declares shape {shape} of {dtype} ({n_bytes} bytes) but its "
                f"member holds {data_bytes} bytes of data; the file is damaged."
            )
        data = member.read(n_bytes)
    if len(data) != n_bytes:
        raise _Named(f"{what} is truncated: {len(data)} of {n_bytes} bytes.")
    order = "F" if fortran_order else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order)
