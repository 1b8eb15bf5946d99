"""Loader for BCI Competition III data set IIIb (two-class motor imagery)."""

import warnings

import numpy as np
from sklearn.utils import Bunch

from ._base import (
    first_beyond_float32,
    get_data_dir,
    git_blob_id,
    is_regular_file,
    read_bytes,
    read_npz,
)

SUBJECTS = ("S4b", "X11b")
N_TIMES = 750
CH_NAMES = ["C3", "C4"]
SFREQ = 125.0
UNIT = "uV"

# The genuine files hold a few hundred trials each; a file declaring more
# than this is refused before its arrays are allocated (float64: 120 MB).
MAX_TRIALS = 10_000

# ``git hash-object`` of the genuine course files.
BLOB_IDS = {
    "S4b_train.npz": "a5c0b401ea28c8bb723f3912fcabcc61a56a021e",
    "S4b_test.npz": "60406fc64b256bdef23d40cb8f1b69a427d65c13",
    "X11b_train.npz": "a5f55532d3212c83d80ffe56ea9fb6ede7b64537",
    "X11b_test.npz": "d9a2fc3e965638fe8b6dd8be0868a928b179ff2e",
}

DESCR = """\
BCI Competition III, data set IIIb: cued two-class motor imagery (left vs
right hand) with online feedback, recorded at the Graz University of
Technology. Two bipolar EEG channels over the left (C3) and right (C4)
sensorimotor cortex, sampled at 125 Hz. Each trial holds 750 samples (6 s).
This loader reads subjects S4b and X11b from the trial-segmented course files
S4b_train.npz, S4b_test.npz, X11b_train.npz and X11b_test.npz. Labels: 1 = left
hand, 2 = right hand. Missing samples of the recordings are filled by linear
interpolation (see the loader's Notes).
"""


def load_bci_iiib(data_dir=None):
    """Load BCI Competition III data set IIIb (subjects S4b and X11b).

    Reads the trial-segmented course files ``S4b_train.npz``,
    ``X11b_train.npz``, ``S4b_test.npz`` and ``X11b_test.npz``. The two
    subjects are stacked, train and test kept apart.

    Parameters
    ----------
    data_dir : str or path-like, default=None
        Folder holding the four files, either directly or in a
        ``bci_iiib`` sub-folder (looked up first). When None,
        :func:`get_data_dir` decides the folder (``SKEEG_DATA`` environment
        variable, else ``~/skeeg_data``).

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (n_train, 2, 750), float32
            Training trials in microvolts (see Notes), channel-major
            (channels C3, C4), C-contiguous.
        y_train : ndarray of shape (n_train,), int
            Training labels: 1 = left hand, 2 = right hand.
        X_test : ndarray of shape (n_test, 2, 750), float32
            Test trials.
        y_test : ndarray of shape (n_test,), int
            Test labels, coded as ``y_train``.
        subject_train, subject_test : ndarray of str
            Subject of each trial, ``"S4b"`` or ``"X11b"``.
        target_names : list of str
            ``["left", "right"]``, the meaning of labels 1 and 2.
        sfreq : float
            Sampling frequency, 125.0 Hz.
        ch_names : list of str
            ``["C3", "C4"]``.
        unit : str
            ``"uV"``: the unit of ``X_train`` and ``X_test``, microvolts.
        n_filled : dict of str to int
            For each file name, the number of missing (NaN) samples that
            were filled.
        DESCR : str
            Description of the data set.

    Raises
    ------
    FileNotFoundError
        If one of the four files is missing.
    ValueError
        If one of the four paths is a folder, FIFO or device instead of a
        regular file, or larger than any course file can be. If a file is
        not a valid ``.npz`` archive of this data set (the
        message names the file and the problem): damaged, a single ``.npy``
        array, an array that declares more trials than ``MAX_TRIALS``
        (10,000) or more bytes than the file holds, a member that would
        inflate more than 20 times (zip bomb), object arrays, no trials,
        labels other than 1 and 2, infinite values or values beyond the
        float32 range, or a trial whose channel has no valid sample.

    Warns
    -----
    UserWarning
        If a file's git blob id differs from the genuine file's; loading
        goes on.

    Notes
    -----
    Each file holds an array ``signal`` of shape (n_trials, 750, 2),
    time-major, and ``label`` of shape (n_trials,) or (n_trials, 1) with
    values 1 (left hand) and 2 (right hand). The signal is transposed to
    channel-major order. The recordings contain missing samples (NaN).
    Within each trial and channel they are filled by linear interpolation
    between the nearest valid samples; leading and trailing gaps take the
    nearest valid value. A trial whose channel has no valid sample at all
    raises a ValueError.

    Values are returned unscaled. The BCI Competition III IIIb recordings
    are in microvolts; the course files state no unit, and skeeg cannot
    check their scaling against the originals (the files are not
    redistributable), so ``unit="uV"`` assumes the course kept it.

    Loading never executes code stored in a file: object arrays are refused
    without unpickling. Every size a file declares is checked against
    ``MAX_TRIALS`` and the file's real size before memory is allocated.
    Each file's git blob id (``git hash-object``) is compared with that of
    the genuine course file.

    References
    ----------
    .. [1] B. Blankertz, K.-R. Müller, D. J. Krusienski, G. Schalk,
       J. R. Wolpaw, A. Schlögl, G. Pfurtscheller, J. del R. Millán,
       M. Schröder and N. Birbaumer, "The BCI Competition III: validating
       alternative approaches to actual BCI problems", IEEE Transactions on
       Neural Systems and Rehabilitation Engineering, 14(2), 153-159, 2006.
    .. [2] https://www.bbci.de/competition/iii/

    Examples
    --------
    >>> from skeeg.datasets import load_bci_iiib
    >>> data = load_bci_iiib()  # doctest: +SKIP
    >>> data.X_train.shape[1:]  # doctest: +SKIP
    (2, 750)
    """
    data_dir = get_data_dir(data_dir)
    trials = {"train": [], "test": []}
    n_filled = {}
    for split, parts in trials.items():
        for subject in SUBJECTS:
            fname = f"{subject}_{split}.npz"
            X, y, n_filled[fname] = _read_file(_find_file(data_dir, fname))
            parts.append((X, y, np.full(len(y), subject)))
    X_train, y_train, s_train = (np.concatenate(a) for a in zip(*trials["train"]))
    X_test, y_test, s_test = (np.concatenate(a) for a in zip(*trials["test"]))
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        subject_train=s_train,
        subject_test=s_test,
        target_names=["left", "right"],
        sfreq=SFREQ,
        ch_names=list(CH_NAMES),
        unit=UNIT,
        n_filled=n_filled,
        DESCR=DESCR,
    )


