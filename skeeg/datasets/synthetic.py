"""Synthetic motor-imagery EEG generator."""

import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._constraints import SFREQ_RANGE

# Electrodes in the order they are used: the first ones carry the mu rhythm
# of the limbs (class 0 = left hand -> C4, class 1 = right hand -> C3,
# class 2 = feet -> Cz, further classes -> further channels).
_MONTAGE = [
    "C4", "C3", "Cz", "C6", "C5", "C2", "C1", "CP4", "CP3", "CPz", "FC4", "FC3",
    "FCz", "CP6", "CP5", "FC6", "FC5", "Pz", "Fz", "P4", "P3", "F4", "F3", "Oz",
]  # fmt: skip

MU_BAND = (8.0, 13.0)
MAX_SNR = 1e6  # beyond, the rhythm's float64 arithmetic overflows toward infinity
MAX_SAMPLES = 2**30  # samples of one call: 8 GiB in float64
ERD = 0.5  # fraction of mu amplitude lost over the contralateral motor cortex
AMPLITUDE_JITTER = 0.3  # log-normal spread of the mu amplitude across trials
# Between-subject differences (n_subjects > 1), see make_motor_imagery's Notes.
SUBJECT_MIXING = 0.3  # scale of the random part of each subject's mixing matrix
SUBJECT_GAIN = 0.3  # log-normal spread of a subject's overall gain
CHANNEL_GAIN = 0.3  # log-normal spread of a subject's per-electrode gains
SUBJECT_NOISE = (0.1, 0.5)  # range of a subject's sensor-noise standard deviation
UNIT = "a.u."  # arbitrary units: the simulation has no physical scale


