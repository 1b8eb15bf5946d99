"""Loader for the EEG data sets of the UEA multivariate time-series archive."""

import json
import math
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import FLOAT32_MAX, get_data_dir, read_text, split_lines

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

# Sampling rates stated in the descriptions; used when ``<name>.json`` is
# absent (the archive's zip files carry no .json).
_SFREQ = {"SelfRegulationSCP1": 256.0, "FingerMovements": 100.0}

# Unit of the values. SelfRegulationSCP1.txt states "All values are in µVolt".
# FingerMovements.txt states no unit: its values (sd 44, all within +-250, a
# NeuroScan amplifier with a 0.05 Hz high-pass) are microvolt-sized EEG, not
# volts (1e-5) nor raw counts.
_UNITS = {"SelfRegulationSCP1": "uV", "FingerMovements": "uV"}

_HEADER_KEYS = (
    "@problemname",
    "@timestamps",
    "@missing",
    "@univariate",
    "@dimensions",
    "@equallength",
    "@serieslength",
    "@classlabel",
    "@targetlabel",
    "@data",
)


def load_uea(name, data_dir=None, download=False):
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
    download : bool, default=False
        When the files are not found, fetch ``<name>.zip`` from the
        archive's web site (``skeeg.datasets._download.UEA_BASE_URL``),
        check what it holds against facts kept in skeeg (shapes, class
        counts, and the mean and standard deviation of each split), and
        store the ``.ts`` files in ``<data_dir>/uea/<name>/``. Only the data
        sets whose facts skeeg keeps can be downloaded: SelfRegulationSCP1
        and FingerMovements. Nothing is fetched when the files are present.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (n_train, n_channels, n_times), float32
            Training trials, C-contiguous, in ``unit``.
        y_train : ndarray of shape (n_train,), str
            Training labels, as written in the file.
        X_test : ndarray of shape (n_test, n_channels, n_times), float32
            Test trials of the official split, C-contiguous, in ``unit``.
        y_test : ndarray of shape (n_test,), str
            Test labels.
        classes : ndarray of str
            Class labels in the order of the ``@classLabel`` header line.
        sfreq : float or None
            Sampling frequency in Hz from ``<name>.json`` (key ``"sfreq"``),
            else as stated in the archive's description for the two EEG
            sets (256.0 and 100.0), else None.
        ch_names : list of str or None
            Channel names when the archive's description states them, else
            None.
        unit : str or None
            Unit of the values: ``"uV"`` (microvolts) for
            SelfRegulationSCP1 and FingerMovements (see Notes), None for
            other data sets.
        name : str
            The data set name.
        DESCR : str
            The archive's description ``<name>.txt``; when absent, the
            comment lines at the top of the train file.

    Raises
    ------
    FileNotFoundError
        If a ``.ts`` file is missing (and ``download`` is False).
    ValueError
        If a file is malformed, the message gives the file, the line number
        and the problem; also for a ``<name>.json`` whose ``"sfreq"`` is not
        a positive number, and, with ``download=True``, for a download that
        fails its checks (HTTP error, truncated or damaged archive, values
        that differ from skeeg's facts); nothing is then left in
        ``data_dir``.
    ConnectionError
        With ``download=True``, if the archive cannot be reached.

    Warns
    -----
    UserWarning
        If a file's header disagrees with its data (``@dimensions``,
        ``@seriesLength`` or ``@univariate`` that every trial contradicts)
        or holds lines it cannot use (unknown keywords, flags that are not
        true or false); the data decide, as in the archive's other readers.

    Notes
    -----
    Header keywords are matched case-insensitively, lines starting with
    ``#`` are comments, and a leading UTF-8 byte-order mark is ignored. The
    data are returned as one array, so every trial must have the same
    number of channels and samples: the first trial sets them. Files with
    time stamps (``@timeStamps true``), missing values (``?``), non-finite
    values, values beyond the float32 range, unlabelled trials or labels
    missing from the ``@classLabel`` list are refused: what they hold
    cannot be returned unambiguously as labelled float32 trials, and the
    EEG data sets of the archive have none of these.

    The values are returned unscaled. SelfRegulationSCP1's description
    states microvolts. FingerMovements' description states no unit; its
    values (standard deviation about 44, all within +-250) are
    microvolt-sized EEG, so ``unit`` is ``"uV"`` for it too.

    Without ``download``, get the data sets from the archive at
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
    if not isinstance(download, (bool, np.bool_)):
        raise TypeError(f"download must be True or False, got {download!r}.")
    root = get_data_dir(data_dir)
    folder, parsed = _find_folder(name, root), {}
    if folder is None:
        if not download:
            raise FileNotFoundError(_not_found_message(name, root))
        from ._download import download_uea

        folder, parsed = download_uea(name, root)  # parsed to check it: not read twice

    X_train, y_train, classes, comments = parsed.get("TRAIN") or _read_ts(
        folder / f"{name}_TRAIN.ts"
    )
    X_test, y_test, test_classes, _ = parsed.get("TEST") or _read_ts(folder / f"{name}_TEST.ts")
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
    sfreq = _read_sfreq(folder / f"{name}.json")
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        classes=classes,
        sfreq=_SFREQ.get(name) if sfreq is None else sfreq,
        ch_names=None if ch_names is None else list(ch_names),
        unit=_UNITS.get(name),
        name=name,
        DESCR=descr,
    )


