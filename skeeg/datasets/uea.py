"""Loader for the EEG data sets of the UEA multivariate time-series archive."""

import json
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import get_data_dir, read_text

ARCHIVE_URL = "https://www.timeseriesclassification.com"

# Channel names stated in the archive's own descriptions (``<name>.txt``).
# SelfRegulationSCP1 electrodes sit 2 cm frontal (f) or parietal (p) of C3/C4.
_CH_NAMES = {
    "SelfRegulationSCP1": ["A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p"],
    "FingerMovements": [
        "F3", "F1", "Fz", "F2", "F4",
        "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6",
        "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
        "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6",
        "O1", "O2",
    ],
}  # fmt: skip

_HEADER_KEYS = (
    "@problemname",
    "@timestamps",
    "@missing",
    "@univariate",
    "@dimensions",
    "@equallength",
    "@serieslength",
    "@classlabel",
    "@data",
)


def load_uea(name, data_dir=None):
    """Load an EEG data set of the UEA multivariate time-series archive.

    Reads the official train and test files, ``<name>_TRAIN.ts`` and
    ``<name>_TEST.ts``, in the ``.ts`` text format of the UEA/UCR archive
    (the format read by sktime, aeon and tslearn).

    Parameters
    ----------
    name : str
        Name of the data set as in the archive, for example
        ``"SelfRegulationSCP1"`` or ``"FingerMovements"``.
    data_dir : str or path-like, default=None
        Folder holding the files. They are looked up in
        ``<data_dir>/uea/<name>/``, then ``<data_dir>/<name>/``, then in
        ``data_dir`` itself. When None, :func:`get_data_dir` decides the
        folder (``SKEEG_DATA`` environment variable, else ``~/skeeg_data``).

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (n_train, n_channels, n_times), float32
            Training trials, C-contiguous.
        y_train : ndarray of shape (n_train,), str
            Training labels, as written in the file.
        X_test : ndarray of shape (n_test, n_channels, n_times), float32
            Test trials of the official split, C-contiguous.
        y_test : ndarray of shape (n_test,), str
            Test labels.
        classes : ndarray of str
            Class labels in the order of the ``@classLabel`` header line.
        sfreq : float or None
            Sampling frequency in Hz from ``<name>.json`` (key ``"sfreq"``),
            None when that file is absent.
        ch_names : list of str or None
            Channel names when the archive's description states them, else
            None.
        name : str
            The data set name.
        DESCR : str
            The archive's description ``<name>.txt``; when absent, the
            comment lines at the top of the train file.

    Raises
    ------
    FileNotFoundError
        If a ``.ts`` file is missing.
    ValueError
        If a file is malformed; the message gives the file and line number.

    Notes
    -----
    Header keywords are matched case-insensitively and lines starting with
    ``#`` are comments. Every trial must have the same number of channels
    and samples, since the data are returned as one array. Files with time
    stamps (``@timeStamps true``), missing values (``?``), non-finite values
    or without class labels are rejected: the EEG data sets of the archive
    have none of these.

    The values are returned unscaled, in the units of the archive
    (microvolts for the BCI Competition II sets).

    Download the data sets from the archive at
    https://www.timeseriesclassification.com (multivariate data sets) and
    unzip each into ``<data_dir>/uea/<name>/``.

    References
    ----------
    .. [1] A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom,
       P. Southam and E. Keogh, "The UEA multivariate time series
       classification archive, 2018", arXiv:1811.00075, 2018.
    .. [2] B. Blankertz et al., "The BCI Competition 2003: progress and
       perspectives in detection and discrimination of EEG single trials",
       IEEE Transactions on Biomedical Engineering, 51(6), 1044-1051, 2004.

    Examples
    --------
    >>> from skeeg.datasets import load_uea
    >>> data = load_uea("SelfRegulationSCP1")  # doctest: +SKIP
    >>> data.X_train.shape  # doctest: +SKIP
    (268, 6, 896)
    >>> data.classes  # doctest: +SKIP
    array(['negativity', 'positivity'], dtype='<U10')
    """
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise ValueError(f"name must be a data set name such as 'FingerMovements', got {name!r}.")
    folder = _find_folder(name, get_data_dir(data_dir))

    X_train, y_train, classes, comments = _read_ts(folder / f"{name}_TRAIN.ts")
    X_test, y_test, test_classes, _ = _read_ts(folder / f"{name}_TEST.ts")
    if X_train.shape[1:] != X_test.shape[1:]:
        raise ValueError(
            f"Train and test files of {name} in {folder} disagree: trials of "
            f"shape {X_train.shape[1:]} in train but {X_test.shape[1:]} in test "
            "(channels, samples)."
        )
    if list(classes) != list(test_classes):
        raise ValueError(
            f"Train and test files of {name} in {folder} declare different "
            f"@classLabel lists: {list(classes)} and {list(test_classes)}."
        )

    txt = folder / f"{name}.txt"
    descr = read_text(txt) if txt.is_file() else comments
    ch_names = _CH_NAMES.get(name)
    if ch_names is not None and len(ch_names) != X_train.shape[1]:
        ch_names = None
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        classes=classes,
        sfreq=_read_sfreq(folder / f"{name}.json"),
        ch_names=None if ch_names is None else list(ch_names),
        name=name,
        DESCR=descr,
    )