def _find_file(data_dir, fname):
    candidates = [data_dir / "bci_iiib" / fname, data_dir / fname]
    for path in candidates:
        if is_regular_file(path):  # a folder or FIFO of that name is refused by name
            return path
    raise FileNotFoundError(
        f"BCI Competition III IIIb file {fname} not found; looked for "
        f"{candidates[0]} and {candidates[1]}. These files cannot be "
        "downloaded by skeeg: put your copies of S4b_train.npz, S4b_test.npz, "
        f"X11b_train.npz and X11b_test.npz in {candidates[0].parent}, or pass "
        "data_dir / set SKEEG_DATA to the folder that holds them."
    )


def _read_file(path):
    """Return (X channel-major float32, y int, number of filled samples)."""
    max_bytes = MAX_TRIALS * N_TIMES * len(CH_NAMES) * 8  # float64 trials
    # The file holds that array and the labels, stored or deflated, with zip
    # overhead: twice as much and 1 MiB bound it, checked before it is read.
    content = read_bytes(path, 2 * max_bytes + (1 << 20), "BCI Competition III IIIb course file")
    found = git_blob_id(content)
    expected = BLOB_IDS[path.name]
    if found != expected:
        warnings.warn(
            f"{path}: git blob id {found} differs from the genuine file's "
            f"{expected}; the file may be modified or truncated. Loading it anyway.",
            UserWarning,
            stacklevel=3,
        )
    arrays = read_npz(path, content, ("signal", "label"), max_bytes)
    signal, label = arrays["signal"], arrays["label"]

    n = len(signal) if signal.ndim else 0
    if signal.shape != (n, N_TIMES, len(CH_NAMES)) or signal.dtype.kind not in "iuf":
        raise ValueError(
            f"{path}: 'signal' must be a real-valued array of shape (n_trials, "
            f"{N_TIMES}, {len(CH_NAMES)}), got {signal.dtype} of shape {signal.shape}."
        )
    if n == 0:
        raise ValueError(f"{path}: 'signal' holds no trials; the file is empty or damaged.")
    if n > MAX_TRIALS:
        raise ValueError(
            f"{path}: 'signal' holds {n} trials, more than the {MAX_TRIALS} that a "
            "file of this data set can have; the file is not a course file."
        )
    if label.shape not in ((n,), (n, 1)) or label.dtype.kind not in "iuf":
        raise ValueError(
            f"{path}: 'label' must be a numeric array of shape ({n},) or ({n}, 1) "
            f"to match 'signal', got {label.dtype} of shape {label.shape}."
        )
    label = label.reshape(n)
    if not np.isin(label, (1, 2)).all():
        bad = np.unique(label[~np.isin(label, (1, 2))])
        raise ValueError(f"{path}: labels must be 1 (left) or 2 (right), found {bad[:10]}.")
    where = first_beyond_float32(signal)
    if where is not None:
        trial, sample, channel = where
        raise ValueError(
            f"{path}: trial {trial} (0-based), channel {CH_NAMES[channel]}, sample "
            f"{sample} holds {signal[where]:g}, beyond the float32 range (about "
            "3.4e38) that the trials are returned in; the file is damaged."
        )

    X = np.ascontiguousarray(signal.transpose(0, 2, 1), dtype=np.float64)
    n_filled = _fill_missing(X, path)
    return X.astype(np.float32), label.astype(int), n_filled


def _fill_missing(X, path):
    """Interpolate NaN in place along time; return how many were filled."""
    missing = np.isnan(X)
    infinite = np.isinf(X)
    if infinite.any():
        trial, channel, sample = np.unravel_index(int(np.argmax(infinite)), X.shape)
        raise ValueError(
            f"{path}: 'signal' contains infinite values (first at trial {trial} "
            f"(0-based), channel {CH_NAMES[channel]}, sample {sample}); the file is "
            "damaged."
        )
    times = np.arange(X.shape[-1])
    for trial, channel in zip(*np.nonzero(missing.any(axis=-1))):
        row, gaps = X[trial, channel], missing[trial, channel]
        if gaps.all():
            raise ValueError(
                f"{path}: trial {trial} (0-based), channel {CH_NAMES[channel]} "
                "has no valid sample, so it cannot be interpolated."
            )
        # np.interp holds the end values constant outside the valid range.
        row[gaps] = np.interp(times[gaps], times[~gaps], row[~gaps])
    return int(missing.sum())