def _find_folder(name, data_dir):
    """The first folder holding ``<name>_TRAIN.ts``, else None."""
    for folder in _candidates(name, data_dir):
        if (folder / f"{name}_TRAIN.ts").is_file():
            return folder
    return None


def _candidates(name, data_dir):
    return [data_dir / "uea" / name, data_dir / name, data_dir]


def _not_found_message(name, data_dir):
    searched = ", ".join(str(f / f"{name}_TRAIN.ts") for f in _candidates(name, data_dir))
    return (
        f"UEA data set {name!r} not found; looked for {searched}. Pass "
        f"download=True to fetch it, or download {name}.zip from the UEA/UCR "
        f"time-series classification archive ({ARCHIVE_URL}, multivariate data "
        f"sets) and unzip it into {data_dir / 'uea' / name}, or pass data_dir / "
        "set SKEEG_DATA to the folder that holds it."
    )


def _read_sfreq(path):
    """``"sfreq"`` of a ``<name>.json`` sidecar, None when there is none."""
    if not path.is_file():
        return None
    try:
        meta = json.loads(read_text(path))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge ints, deep nesting
        raise ValueError(f"{path} is not valid JSON ({type(exc).__name__}: {exc}).") from None
    if not isinstance(meta, dict):
        raise ValueError(
            f"{path} must hold a JSON object such as {{\"sfreq\": 256}}, got a "
            f"{type(meta).__name__}."
        )
    sfreq = meta.get("sfreq")
    if sfreq is None:
        return None
    # bool is a subclass of int: "sfreq": true is not a rate.
    if not isinstance(sfreq, (int, float)) or isinstance(sfreq, bool):
        raise ValueError(
            f"{path}: \"sfreq\" must be a number of Hz such as 256, got "
            f"{_short(sfreq)} ({type(sfreq).__name__}); fix or delete the file."
        )
    if not math.isfinite(sfreq) or sfreq <= 0:
        raise ValueError(
            f"{path}: \"sfreq\" must be a positive, finite number of Hz, got {sfreq!r}; "
            "fix or delete the file."
        )
    return float(sfreq)


