"""Paths of files that skeeg writes or reads for the user (models, exports).

One rule for every such path, as MNE's: ``str`` or path-like, ``~``
expanded, and the problems a user can fix (a folder where a file is
meant, a folder that does not exist) named before anything is written.
"""

import os


def user_path(path, what="path"):
    """``path`` as a ``str`` with ``~`` expanded.

    Raises
    ------
    TypeError
        If ``path`` is not a ``str`` or path-like object.
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
    return os.path.expanduser(path)


def output_file(path, what="path", example="model.safetensors"):
    """``path`` ready to be written: a file name in a folder that exists.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced if it exists).
    what : str
        How the path is named in errors.
    example : str
        A file name suggested when ``path`` is a folder.

    Returns
    -------
    path : str
        With ``~`` expanded.

    Raises
    ------
    TypeError
        If ``path`` is not a ``str`` or path-like object.
    ValueError
        If ``path`` is an existing folder.
    FileNotFoundError
        If the folder it would be written in does not exist.
    """
    path = user_path(path, what)
    if os.path.isdir(path):
        raise ValueError(
            f"{what} {path!r} is a folder; give the name of the file to write in it, "
            f"for example {os.path.join(path, example)!r}."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {path!r}: the folder {folder!r} does not exist. Create it first "
            "(os.makedirs(folder, exist_ok=True))."
        )
    return path
