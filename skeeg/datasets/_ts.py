"""Reader of the UEA/UCR archive's ``.ts`` text format (labelled, equal-length series).

Used by :func:`skeeg.datasets.load_uea` and by the download's checks.
"""

import warnings

import numpy as np

from ._base import FLOAT32_MAX, is_regular_file, read_text, split_lines

ARCHIVE_URL = "https://www.timeseriesclassification.com"

# Keywords are matched lower-cased; messages use the archive's spelling.
_HEADER_KEYS = {
    key.lower(): key
    for key in (
        "@problemName",
        "@timeStamps",
        "@missing",
        "@univariate",
        "@dimensions",
        "@equalLength",
        "@seriesLength",
        "@classLabel",
        "@targetLabel",
        "@data",
    )
}


def read_ts(path):
    """Parse one ``.ts`` file into (X, y, classes, header comments).

    The header's ``@dimensions``, ``@seriesLength``, ``@univariate``,
    ``@equalLength`` and ``@classLabel`` lines must agree with the trials
    read; the array is sized from the trials, never from the header.

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path``.
    ValueError
        If ``path`` is not a regular file, is malformed, or its header
        contradicts its data; the message names the file, the line and the
        header field.
    """
    if not is_regular_file(path):
        raise FileNotFoundError(
            f"{path} not found. It is part of the UEA/UCR time-series "
            f"classification archive ({ARCHIVE_URL}); download the data set "
            "and unzip it next to the other file of the split."
        )
    lines = split_lines(read_text(path))
    header = {}
    comments = []
    notes = []  # header lines that cannot be used, for one warning per file
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
        if key in header:
            # Two answers to one question: which one the writer meant cannot be told.
            raise ValueError(
                f"{path}, line {line_no}: a second {_HEADER_KEYS[key]} line (the first is line "
                f"{header[key][1]}); each header keyword may appear once."
            )
        header[key] = (value[0].strip() if value else "", line_no)
        if key == "@data":
            break
    else:
        raise ValueError(f"{path}, line {line_no}: end of file reached without an @data line.")
    declared, classes, class_line = _check_header(path, header, notes)

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
            # The later trials must match this one, so checking it checks them all.
            _check_shape(path, declared, n_channels, n_times, first_line)
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

    unused = [label for label in classes if label not in set(labels)]
    if unused:
        raise ValueError(
            f"{path}, line {class_line}: @classLabel lists {classes} but no trial has "
            f"the label(s) {unused}; the header contradicts the data, so the file is "
            "damaged or was edited."
        )
    if notes:
        warnings.warn(
            f"{path}: header lines that cannot be used: " + "; ".join(notes) + ".",
            UserWarning,
            stacklevel=3,
        )
    X = np.stack(trials)  # each trial already float32 and (n_channels, n_times)
    return X, np.array(labels, dtype=str), np.array(classes, dtype=str), "\n".join(comments)


def _check_shape(path, declared, n_channels, n_times, first_line):
    """Refuse a header whose shape lines contradict the first trial.

    A header that says other than the data is a damaged or edited file:
    which of the two is right cannot be told, so neither is guessed.
    """
    found = {
        "@dimensions": (n_channels, f"{n_channels} dimension(s)"),
        "@univariate": (n_channels == 1, f"{n_channels} dimension(s)"),
        "@serieslength": (n_times, f"series of {n_times} samples"),
        "@equallength": (True, f"series of one length, {n_times}"),
    }
    for key, (value, line_no, label) in declared.items():
        if value != found[key][0]:
            raise ValueError(
                f"{path}, line {line_no}: the header says {label} but the trials hold "
                f"{found[key][1]} (the first trial, line {first_line}, and every trial "
                "must match it); the header contradicts the data, so the file is damaged "
                "or was edited. Fix that header line or get a fresh copy of the file."
            )


def _check_header(path, header, notes):
    """Validate the header; return ({key: (declared, line, label)}, classes, line).

    What changes how the data are read is refused here; the lines that
    describe the data (``@dimensions``, ``@seriesLength``, ``@univariate``,
    ``@equalLength``) must be well formed, and are checked against the data
    once they are read.
    """

    def flag(key, checked=False):
        if key not in header:
            return None, None
        value, line_no = header[key]
        if value.lower() not in ("true", "false"):
            if checked:  # it describes the data: an unreadable value cannot be checked
                raise ValueError(
                    f"{path}, line {line_no}: {_HEADER_KEYS[key]} must be true or false, "
                    f"got {value!r}."
                )
            notes.append(
                f"line {line_no}: {_HEADER_KEYS[key]} {value!r} is not true or false, ignored"
            )
            return None, line_no
        return value.lower() == "true", line_no

    def integer(key):
        if key not in header:
            return None
        value, line_no = header[key]
        # isdecimal, not isdigit: superscript digits pass isdigit but not int().
        if not value.isdecimal() or int(value) < 1:
            raise ValueError(
                f"{path}, line {line_no}: {_HEADER_KEYS[key]} must be a positive integer, "
                f"got {value!r}."
            )
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
    declared = {}
    # Only equal-length files are read, so "@equalLength false" contradicts any data.
    for key in ("@univariate", "@equallength"):
        value, line_no = flag(key, checked=True)
        if value is not None:
            declared[key] = (value, line_no, f"{_HEADER_KEYS[key]} {str(value).lower()}")
    for key in ("@dimensions", "@serieslength"):
        value = integer(key)
        if value is not None:
            declared[key] = (*value, f"{_HEADER_KEYS[key]} {value[0]}")

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
    return declared, classes, line_no


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