def _short(value, limit=60):
    text = repr(value) if not isinstance(value, (list, dict)) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_ts(path):
    """Parse one ``.ts`` file into (X, y, classes, header comments)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found. It is part of the UEA/UCR time-series "
            f"classification archive ({ARCHIVE_URL}); download the data set "
            "and unzip it next to the other file of the split."
        )
    lines = split_lines(read_text(path))
    header = {}
    comments = []
    notes = []  # header lines the data overrule, for one warning per file
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
            notes.append(f"line {line_no}: unknown header keyword {key!r} ignored")
            continue
        header[key] = (value[0].strip() if value else "", line_no)
        if key == "@data":
            break
    else:
        raise ValueError(f"{path}, line {line_no}: end of file reached without an @data line.")
    declared, classes = _check_header(path, header, notes)

    trials, labels = [], []
    n_channels = n_times = first_line = None  # the first trial fixes the shape
    for line_no, line in enumerate(lines[line_no:], start=line_no + 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        *dims, label = text.split(":")
        label = label.strip()
        if not dims or not label or ("," in label and label not in classes):
            raise ValueError(f"{path}, line {line_no}: missing class label.")
        lengths = [dim.count(",") + 1 for dim in dims]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"{path}, line {line_no}: dimensions of unequal length "
                f"{lengths}; only equal-length series are supported."
            )
        if n_channels is None:
            n_channels, n_times, first_line = len(dims), lengths[0], line_no
        elif len(dims) != n_channels:
            raise ValueError(
                f"{path}, line {line_no}: found {len(dims)} dimension(s), expected "
                f"{n_channels} as in the first trial (line {first_line})."
            )
        elif lengths[0] != n_times:
            raise ValueError(
                f"{path}, line {line_no}: series of length {lengths[0]}, expected "
                f"{n_times} as in the first trial (line {first_line}); the trials "
                "must all have the same length to form one array."
            )
        if label not in classes:
            raise ValueError(
                f"{path}, line {line_no}: label {label!r} is not in the "
                f"@classLabel list {classes}."
            )
        trials.append(_parse_values(path, line_no, dims))
        labels.append(label)
    if not trials:
        raise ValueError(f"{path}, line {line_no}: no trials after the @data line.")

    found = {"@dimensions": n_channels, "@serieslength": n_times}
    for key, (value, key_line, label) in declared.items():
        if value != found[key]:
            what = "dimensions" if key == "@dimensions" else "samples per series"
            notes.append(
                f"line {key_line}: {label} says {value} but every trial has {found[key]} "
                f"{what}; the data's {found[key]} are used"
            )
    if notes:
        warnings.warn(
            f"{path}: the header disagrees with the data or cannot be used: "
            + "; ".join(notes)
            + ". The file was read as its data say (as aeon and sktime read it).",
            UserWarning,
            stacklevel=3,
        )
    X = np.stack(trials)  # each trial already float32 and (n_channels, n_times)
    return X, np.array(labels, dtype=str), np.array(classes, dtype=str), "\n".join(comments)


def _check_header(path, header, notes):
    """Validate the header; return ({key: (declared, line, label)}, classes).

    Only what changes how the data are read is refused; header lines that
    merely describe the data are checked against them later.
    """

    def flag(key):
        if key not in header:
            return None, None
        value, line_no = header[key]
        if value.lower() not in ("true", "false"):
            notes.append(f"line {line_no}: {key} {value!r} is not true or false, ignored")
            return None, line_no
        return value.lower() == "true", line_no

    def integer(key):
        if key not in header:
            return None
        value, line_no = header[key]
        if not value.isdigit() or int(value) < 1:
            notes.append(f"line {line_no}: {key} {value!r} is not a positive integer, ignored")
            return None
        return int(value), line_no

    time_stamps, line_no = flag("@timestamps")
    if time_stamps:
        raise ValueError(f"{path}, line {line_no}: files with time stamps are not supported.")
    target, line_no = flag("@targetlabel")
    if target:
        raise ValueError(
            f"{path}, line {line_no}: @targetLabel true marks a regression file; only "
            "classification files (@classLabel true ...) are supported."
        )
    flag("@missing")
    flag("@equallength")  # the data show whether the lengths are equal
    declared = {}
    univariate, line_no = flag("@univariate")
    dimensions = integer("@dimensions")
    if univariate:
        declared["@dimensions"] = (1, line_no, "@univariate true")
    elif dimensions is not None:
        declared["@dimensions"] = (*dimensions, "@dimensions")
    series_length = integer("@serieslength")
    if series_length is not None:
        declared["@serieslength"] = (*series_length, "@seriesLength")

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
    if len(set(classes)) != len(classes):
        notes.append(f"line {line_no}: repeated class labels in @classLabel dropped")
        classes = list(dict.fromkeys(classes))
    return declared, classes


def _parse_values(path, line_no, dims):
    """One trial as float32 (n_channels, n_times), refusing what float32 cannot hold."""
    tokens = ",".join(dims).split(",")
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        values = np.array([_to_float(token) for token in tokens])
    n_times = len(tokens) // len(dims)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = bad[0]
        token = tokens[i].strip()
        problem = "missing value '?'" if token == "?" else f"invalid value {token!r}"
        raise ValueError(
            f"{path}, line {line_no}: {problem} at dimension {i // n_times + 1}, "
            f"sample {i % n_times + 1}; only complete, finite numeric data are supported."
        )
    big = np.flatnonzero(np.abs(values) > FLOAT32_MAX)
    if big.size:
        i = big[0]
        raise ValueError(
            f"{path}, line {line_no}: value {tokens[i].strip()!r} at dimension "
            f"{i // n_times + 1}, sample {i % n_times + 1} is beyond the float32 range "
            "(about 3.4e38) that the trials are returned in; the file is damaged."
        )
    return values.astype(np.float32).reshape(len(dims), n_times)


def _to_float(token):
    try:
        return float(token)
    except ValueError:
        return np.nan