def make_motor_imagery(
    n_trials=200,
    n_channels=8,
    n_times=500,
    sfreq=125.0,
    n_classes=2,
    snr=1.0,
    random_state=None,
    n_subjects=1,
):
    """Generate a SYNTHETIC motor-imagery EEG data set.

    The data are simulated, not recorded. Every channel carries background
    activity with a 1/f ("pink") spectrum. The first ``max(2, n_classes)``
    channels, over the motor cortex, also carry a mu rhythm (8-13 Hz). In
    each trial the imagined movement of class ``k`` desynchronises the mu
    rhythm over one channel (event-related desynchronisation, ERD): class 0
    (left hand) attenuates it on ``"C4"`` (right hemisphere), class 1 (right
    hand) on ``"C3"`` (left hemisphere), class 2 (feet) on ``"Cz"``, and
    further classes on further channels. With ``n_subjects > 1`` the trials
    come from several simulated subjects, each with its own mixing of the
    sources into electrodes, gains and sensor noise (see Notes), for
    cross-subject studies.

    Parameters
    ----------
    n_trials : int, default=200
        Number of trials, split as evenly as possible among the classes.
    n_channels : int, default=8
        Number of channels, at least ``max(2, n_classes)``.
    n_times : int, default=500
        Number of samples per trial.
    sfreq : float, default=125.0
        Sampling frequency in Hz; above 26 Hz so that the mu band lies
        below the Nyquist frequency.
    n_classes : int, default=2
        Number of classes, at least 2.
    snr : float, default=1.0
        Ratio of the standard deviation of the mu rhythm (before the ERD) to
        that of the background on the motor channels. Larger is easier.
    random_state : int, RandomState instance or None, default=None
        Seed or generator, as in scikit-learn; the same seed gives the same
        data.
    n_subjects : int, default=1
        Number of simulated subjects, at most ``n_trials``. The trials are
        split as evenly as possible among them, in consecutive blocks
        (subject 0 first), and each subject's trials as evenly as possible
        among the classes. With 1 (the default) there is no between-subject
        variation, and the data are those that earlier versions gave for the
        same ``random_state``.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the following attributes.

        X : ndarray of shape (n_trials, n_channels, n_times), float32
            Simulated trials, in arbitrary units (``unit``); the background
            has unit variance before the subject effects.
        y : ndarray of shape (n_trials,), int
            Class of each trial, from 0 to ``n_classes - 1``, shuffled
            within each subject.
        subject : ndarray of shape (n_trials,), int
            Subject of each trial, from 0 to ``n_subjects - 1``, in
            consecutive blocks; all 0 for one subject. Use it as ``groups``
            (e.g. with :class:`sklearn.model_selection.LeaveOneGroupOut` or
            :class:`skeeg.preprocessing.EuclideanAlignment`).
        unit : str
            ``"a.u."``: arbitrary units. The simulation has no physical
            scale: its background has unit variance, where real EEG has
            amplitudes of tens of microvolts.
        sfreq : float
            Sampling frequency in Hz.
        ch_names : list of str
            Channel names.
        DESCR : str
            Description of the simulation.

    Notes
    -----
    The background of each trial and channel is Gaussian noise whose power
    spectrum falls as 1/f, scaled to unit variance. The mu rhythm is
    Gaussian noise restricted to 8-13 Hz, so its phase and envelope vary
    from trial to trial; its amplitude also varies log-normally across
    trials (standard deviation 0.3 in log units). The ERD multiplies the
    mu amplitude of the class's channel by 0.5. With one subject, channels
    are independent: there is no volume conduction, artefact or
    non-stationarity, so real EEG is much harder to classify.

    **Subjects.** With ``n_subjects > 1``, the signals above are the
    sources of every subject, who records them through their own
    electrodes: subject ``s`` gets ``x = g_s D_s A_s z + e_s``, where ``z``
    are the simulated channel signals, ``A_s = I + 0.3 E_s`` mixes them
    (volume conduction and electrode placement; ``E_s`` has independent
    normal entries of variance ``1 / n_channels``), ``D_s`` is a diagonal
    matrix of per-electrode gains and ``g_s`` an overall gain (both
    log-normal, standard deviation 0.3 in log units: impedance, skull and
    scalp), and ``e_s`` is white sensor noise whose standard deviation is
    drawn uniformly in [0.1, 0.5] per subject. A classifier trained on some
    subjects therefore meets shifted and mixed features on another; the
    class effect (the ERD) is the same for all. The subjects' parameters and
    noise are drawn after the signals, from the same generator.

    With the defaults, the log-variance of each channel followed by linear
    discriminant analysis reaches 85-92 % accuracy in 5-fold
    cross-validation (88 % on average over seeds; about 77 % with
    ``n_classes=3``).

    References
    ----------
    .. [1] G. Pfurtscheller and F. H. Lopes da Silva, "Event-related EEG/MEG
       synchronization and desynchronization: basic principles", Clinical
       Neurophysiology, 110(11), 1842-1857, 1999.

    Examples
    --------
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=20, random_state=0)
    >>> data.X.shape
    (20, 8, 500)
    >>> data.ch_names[:2]
    ['C4', 'C3']
    >>> make_motor_imagery(n_trials=6, n_subjects=3, random_state=0).subject
    array([0, 0, 1, 1, 2, 2])
    """
    n_trials = _check_int(n_trials, "n_trials", 1)
    n_subjects = _check_int(n_subjects, "n_subjects", 1)
    if n_subjects > n_trials:
        raise ValueError(
            f"n_subjects={n_subjects} is more than n_trials={n_trials}: every "
            "subject needs at least one trial."
        )
    n_classes = _check_int(n_classes, "n_classes", 2)
    n_channels = _check_int(n_channels, "n_channels", max(2, n_classes))
    n_times = _check_int(n_times, "n_times", 2)
    if n_trials < n_classes:
        raise ValueError(f"n_trials={n_trials} cannot hold n_classes={n_classes} classes: give "
                         "at least one trial per class.")
    if n_trials * n_channels * n_times > MAX_SAMPLES:
        raise ValueError(
            f"n_trials x n_channels x n_times = {n_trials * n_channels * n_times:.3g} samples "
            f"is more than the {MAX_SAMPLES:.3g} (8 GiB in float64) this generator makes; ask "
            "for fewer trials, channels or samples."
        )
    if (not isinstance(sfreq, numbers.Real) or isinstance(sfreq, bool)
            or not 2 * MU_BAND[1] < sfreq <= SFREQ_RANGE[1]):
        raise ValueError(f"sfreq must be a number above {2 * MU_BAND[1]} Hz and at most "
                         f"{SFREQ_RANGE[1]:g} Hz, got {sfreq!r}.")
    if not isinstance(snr, numbers.Real) or isinstance(snr, bool) or not 0 < snr <= MAX_SNR:
        raise ValueError(f"snr must be a number in (0, {MAX_SNR:g}] (the rhythm's amplitude "
                         f"over the background's), got {snr!r}.")
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    in_band = (freqs >= MU_BAND[0]) & (freqs <= MU_BAND[1])
    if not in_band.any():
        raise ValueError(
            f"n_times={n_times} samples at {sfreq} Hz are too short to hold a "
            f"{MU_BAND[0]:g}-{MU_BAND[1]:g} Hz rhythm; use at least "
            f"{int(np.ceil(sfreq / (MU_BAND[1] - MU_BAND[0])))} samples."
        )
    rng = check_random_state(random_state)

    # Consecutive blocks of trials per subject, classes balanced within each;
    # one subject draws exactly what earlier versions drew.
    sizes = np.full(n_subjects, n_trials // n_subjects)
    sizes[: n_trials % n_subjects] += 1
    subject = np.repeat(np.arange(n_subjects), sizes)
    y = np.concatenate([rng.permutation(np.arange(size) % n_classes) for size in sizes])
    shape = (n_trials, n_channels, n_times)

    # 1/f power means 1/sqrt(f) amplitude; the DC bin is zeroed.
    pink_gain = np.zeros_like(freqs)
    pink_gain[1:] = 1.0 / np.sqrt(freqs[1:])
    X = _coloured_noise(rng, shape, pink_gain)

    n_motor = max(2, n_classes)
    mu = _coloured_noise(rng, (n_trials, n_motor, n_times), in_band.astype(float))
    amplitude = snr * np.exp(AMPLITUDE_JITTER * rng.standard_normal((n_trials, n_motor)))
    amplitude[np.arange(n_trials), y] *= 1.0 - ERD
    X[:, :n_motor] += amplitude[:, :, None] * mu
    if n_subjects > 1:
        _record_subjects(rng, X, sizes)

    ch_names = [
        _MONTAGE[i] if i < len(_MONTAGE) else f"EEG{i + 1:03d}" for i in range(n_channels)
    ]
    subjects = "" if n_subjects == 1 else (
        f" {n_subjects} subjects, each with its own source mixing, gains and sensor "
        "noise."
    )
    descr = (
        f"SYNTHETIC motor-imagery EEG (simulated, not recorded): {n_trials} trials, "
        f"{n_classes} classes, {n_channels} channels, {n_times} samples at {sfreq:g} Hz, "
        f"in arbitrary units.{subjects} "
        f"Pink background on every channel; {MU_BAND[0]:g}-{MU_BAND[1]:g} Hz mu rhythm "
        f"(snr={snr:g}) on {', '.join(ch_names[:n_motor])}, attenuated by {ERD:.0%} on "
        "the channel of the imagined limb (class 0 = left hand -> C4, class 1 = right "
        "hand -> C3, class 2 -> Cz, ...)."
    )
    return Bunch(
        X=np.ascontiguousarray(X, dtype=np.float32),
        y=y,
        subject=subject,
        unit=UNIT,
        sfreq=float(sfreq),
        ch_names=ch_names,
        DESCR=descr,
    )


def _record_subjects(rng, X, sizes):
    """Each subject's recording of the sources ``X``, in place.

    Subject ``s`` owns the next ``sizes[s]`` trials; its electrodes mix the
    sources, scale them by an overall and a per-electrode gain, and add
    white sensor noise of its own level.
    """
    n_channels = X.shape[1]
    stops = np.cumsum(sizes)
    for start, stop in zip(stops - sizes, stops):
        random_part = rng.standard_normal((n_channels, n_channels)) / np.sqrt(n_channels)
        mixing = np.eye(n_channels) + SUBJECT_MIXING * random_part
        gains = np.exp(
            SUBJECT_GAIN * rng.standard_normal() + CHANNEL_GAIN * rng.standard_normal(n_channels)
        )
        noise = rng.uniform(*SUBJECT_NOISE) * rng.standard_normal(X[start:stop].shape)
        X[start:stop] = (gains[:, None] * mixing) @ X[start:stop] + noise


def _coloured_noise(rng, shape, gain):
    """Gaussian noise shaped by ``gain`` in the frequency domain.

    Scaled to unit variance over the whole array, not per trial, so that the
    power of single trials fluctuates as that of real noise does.
    """
    spectrum = rng.standard_normal(shape[:-1] + (len(gain), 2)).view(complex)[..., 0]
    signal = np.fft.irfft(spectrum * gain, n=shape[-1], axis=-1)
    return signal / signal.std()


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)
