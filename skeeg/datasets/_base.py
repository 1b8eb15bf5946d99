"""Helpers shared by the data set loaders."""

import hashlib
import os
from pathlib import Path

#: Environment variable that points at the folder holding the data sets.
DATA_ENV_VAR = "SKEEG_DATA"


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

    Notes
    -----
    The loaders of skeeg only read files; they never write to this folder.

    Examples
    --------
    >>> from skeeg.datasets import get_data_dir
    >>> get_data_dir("/data/eeg")
    PosixPath('/data/eeg')
    """
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV_VAR) or Path("~") / "skeeg_data"
    return Path(data_dir).expanduser()


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


def read_text(path):
    """Read a text file as UTF-8, falling back to Latin-1.

    Several description files of public EEG archives are Latin-1 encoded
    (for example the ``µV`` of the BCI Competition II descriptions), and
    Latin-1 decodes any byte sequence, so reading never fails on encoding.
    """
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
