"""Loader for the EEG data sets of the UEA multivariate time-series archive."""

import json
import math
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._constraints import SFREQ_RANGE
from .._json import loads as json_loads
from ._base import get_data_dir, is_regular_file, read_text
from ._download import FACTS, download_uea, facts_differences
from ._ts import ARCHIVE_URL, read_ts

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
# absent (the archive's zip files carry no .json). A sidecar that says
# otherwise for these data sets is refused: their data are checked against
# FACTS, so the rate they were recorded at is known.
_SFREQ = {"SelfRegulationSCP1": 256.0, "FingerMovements": 100.0}

# A sidecar holds one number and a description a few kB; anything far larger
# is not the file it is named after, and is not read into memory.
_MAX_SIDECAR_BYTES = 1 << 20

# Unit of the values. SelfRegulationSCP1.txt states "All values are in µVolt".
# FingerMovements.txt states no unit: its values (sd 44, all within +-250, a
# NeuroScan amplifier with a 0.05 Hz high-pass) are microvolt-sized EEG, not
# volts (1e-5) nor raw counts.
_UNITS = {"SelfRegulationSCP1": "uV", "FingerMovements": "uV"}



def _shortest(rate):
    """A rate with every digit it has and none more (100.00001, not 100)."""
    return np.format_float_positional(float(rate), trim="-")

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
            Sampling frequency in Hz: for the two EEG sets, as stated in
            the archive's description (256.0 and 100.0; a ``<name>.json``
            may only repeat it); for other data sets from ``<name>.json``
            (key ``"sfreq"``), else None.
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
        and the problem. Also: a ``.ts``, ``.txt`` or ``.json`` path that
        is a folder, FIFO or device instead of a regular file; a header
        whose ``@dimensions``, ``@seriesLength``, ``@univariate``,
        ``@equalLength`` or ``@classLabel`` line contradicts the trials; a
        ``<name>.json`` whose ``"sfreq"`` is not a positive number, or that
        contradicts the rate skeeg keeps for SelfRegulationSCP1 and
        FingerMovements; a local copy of one of these two whose data differ
        from skeeg's facts (see Notes); and, with ``download=True``, a
        download that fails its checks (HTTP error, truncated or damaged
        archive, values that differ from skeeg's facts); nothing is then
        left in ``data_dir``.
    ConnectionError
        With ``download=True``, if the archive cannot be reached.

    Warns
    -----
    UserWarning
        If a file's header holds lines it cannot use (unknown keywords,
        ``@missing`` or ``@timeStamps`` values that are not true or false,
        a class repeated in ``@classLabel``).

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

    SelfRegulationSCP1 and FingerMovements are checked against the facts
    skeeg keeps of the archive's copies (shapes, class counts, labels in
    file order, mean and standard deviation of each split, class and
    channel means) whether downloaded or found locally; the check costs
    milliseconds. A copy that differs (relabelled, reordered or rescaled
    trials, for example) is refused rather than returned under the
    archive's name; to use a copy changed on purpose, rename its files
    (``<other>_TRAIN.ts``, ``<other>_TEST.ts``) and load it as ``<other>``.

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
        folder, parsed = download_uea(name, root)  # parsed to check it: not read twice

    X_train, y_train, classes, comments = parsed.get("TRAIN") or read_ts(
        folder / f"{name}_TRAIN.ts"
    )
    X_test, y_test, test_classes, _ = parsed.get("TEST") or read_ts(folder / f"{name}_TEST.ts")
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
    if is_regular_file(txt):
        descr = read_text(txt, _MAX_SIDECAR_BYTES, "data set description")
    else:
        descr = comments
    sfreq = _read_sfreq(folder / f"{name}.json")
    if name in _SFREQ and sfreq is not None and sfreq != _SFREQ[name]:
        raise ValueError(
            f"{folder / (name + '.json')}: \"sfreq\" says {_shortest(sfreq)} Hz but {name} "
            f"was recorded at {_shortest(_SFREQ[name])} Hz (the archive's description, as skeeg "
            "keeps it); fix or delete the file."
        )
    if name in FACTS and not parsed:  # a download was checked already
        differences = facts_differences(
            name, {"TRAIN": (X_train, y_train, classes, None),
                   "TEST": (X_test, y_test, test_classes, None)}
        )
        if differences:
            raise ValueError(
                f"The copy of {name} in {folder} does not match the archive's {name} as "
                f"skeeg knows it: {'; '.join(differences)}. Get a fresh copy (for example "
                f"load_uea({name!r}, data_dir=<an empty folder>, download=True)); to use "
                "a copy changed on purpose, rename its files (<other>_TRAIN.ts, "
                "<other>_TEST.ts) and load it under that name."
            )
    ch_names = _CH_NAMES.get(name)
    if ch_names is not None and len(ch_names) != X_train.shape[1]:
        ch_names = None
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
    """The first folder holding ``<name>_TRAIN.ts``, else None.

    Something that is not a regular file at that name is refused, not
    passed over: it would otherwise be reported as missing.
    """
    for folder in _candidates(name, data_dir):
        if is_regular_file(folder / f"{name}_TRAIN.ts"):
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
    if not is_regular_file(path):  # a folder or FIFO of that name is refused
        return None
    try:
        meta = json_loads(read_text(path, _MAX_SIDECAR_BYTES, "sampling-rate sidecar"))
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
    if not math.isfinite(sfreq) or not SFREQ_RANGE[0] <= sfreq <= SFREQ_RANGE[1]:
        raise ValueError(
            f"{path}: \"sfreq\" must be a sampling rate between {SFREQ_RANGE[0]:g} and "
            f"{SFREQ_RANGE[1]:g} Hz, got {sfreq!r}; fix or delete the file."
        )
    return float(sfreq)


def _short(value, limit=60):
    text = repr(value) if not isinstance(value, (list, dict)) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
