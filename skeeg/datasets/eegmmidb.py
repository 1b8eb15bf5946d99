"""Loader for the PhysioNet EEG Motor Movement/Imagery data set, through MNE."""

import numbers
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import first_beyond_float32, get_data_dir, is_regular_file

# Meaning of the T1 / T2 cues for each kind of run (PhysioNet documentation).
_LEFT_RIGHT_RUNS = (3, 4, 7, 8, 11, 12)  # T1 = left fist, T2 = right fist
_FISTS_FEET_RUNS = (5, 6, 9, 10, 13, 14)  # T1 = both fists, T2 = both feet
_TARGETS = {
    "left_right": {"T1": "left fist", "T2": "right fist"},
    "fists_feet": {"T1": "both fists", "T2": "both feet"},
}

DESCR = """\
PhysioNet EEG Motor Movement/Imagery data set (EEGMMIDB), recorded with the
BCI2000 system: 109 subjects, 64 EEG channels of the 10-10 system, 160 Hz.
Each subject has 14 runs: 1 and 2 are baselines (eyes open / closed); in runs
3, 7, 11 the subject opens and closes the left or right fist (executed), in
4, 8, 12 imagines it; in runs 5, 9, 13 the subject moves both fists or both
feet, in 6, 10, 14 imagines it. Each run holds about 15 cues of 4.1 s.
Annotations: T0 = rest, T1 = left fist (runs 3, 4, 7, 8, 11, 12) or both
fists (runs 5, 6, 9, 10, 13, 14), T2 = right fist or both feet.
Licence: Open Data Commons Attribution License v1.0.
"""

#: Units ``load_eegmmidb`` can return, and their size in volts.
UNITS = {"uV": 1e-6, "V": 1.0}


