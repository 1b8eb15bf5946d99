"""Reader of the UEA/UCR archive's ``.ts`` text format (labelled, equal-length series).

Used by :func:`skeeg.datasets.load_uea` and by the download's checks.
"""

import warnings

import numpy as np

from ._base import FLOAT32_MAX, read_text, split_lines

ARCHIVE_URL = "https://www.timeseriesclassification.com"

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


def read_ts(path):
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
