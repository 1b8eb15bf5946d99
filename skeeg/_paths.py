"""Paths of files that skeeg writes or reads for the user (models, exports).

One rule for every such path, as MNE's: ``str`` or path-like, ``~``
expanded, and the problems a user can fix (a folder where a file is
meant, a folder that does not exist) named before anything is written.
"""

import os
import stat


def user_path(path, what="path"):
    """``path`` as a ``str`` with ``~`` expanded.

    Raises
    ------
    TypeError
        If ``path`` is not a ``str`` or path-like object.
    ValueError
        If ``path`` is empty or holds a NUL character.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"{what} must be a str or path-like object (pathlib.Path); got "
            f"{type(path).__name__}."
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{what} is empty; give a file name.")
    if "\0" in path:  # the system would cut the name there: another file
        raise ValueError(f"{what} {path!r} holds a NUL character, which no file name may hold.")
    return os.path.expanduser(path)


class MissingFolderError(ValueError, FileNotFoundError):
    """The folder a file would be written in does not exist (or is a file).

    A ``ValueError``, as every path a user can fix, and a
    ``FileNotFoundError``, as it was before skeeg named it.
    """


def output_file(path, what="path", example="model.safetensors"):
    """``path`` ready to be written: a file name in a folder that exists.

    The path is used as given: no suffix is added (``"model"`` writes a
    file named ``model``) and a relative path is relative to the current
    working directory.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced if it is a regular file).
    what : str
        How the path is named in errors.
    example : str or None
        A file name suggested when ``path`` is a folder; None where the name
        is derived (an export's sidecar), so that a folder cannot hold it.

    Returns
    -------
    path : str
        With ``~`` expanded.

    Raises
    ------
    TypeError
        If ``path`` is not a ``str`` or path-like object.
    ValueError
        If ``path`` is an existing folder, ends with a path separator (a
        folder's name), exists but is not a regular file (a FIFO, a
        device, a socket: replacing it would remove it, and writing into it
        would block or vanish), or is a read-only file. A symbolic link is
        followed: its target is the file written.
    MissingFolderError
        (a ``ValueError`` and a ``FileNotFoundError``) If the folder it would
        be written in does not exist or is a file.
    """
    path = user_path(path, what)
    folder_name = os.path.isdir(path) or path.endswith(
        tuple(sep for sep in (os.sep, os.altsep) if sep)
    )
    if folder_name:
        fix = ("give the name of the file to write, for example "
               f"{os.path.join(path, example)!r} (in a folder that exists)" if example else
               "move it away, or give the model another file name")
        raise ValueError(
            f"{what} {path!r} is {'a folder' if os.path.isdir(path) else 'the name of a folder'}; "
            f"{fix}."
        )
    if os.path.islink(path):  # a link's target is written, as open(path, "w") would
        path = os.path.realpath(path)
    if os.path.isfile(path) and not os.stat(path).st_mode & stat.S_IWUSR:
        raise ValueError(
            f"{what} {path!r} is read-only (mode {stat.S_IMODE(os.stat(path).st_mode):04o}): "
            "skeeg does not replace a file its owner protected. Make it writable, or give "
            "another name."
        )
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(
            f"{what} {path!r} exists and is not a regular file (a FIFO, device or socket): "
            "skeeg writes regular files only. Give the name of a new file, or of a file to "
            "replace."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        fix = (
            "is a file, not a folder: pass a path in an existing folder"
            if os.path.exists(folder)
            else "does not exist. Create it first (os.makedirs(folder, exist_ok=True))"
        )
        raise MissingFolderError(f"Cannot write {path!r}: the folder {folder!r} {fix}.")
    return path