def load_eegmmidb(
    subjects=(1,),
    runs=(4, 8, 12),
    data_dir=None,
    tmin=0.0,
    tmax=4.0,
    picks="eeg",
    verbose=False,
    units="uV",
    download=False,
    l_freq=None,
    h_freq=None,
):
    """Load epochs of the PhysioNet EEG Motor Movement/Imagery data set.

    Reads the EDF+ files with MNE-Python (with ``download=True``, fetching
    missing ones with :func:`mne.datasets.eegbci.load_data`), and cuts one
    epoch per T1 or T2 cue (the rest periods, T0, are left out).

    Parameters
    ----------
    subjects : int or sequence of int, default=(1,)
        Subjects to load, from 1 to 109. Integers only (``True`` is refused,
        not read as subject 1).
    runs : int or sequence of int, default=(4, 8, 12)
        Runs to load, from 3 to 14 (runs 1 and 2 are baselines without
        cues). The default runs are imagined left vs right fist movement.
    data_dir : str or path-like, default=None
        The data folder, found as by every skeeg loader: this argument, else
        the ``SKEEG_DATA`` environment variable, else ``~/skeeg_data``
        (:func:`get_data_dir`). It is passed as ``path`` to
        :func:`mne.datasets.eegbci.load_data`, so the files are read from
        ``<data_dir>/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf``
        and so on; with ``download=True`` MNE downloads the missing ones
        there from PhysioNet. MNE's own configuration
        (``MNE_DATASETS_EEGBCI_PATH``) is not used.
    tmin, tmax : float, default=0.0, 4.0
        Start and end of each epoch in seconds relative to the cue, both
        included; ``tmin < tmax``.
    picks : str, list or None, default="eeg"
        Channels to keep, as understood by :class:`mne.Epochs`.
    verbose : bool, str or int, default=False
        Verbosity of MNE.
    units : {"uV", "V"}, default="uV"
        Unit of ``X``: microvolts (the usual unit of EEG, and what skeeg's
        networks were tuned on) or volts (MNE's unit).
    download : bool, default=False
        Fetch missing files from PhysioNet (about 2.5 MB a run; internet
        needed). Without it a missing file raises ``FileNotFoundError``, as
        every skeeg loader does: nothing is fetched unless asked.
    l_freq, h_freq : float or None, default=None
        Band-pass (both), high-pass (``l_freq``) or low-pass (``h_freq``)
        edges in Hz, applied to each whole recording with MNE's default FIR
        filter (:meth:`mne.io.Raw.filter`) before the epochs are cut, so
        epochs have no filter edge effects. None for both (the default)
        leaves the recordings unfiltered, as stored (with their DC offsets
        and drifts). ``h_freq`` must be below the Nyquist frequency (80 Hz).

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the following attributes.

        X : ndarray of shape (n_epochs, n_channels, n_times), float32
            Epochs in ``units`` (microvolts by default), C-contiguous. With
            the defaults,
            ``n_channels=64`` and ``n_times=641`` (4 s at 160 Hz, both ends
            included).
        y : ndarray of shape (n_epochs,), str
            Cue of each epoch, ``"T1"`` or ``"T2"``.
        target_names : dict of str to str
            Meaning of ``"T1"`` and ``"T2"`` for the runs loaded; see Notes.
        run : ndarray of shape (n_epochs,), int
            Run of each epoch.
        subject : ndarray of shape (n_epochs,), int
            Subject of each epoch.
        sfreq : float
            Sampling frequency in Hz (160.0).
        ch_names : list of str
            Channel names, standardised by
            :func:`mne.datasets.eegbci.standardize` (for example ``"FC5"``).
        times : ndarray of shape (n_times,)
            Time of each sample relative to the cue, in seconds.
        unit : str
            The unit of ``X``, ``"uV"`` or ``"V"`` as ``units``.
        DESCR : str
            Description of the data set.

    Raises
    ------
    ImportError
        If MNE-Python is not installed.
    FileNotFoundError
        If files are missing and ``download`` is False (the message names
        them and where they are looked for).
    OSError
        If a download fails (no internet, PhysioNet unreachable); folders
        made for it are removed.
    ValueError
        If a subject or run is out of range or not an integer, ``units`` is
        not "uV" or "V", the files of the requested subjects differ in
        sampling rate or channels, or a file cannot be read: MNE's errors
        for a damaged EDF file are re-raised as a ValueError that names the
        file, as are a run without T1/T2 epochs and values beyond the
        float32 range. Also if a run's path is a folder, FIFO or device
        instead of a regular file.

    Warns
    -----
    RuntimeWarning
        MNE's warnings about a file (for example a header whose record
        count disagrees with the file's size), with the file's name added.

    Notes
    -----
    MNE-Python is an optional dependency: ``pip install skeeg[mne]``.

    T1 and T2 mean different things in different runs. In runs 3, 4, 7, 8,
    11 and 12, T1 is the left fist and T2 the right fist; in runs 5, 6, 9,
    10, 13 and 14, T1 is both fists and T2 both feet. Runs of both kinds
    may be loaded together; ``target_names`` then lists both meanings and
    ``run`` tells which applies to each epoch.

    ``units`` applies to EEG channels, the only data channels of EEGMMIDB;
    with other ``picks``, MNE's units of the other channel types are kept.

    Each run is epoched on its own, so no epoch spans two runs. No baseline
    correction or filtering is applied. Epochs that would extend beyond the
    end of a recording are dropped by MNE. Subjects 88, 92 and 100 were
    recorded at 128 Hz; loading them together with 160 Hz subjects raises a
    ValueError.

    References
    ----------
    .. [1] G. Schalk, D. J. McFarland, T. Hinterberger, N. Birbaumer and
       J. R. Wolpaw, "BCI2000: a general-purpose brain-computer interface
       (BCI) system", IEEE Transactions on Biomedical Engineering, 51(6),
       1034-1043, 2004.
    .. [2] A. L. Goldberger et al., "PhysioBank, PhysioToolkit, and
       PhysioNet: components of a new research resource for complex
       physiologic signals", Circulation, 101(23), e215-e220, 2000.
    .. [3] https://physionet.org/content/eegmmidb/1.0.0/

    Examples
    --------
    >>> from skeeg.datasets import load_eegmmidb
    >>> data = load_eegmmidb(subjects=1, runs=[4, 8, 12], download=True)  # doctest: +SKIP
    >>> data.X.shape  # doctest: +SKIP
    (45, 64, 641)
    """
    try:
        import mne
        from mne.datasets import eegbci
    except ImportError as exc:
        raise ImportError(
            "load_eegmmidb needs MNE-Python; install it with `pip install skeeg[mne]`."
        ) from exc

    subjects = _check_ints(subjects, "subjects", 1, 109)
    runs = _check_ints(runs, "runs", 3, 14)
    if not isinstance(units, str) or units not in UNITS:
        raise ValueError(
            f"units must be 'uV' (microvolts) or 'V' (volts), got {units!r}."
        )
    times_ok = all(
        isinstance(t, numbers.Real) and not isinstance(t, bool) and np.isfinite(t)
        for t in (tmin, tmax)
    )
    if not times_ok or not tmin < tmax:
        raise ValueError(
            f"tmin and tmax must be finite numbers of seconds with tmin < tmax, got "
            f"tmin={tmin!r}, tmax={tmax!r}."
        )
    for name, freq in (("l_freq", l_freq), ("h_freq", h_freq)):
        if freq is not None and not (
            isinstance(freq, numbers.Real) and not isinstance(freq, bool)
            and np.isfinite(freq) and freq > 0
        ):
            raise ValueError(f"{name} must be None or a positive number of Hz, got {freq!r}.")
    if l_freq is not None and h_freq is not None and not l_freq < h_freq:
        raise ValueError(
            f"l_freq must be below h_freq for a band-pass, got l_freq={l_freq}, h_freq={h_freq}."
        )
    if not isinstance(download, (bool, np.bool_)):
        raise ValueError(f"download must be True or False, got {download!r}.")
    path = str(get_data_dir(data_dir))
    # A folder or FIFO at a run's name is refused by name here: MNE would block
    # on a FIFO, and download=True must not write over it.
    missing = [str(f) for f in _expected_files(path, subjects, runs) if not is_regular_file(f)]
    if missing and not download:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4
                                          else "")
        raise FileNotFoundError(
            f"EEGMMIDB: {len(missing)} file(s) of the requested subjects and runs are not in "
            f"the data folder {path}: {shown}. Pass download=True to fetch them from PhysioNet "
            "(internet needed), or data_dir (or SKEEG_DATA) naming the folder that holds "
            "MNE-eegbci-data/."
        )
    if missing:
        _fetch(eegbci, subjects, runs, path, verbose)

    X, y, run_of, subject_of = [], [], [], []
    info = None
    for subject in subjects:
        for fname in _expected_files(path, [subject], runs):
            run = int(Path(fname).stem.split("R")[-1])  # files are named S001R04.edf
            epochs = _read_run(mne, eegbci, fname, tmin, tmax, picks, verbose,
                               (l_freq, h_freq))
            current = (epochs.info["sfreq"], epochs.ch_names)
            if info is None:
                info, times = current, epochs.times
            elif current != info:
                raise ValueError(
                    f"Subject {subject}, run {run} ({fname}) has sampling rate "
                    f"{current[0]} Hz and {len(current[1])} channels, but the "
                    f"first file loaded has {info[0]} Hz and {len(info[1])} "
                    "channels; load these subjects separately."
                )
            data = epochs.get_data(units=units)
            _check_values(data, fname, epochs.ch_names, units)
            codes = epochs.events[:, 2]
            X.append(data.astype(np.float32))
            y.append(np.where(codes == 1, "T1", "T2"))
            run_of.append(np.full(len(codes), run))
            subject_of.append(np.full(len(codes), subject))

    return Bunch(
        X=np.concatenate(X),
        y=np.concatenate(y),
        target_names=_target_names(runs),
        run=np.concatenate(run_of),
        subject=np.concatenate(subject_of),
        sfreq=float(info[0]),
        ch_names=list(info[1]),
        times=times,
        unit=units,
        DESCR=DESCR,
    )