def _find_folder(name, data_dir):
    candidates = [data_dir / "uea" / name, data_dir / name, data_dir]
    for folder in candidates:
        if (folder / f"{name}_TRAIN.ts").is_file():
            return folder
    searched = ", ".join(str(folder / f"{name}_TRAIN.ts") for folder in candidates)
    raise FileNotFoundError(
        f"UEA data set {name!r} not found; looked for {searched}. Download "
        f"{name}.zip from the UEA/UCR time-series classification archive "
        f"({ARCHIVE_URL}, multivariate data sets) and unzip it into "
        f"{data_dir / 'uea' / name}, or pass data_dir / set SKEEG_DATA to "
        "the folder that holds it."
    )


def _read_sfreq(path):
    if not path.is_file():
        return None
    try:
        meta = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    sfreq = meta.get("sfreq") if isinstance(meta, dict) else None
    return None if sfreq is None else float(sfreq)


def _read_ts(path):
    """Parse one ``.ts`` file into (X, y, classes, header comments)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found. It is part of the UEA/UCR time-series "
            f"classification archive ({ARCHIVE_URL}); download the data set "
            "and unzip it next to the other file of the split."
        )
    lines = read_text(path).splitlines()
    header = {}
    comments = []
    line_no = 0
    for line_no, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            comments.append(text[1:])
            continue
        if not text.startswith("@"):
            raise ValueError(
                f"{path}, line {line_no}: data found before the @data line; "
                "the header must end with @data."
            )
        key, *value = text.split(None, 1)
        key = key.lower()
        if key not in _HEADER_KEYS:
            raise ValueError(f"{path}, line {line_no}: unknown header keyword {key!r}.")
        header[key] = (value[0].strip() if value else "", line_no)
        if key == "@data":
            break
    else:
        raise ValueError(f"{path}, line {line_no}: end of file reached without an @data line.")
    n_channels, n_times, classes = _check_header(path, header)

    trials, labels = [], []
    first_line = None  # line of the first trial, which fixes the trial length
    for line_no, line in enumerate(lines[line_no:], start=line_no + 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        *dims, label = text.split(":")
        label = label.strip()
        if n_channels is None:
            n_channels = len(dims)
        if not dims or not label or ("," in label and label not in classes):
            raise ValueError(f"{path}, line {line_no}: missing class label.")
        if len(dims) != n_channels:
            raise ValueError(
                f"{path}, line {line_no}: found {len(dims)} dimension(s), expected "
                f"{n_channels} (as @dimensions or the first trial says)."
            )
        if label not in classes:
            raise ValueError(
                f"{path}, line {line_no}: label {label!r} is not in the "
                f"@classLabel list {classes}."
            )
        lengths = [dim.count(",") + 1 for dim in dims]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"{path}, line {line_no}: dimensions of unequal length "
                f"{lengths}; only equal-length series are supported."
            )
        if n_times is None:
            n_times, first_line = lengths[0], line_no
        elif lengths[0] != n_times:
            source = f"the first trial (line {first_line})" if first_line else "@seriesLength"
            raise ValueError(
                f"{path}, line {line_no}: series of length {lengths[0]}, "
                f"expected {n_times} as in {source}."
            )
        trials.append(_parse_values(path, line_no, dims))
        labels.append(label)
    if not trials:
        raise ValueError(f"{path}, line {line_no}: no trials after the @data line.")
    X = np.array(trials, dtype=np.float32).reshape(len(trials), n_channels, n_times)
    return X, np.array(labels, dtype=str), np.array(classes, dtype=str), "\n".join(comments)


def _check_header(path, header):
    """Validate the header; return (n_channels, n_times, classes)."""

    def flag(key, default):
        value, line_no = header.get(key, (default, None))
        if value.lower() not in ("true", "false"):
            raise ValueError(
                f"{path}, line {line_no}: {key} must be true or false, got {value!r}."
            )
        return value.lower() == "true", line_no

    def integer(key):
        if key not in header:
            return None
        value, line_no = header[key]
        if not value.isdigit() or int(value) < 1:
            raise ValueError(
                f"{path}, line {line_no}: {key} must be a positive integer, got {value!r}."
            )
        return int(value)

    time_stamps, line_no = flag("@timestamps", "false")
    if time_stamps:
        raise ValueError(f"{path}, line {line_no}: files with time stamps are not supported.")
    flag("@missing", "false")
    flag("@equallength", "true")
    univariate, _ = flag("@univariate", "false")
    n_channels = integer("@dimensions")
    if univariate:
        n_channels = 1
    n_times = integer("@serieslength")

    if "@classlabel" not in header:
        raise ValueError(
            f"{path}: no @classLabel header line; only labelled classification "
            "files are supported."
        )
    value, line_no = header["@classlabel"]
    has_labels, *classes = value.split() or [""]
    if has_labels.lower() != "true" or not classes:
        raise ValueError(
            f"{path}, line {line_no}: @classLabel must be 'true' followed by the "
            f"class labels, got {value!r}; unlabelled files are not supported."
        )
    return n_channels, n_times, classes


def _parse_values(path, line_no, dims):
    tokens = ",".join(dims).split(",")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        values = np.array([_to_float(token) for token in tokens])
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = bad[0]
        n_times = len(tokens) // len(dims)
        token = tokens[i].strip()
        problem = "missing value '?'" if token == "?" else f"invalid value {token!r}"
        raise ValueError(
            f"{path}, line {line_no}: {problem} at dimension {i // n_times + 1}, "
            f"sample {i % n_times + 1}; only complete, finite numeric data are supported."
        )
    return values


def _to_float(token):
    try:
        return float(token)
    except ValueError:
        return np.nan