def _read_run(mne, eegbci, fname, tmin, tmax, picks, verbose, band=(None, None)):
    """Epochs at the T1/T2 cues of one EDF+ file; any failure names the file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = mne.io.read_raw_edf(fname, preload=True, verbose=verbose)
            eegbci.standardize(raw)
            events, event_id = mne.events_from_annotations(
                raw, event_id={"T1": 1, "T2": 2}, verbose=verbose
            )
            if len(events) == 0:
                raise ValueError("no T1 or T2 annotation (cue) in the file")
        # MNE reports damaged EDF files with ValueError, AssertionError, bare
        # Exception and others, none naming the file: name it here.
        except Exception as exc:
            raise ValueError(
                f"{fname} cannot be read as an EEGMMIDB EDF+ recording "
                f"({type(exc).__name__}: {exc}). The file is damaged or truncated: "
                "delete it and load again, and MNE downloads it afresh."
            ) from exc
        if band != (None, None):
            try:
                raw.filter(*band, picks="eeg", verbose=verbose)
            except Exception as exc:  # the arguments, not the file (it was read)
                raise ValueError(
                    f"{fname}: cannot filter with l_freq={band[0]!r}, h_freq={band[1]!r} Hz "
                    f"at {raw.info['sfreq']} Hz ({type(exc).__name__}: {exc})."
                ) from exc
        try:
            epochs = mne.Epochs(
                raw,
                events,
                event_id=event_id,
                tmin=tmin,
                tmax=tmax,
                baseline=None,
                picks=picks,
                preload=True,
                verbose=verbose,
            )
        except Exception as exc:  # the arguments, not the file (it was read)
            raise ValueError(
                f"{fname}: cannot cut epochs from tmin={tmin!r} to tmax={tmax!r} s "
                f"with picks={picks!r} ({type(exc).__name__}: {exc})."
            ) from exc
        if len(epochs) == 0:
            raise ValueError(
                f"{fname}: every epoch from {tmin} to {tmax} s around a cue was "
                "dropped (it would reach beyond the recording); use a shorter window."
            )
    for warning in caught:  # MNE's warnings do not name the file either
        category = warning.category if issubclass(warning.category, Warning) else UserWarning
        warnings.warn(f"{fname}: {warning.message}", category, stacklevel=4)
    return epochs


def _check_values(data, fname, ch_names, units):
    bad = ~np.isfinite(data)
    if bad.any():
        epoch, channel, _ = np.unravel_index(int(np.argmax(bad)), data.shape)
        raise ValueError(
            f"{fname}: epoch {epoch}, channel {ch_names[channel]} holds non-finite "
            "values; the file's calibration (physical range in the EDF header) is "
            "damaged."
        )
    where = first_beyond_float32(data)
    if where is not None:
        epoch, channel, _ = where
        raise ValueError(
            f"{fname}: epoch {epoch}, channel {ch_names[channel]} holds {data[where]:g} "
            f"{units}, beyond the float32 range (about 3.4e38) that X is returned in; "
            "the file's calibration (physical range in the EDF header) is damaged."
        )


def _is_int(value):
    # bool is an Integral in Python; True must not silently mean subject 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_ints(values, name, low, high):
    """Return ``values`` as a list of ints within [low, high]."""
    message = f"{name} must be an integer or a sequence of integers from {low} to {high}"
    if _is_int(values):
        values = [values]
    elif isinstance(values, (str, bytes, bool, np.bool_)) or not np.iterable(values):
        raise ValueError(f"{message}, got {values!r}.")
    values = list(values)
    if not values or not all(_is_int(v) and low <= v <= high for v in values):
        raise ValueError(f"{message}, got {values!r}.")
    return list(dict.fromkeys(int(v) for v in values))  # drop repeats, keep order


def _target_names(runs):
    kinds = [
        "left_right" if run in _LEFT_RIGHT_RUNS else "fists_feet" for run in runs
    ]
    if len(set(kinds)) == 1:
        return dict(_TARGETS[kinds[0]])
    # Mixed kinds: T1 / T2 carry one meaning or the other depending on the run.
    left_right = ", ".join(map(str, _LEFT_RIGHT_RUNS))
    fists_feet = ", ".join(map(str, _FISTS_FEET_RUNS))
    return {
        key: f"{_TARGETS['left_right'][key]} in runs {left_right}; "
        f"{_TARGETS['fists_feet'][key]} in runs {fists_feet}"
        for key in ("T1", "T2")
    }


def _expected_files(path, subjects, runs):
    """Where MNE's eegbci stores each run of each subject under ``path``."""
    folder = Path(path) / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"
    return [folder / f"S{subject:03d}" / f"S{subject:03d}R{run:02d}.edf"
            for subject in subjects for run in runs]


def _fetch(eegbci, subjects, runs, path, verbose):
    """Download the runs with MNE; on failure remove the folders made for them."""
    root = Path(path) / "MNE-eegbci-data"
    before = {p for p in root.rglob("*")} if root.exists() else set()
    existed = root.exists()
    try:
        for subject in subjects:
            eegbci.load_data(subject, runs, path=path, update_path=False, verbose=verbose)
    except Exception as exc:
        made = [p for p in (root.rglob("*") if root.exists() else []) if p not in before]
        for folder in sorted((p for p in made if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not existed and root.exists() and not any(root.iterdir()):
            root.rmdir()
        raise OSError(
            f"EEGMMIDB: downloading subjects {list(subjects)}, runs {list(runs)} from PhysioNet "
            f"into {root} failed ({type(exc).__name__}: {str(exc)[:300]}). Check the internet "
            "connection, or copy the files there yourself."
        ) from exc
