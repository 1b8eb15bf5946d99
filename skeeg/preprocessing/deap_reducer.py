"""DEAPReducer: windowed summary statistics of every channel (Tripathi et al., DEAP)."""

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._input import epochs_to_array
from .._validation import check_float32_range, numeric_input
from .._constraints import IntRange
from ._common import CHUNK_SAMPLES, three_d_output_as_array

STAT_NAMES = (
    "mean",
    "median",
    "max",
    "min",
    "std",
    "var",
    "range",
    "skewness",
    "kurtosis",
)
_MEAN, _MEDIAN, _MAX, _MIN, _STD, _VAR, _RANGE, _SKEW, _KURT = range(len(STAT_NAMES))
_N_STATS = len(STAT_NAMES)

# A standard deviation at or below this fraction of the mean is rounding noise
# (a constant computed with an inexact mean): z-scoring then gives 0.
_RESOLUTION = np.finfo(np.float64).resolution
# Variance below which the fourth central moment underflows (std ~ 1e-77).
_FLAT_VAR = np.sqrt(np.finfo(np.float64).tiny)


@three_d_output_as_array
class DEAPReducer(TransformerMixin, BaseEstimator):
    """Reduce each EEG channel to windowed summary statistics.

    The feature extraction of Tripathi et al. [1]_ for the DEAP emotion
    data [2]_: every channel of a trial is split into ``n_windows``
    consecutive windows, and nine statistics are computed on each window and
    on the whole channel, giving ``9 * (n_windows + 1)`` values per channel
    (99 with the default 10 windows, 32 x 99 = 3168 per DEAP trial). The
    defaults follow the study.

    Parameters
    ----------
    n_windows : int, default=10
        Number of consecutive windows per channel. Windows have
        ``ceil(n_samples / n_windows)`` samples, the last one takes the
        remainder (8064 DEAP samples: nine windows of 807 and one of 801).
    zscore_trial : bool, default=True
        Z-score each trial over all its channels and samples before reducing.
    zscore_channels : bool, default=True
        After reducing, z-score the ``9 * (n_windows + 1)`` values of each
        channel.
    zscore_block : bool, default=True
        Then z-score the whole ``(n_channels, 9 * (n_windows + 1))`` block of
        each trial.
    flatten : bool, default=True
        Return ``(n_trials, n_channels * 9 * (n_windows + 1))`` if True,
        ``(n_trials, n_channels, 9 * (n_windows + 1))`` otherwise (the input
        layout of a convolutional network over channels).

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` of the data seen in :meth:`fit`: the number of channels
        for 3-D ``X``, the number of samples for 2-D ``X`` (as scikit-learn's
        ``validate_data`` counts it).
    n_channels_ : int
        Number of channels of the data seen in :meth:`fit` (1 for 2-D ``X``).
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Column names of a 2-D ``X`` given as a DataFrame with string columns.

    See Also
    --------
    skeeg.datasets.load_deap : Load the DEAP recordings this reducer was
        designed for.

    Notes
    -----
    **Input shape.** ``X`` is ``(n_trials, n_channels, n_samples)``. A 2-D
    ``X`` of shape ``(n_trials, n_features)`` is read as ONE channel of
    ``n_features`` samples, i.e. as ``X[:, np.newaxis, :]``; this keeps the
    transformer usable on ordinary tabular input (and lets scikit-learn's
    generic estimator checks run on it).

    **Input rule.** As the classifiers read it: a masked array is read when
    nothing is masked and refused otherwise; a torch tensor (any device,
    half and bfloat16 as float32, detached) as its values, a sparse or meta
    one refused; NaN, infinity and finite values beyond float32 (whose
    moments overflow) are refused with a ``ValueError``.

    **Layout.** For each channel, the window statistics come first (window 0's
    nine values, then window 1's, ...), then the nine whole-channel values.
    The nine statistics, in this order, are: mean, median, max, min, std,
    var, range (max - min), skewness and kurtosis. std and var use
    ``ddof=0``; skewness and kurtosis are those of :func:`scipy.stats.skew`
    and :func:`scipy.stats.kurtosis` with their defaults (biased estimators,
    Fisher's kurtosis, i.e. 0 for a normal distribution). With
    ``flatten=True`` channel ``c``'s block occupies columns
    ``c * 9 * (n_windows + 1)`` onwards; :meth:`get_feature_names_out` names
    every column.

    **Zero spread.** A window (or channel) whose values are all equal has
    std, var and range 0 and no defined skewness or kurtosis (scipy returns
    nan, or +-1 and -2 from rounding noise): both are set to 0, as they are
    when the variance is below 1e-154 and its powers would underflow.
    Z-scoring values whose standard deviation is zero, or below 1e-15 times
    their mean (rounding noise around a constant), gives 0: a constant trial
    is reduced to zeros, and so is a block of identical values. Finite input
    therefore gives finite output (for float64 input, up to magnitudes of
    about 1e75, where fourth powers overflow).

    **Precision.** Statistics are accumulated in float64. The output has the
    input's dtype when it is float32 or float64 (float32 DEAP trials give
    float32 features, what the networks take) and float64 otherwise; float32
    output matches a float64 computation window by window with numpy and
    scipy to float32 rounding (about 1e-7 relative).

    **DataFrame output.** With ``flatten=True`` the output follows
    ``set_output(transform="pandas")`` or ``"polars"`` (and scikit-learn's
    global ``transform_output``) like any transformer's: a DataFrame whose
    columns are :meth:`get_feature_names_out`, with the index of a pandas
    input. With ``flatten=False`` the output is always a 3-D numpy array,
    whatever ``set_output`` says: a DataFrame holds two axes only, and the
    3-D block is what a convolutional network over channels (such as
    :class:`skeeg.CNNClassifier`) takes. A pipeline set to pandas output
    therefore still works; for a DataFrame of the features, use
    ``flatten=True``.

    **Statelessness.** Nothing is learned: :meth:`fit` only validates ``X``
    and records its shape, and :meth:`transform` also works on an unfitted
    instance. Z-scoring the trial is affine, so the statistics of the
    standardised trial are derived from those of the raw one instead of
    materialising a standardised copy; together with processing trials in
    chunks this keeps the extra memory small next to the input.

    References
    ----------
    .. [1] S. Tripathi, S. Acharya, R. D. Sharma, S. Mittal and
           S. Bhattacharya, "Using deep and convolutional neural networks
           for accurate emotion classification on DEAP dataset", Proceedings
           of the AAAI Conference on Artificial Intelligence 31(2), 2017,
           pp. 4746-4752.
    .. [2] S. Koelstra, C. Muhl, M. Soleymani, J.-S. Lee, A. Yazdani,
           T. Ebrahimi, T. Pun, A. Nijholt and I. Patras, "DEAP: a database
           for emotion analysis using physiological signals", IEEE
           Transactions on Affective Computing 3(1), 2012, pp. 18-31.

    Examples
    --------
    >>> import numpy as np
    >>> from skeeg.preprocessing import DEAPReducer
    >>> X = np.random.default_rng(0).standard_normal((4, 32, 8064))
    >>> DEAPReducer().fit_transform(X).shape
    (4, 3168)
    >>> DEAPReducer(flatten=False).fit_transform(X).shape
    (4, 32, 99)
    """

    _parameter_constraints = {
        "n_windows": [IntRange(1, None, closed="left")],
        "zscore_trial": ["boolean"],
        "zscore_channels": ["boolean"],
        "zscore_block": ["boolean"],
        "flatten": ["boolean"],
    }

    def __init__(
        self,
        n_windows=10,
        zscore_trial=True,
        zscore_channels=True,
        zscore_block=True,
        flatten=True,
    ):
        self.n_windows = n_windows
        self.zscore_trial = zscore_trial
        self.zscore_channels = zscore_channels
        self.zscore_block = zscore_block
        self.flatten = flatten

    def fit(self, X, y=None):
        """Validate ``X`` and record its number of features and channels.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_samples) or \
                (n_trials, n_samples), or mne.Epochs
            EEG trials; 2-D ``X`` is one channel. From Epochs, the EEG
            channels not marked bad, in microvolts (as the classifiers
            read them); ``ch_names_`` and ``sfreq_`` are recorded.
        y : None
            Ignored.

        Returns
        -------
        self : DEAPReducer
            The validated transformer.
        """
        X = self._validate(X, reset=True)
        self.n_channels_ = X.shape[1]
        return self

    def transform(self, X):
        """Compute the windowed statistics of every channel.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_samples) or \
                (n_trials, n_samples), or mne.Epochs
            EEG trials; 2-D ``X`` is one channel. From Epochs, the EEG
            channels not marked bad, in microvolts (as the classifiers
            read them); ``ch_names_`` and ``sfreq_`` are recorded. If the transformer is
            fitted, ``X`` must have the fitted number of channels (and, for
            2-D ``X``, of samples).

        Returns
        -------
        X_new : ndarray or DataFrame of shape (n_trials, n_channels * n_stats), \
                or ndarray of shape (n_trials, n_channels, n_stats)
            ``n_stats = 9 * (n_windows + 1)``; the second shape with
            ``flatten=False``, always a numpy array (a DataFrame cannot hold
            three axes), whatever ``set_output`` says. float32 for float32
            input, float64 otherwise.
        """
        X = self._validate(X, reset=False)
        stats = _channel_stats(X, self.n_windows)
        if self.zscore_trial:
            _standardise_trial_stats(stats)
        n_trials, n_channels = stats.shape[:2]
        stats = stats.reshape(n_trials, n_channels, -1)
        if self.zscore_channels:
            stats = _zscore(stats, axis=2)
        if self.zscore_block:
            stats = _zscore(stats, axis=(1, 2))
        if self.flatten:
            stats = stats.reshape(n_trials, -1)
        stats = stats.astype(X.dtype, copy=False)
        if not np.isfinite(stats).all():  # never seen: finite input in float32's range
            raise ValueError(
                "DEAPReducer computed non-finite statistics from finite X; please report it "
                "with the data's shape and range."
            )
        return stats

    def fit_transform(self, X, y=None):
        """Validate ``X`` and compute its features: ``fit(X).transform(X)``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_samples) or \
                (n_trials, n_samples), or mne.Epochs
            EEG trials; 2-D ``X`` is one channel. From Epochs, the EEG
            channels not marked bad, in microvolts (as the classifiers
            read them); ``ch_names_`` and ``sfreq_`` are recorded.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray or DataFrame
            As :meth:`transform` returns it.
        """
        return self.fit(X, y).transform(X)

    def _output_is_3d(self, X):
        """Whether :meth:`transform` returns 3-D output (then never a DataFrame)."""
        return isinstance(self.flatten, (bool, np.bool_)) and not self.flatten

    def get_feature_names_out(self, input_features=None):
        """Name every output column: ``{channel}_w{window}_{stat}``.

        Whole-channel statistics are named ``{channel}_all_{stat}``, e.g.
        ``Fp1_w0_mean`` ... ``Fp1_all_kurtosis``. With ``flatten=False`` the
        names follow ``X_new.reshape(len(X_new), -1)``.

        Parameters
        ----------
        input_features : array-like of str, default=None
            For 3-D ``X``, the channel names; ``ch0``, ``ch1``, ... when None.
            For 2-D ``X`` (one channel, named ``ch0``), the sample column
            names, only checked against ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_channels * 9 * (n_windows + 1)`` names.
        """
        check_is_fitted(self, "n_features_in_")
        feature_names_in = getattr(self, "feature_names_in_", None)
        if input_features is None:
            input_features = feature_names_in
        else:
            input_features = np.asarray(input_features, dtype=object)
            if feature_names_in is not None and not np.array_equal(
                input_features, feature_names_in
            ):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to number of "
                    f"features ({self.n_features_in_}), got {len(input_features)}"
                )
        if input_features is None or self.n_channels_ != self.n_features_in_:
            # 2-D X: the features are samples of one channel, not channels.
            channels = [f"ch{i}" for i in range(self.n_channels_)]
        else:
            channels = [str(name) for name in input_features]
        segments = [f"w{i}" for i in range(self.n_windows)] + ["all"]
        return np.asarray(
            [
                f"{channel}_{segment}_{stat}"
                for channel in channels
                for segment in segments
                for stat in STAT_NAMES
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _validate(self, X, reset):
        """Check parameters and ``X``; return ``X`` as a 3-D float array.

        Called by :meth:`fit` and by :meth:`transform`, which may run unfitted
        and reads every parameter: once per call, a few microseconds.
        """
        self._validate_params()
        # The classifiers' rule for Epochs: EEG channels not marked bad, in
        # microvolts, in the order and at the rate seen in fit.
        X = epochs_to_array(self, X, reset)
        # Then masked arrays and tensors, and values beyond float32, as the
        # classifiers read them: the moments of 1e300 overflow to NaN.
        X = numeric_input(X)  # the classifiers' rule: dtypes, ragged lists, 0-/1-D
        check_float32_range(X)
        # Checked first: scikit-learn would reject 1-D X with a TypeError
        # about 2-D arrays only and accept any ndim >= 3.
        ndim = getattr(X, "ndim", None)
        if ndim is None and not sparse.issparse(X):
            ndim = np.asarray(X).ndim
        if ndim not in (2, 3):
            raise ValueError(
                "DEAPReducer expects X of shape (n_trials, n_channels, "
                f"n_samples), or (n_trials, n_samples) for one channel; got "
                f"{ndim} dimension(s). Reshape your data to one of these shapes."
            )
        with np.errstate(over="ignore", invalid="ignore"):  # the check's sum may overflow
            X = validate_data(
                self, X, reset=reset, allow_nd=True, dtype=[np.float64, np.float32]
            )
        if X.ndim == 2:
            X = X[:, np.newaxis, :]
        n_channels, n_samples = X.shape[1:]
        if n_channels == 0 or n_samples == 0:
            raise ValueError(
                f"X has {n_channels} channel(s) and {n_samples} sample(s); "
                "DEAPReducer needs at least one of each."
            )
        fitted_channels = getattr(self, "n_channels_", n_channels)
        if not reset and n_channels != fitted_channels:
            raise ValueError(
                f"X has {n_channels} channel(s), but DEAPReducer was fitted on "
                f"{self.n_channels_}. Transform data shaped like the fitted data."
            )
        _window_length(n_samples, self.n_windows)
        return X


def _window_length(n_samples, n_windows):
    """Samples per window; raise if the last window would be empty."""
    length = -(-n_samples // n_windows)
    if (n_windows - 1) * length >= n_samples:
        # Not monotonic in n_windows (11 samples: 6 windows work, 5 do not).
        # Beyond n_samples windows none works: a huge n_windows costs no loop.
        below = max(
            k for k in range(1, min(n_windows, n_samples + 1))
            if (k - 1) * -(-n_samples // k) < n_samples
        )
        raise ValueError(
            f"n_windows={n_windows} leaves the last window empty for "
            f"n_samples={n_samples}: windows have ceil({n_samples}/{n_windows})"
            f"={length} samples. The largest smaller n_windows that works here "
            f"is {below}; n_windows={n_windows} works for any n_samples > "
            f"{(n_windows - 1) ** 2} and any multiple of {n_windows}."
        )
    return length


def _channel_stats(X, n_windows):
    """Raw statistics of every window and channel.

    Returns a float64 array of shape (n_trials, n_channels, n_windows + 1, 9),
    the last window axis entry being the whole channel. Skewness and kurtosis
    of segments without spread are 0.
    """
    n_trials, n_channels, n_samples = X.shape
    length = _window_length(n_samples, n_windows)
    stats = np.empty((n_trials, n_channels, n_windows + 1, _N_STATS))
    step = max(1, CHUNK_SAMPLES // (n_channels * n_samples))
    n_rows = min(step, n_trials) * n_channels
    # Work buffers reused by every chunk: reallocating them per chunk costs
    # page faults comparable to the arithmetic.
    selection = np.empty((n_rows, n_samples), dtype=X.dtype)
    work = np.empty((2, n_rows * n_samples))
    for start in range(0, n_trials, step):
        rows = X[start : start + step].reshape(-1, n_samples)
        _row_stats(
            rows,
            n_windows,
            length,
            stats[start : start + step].reshape(-1, n_windows + 1, _N_STATS),
            selection[: len(rows)],
            work,
        )
    return stats


def _row_stats(rows, n_windows, length, out, selection, work):
    """Fill ``out`` (n_rows, n_windows + 1, 9) with the statistics of ``rows``.

    The skewness and kurtosis slots first hold the third and fourth central
    moments, which the whole-channel moments are combined from.
    """
    n_rows, n_samples = rows.shape
    head = (n_windows - 1) * length
    # Medians come from partitioning this copy in place, window by window;
    # the windows' middle values then bound the whole row's.
    np.copyto(selection, rows)
    segments = [(rows[:, head:], selection[:, head:], out[:, -2])]
    if n_windows > 1:
        shape = (n_rows, n_windows - 1, length)
        segments.append(
            (
                rows[:, :head].reshape(shape),
                selection[:, :head].reshape(shape),
                out[:, :-2],
            )
        )
    lowest, highest = [], []
    for values, to_select, dest in segments:
        _segment_moments(values, dest, work)
        lower, upper = _middle_values(to_select)
        dest[..., _MEDIAN] = _median(lower, upper)
        lowest.append(lower.reshape(n_rows, -1).min(axis=1))
        highest.append(upper.reshape(n_rows, -1).max(axis=1))

    # Whole channel: exact combination of the windows' central moments about
    # the channel mean (Pebay 2008), which avoids another pass over the data.
    windows = out[:, :-1]
    sizes = np.full(n_windows, length, dtype=np.float64)
    sizes[-1] = n_samples - head
    weights = sizes / n_samples
    mean = windows[..., _MEAN] @ weights
    delta = windows[..., _MEAN] - mean[:, np.newaxis]
    m2 = windows[..., _VAR]
    m3 = windows[..., _SKEW]
    m4 = windows[..., _KURT]
    whole = out[:, -1]
    whole[:, _MEAN] = mean
    if n_windows == 1:
        whole[:, _MEDIAN] = windows[:, 0, _MEDIAN]
    else:
        whole[:, _MEDIAN] = _median(
            *_bracketed_middles(selection, np.minimum(*lowest), np.maximum(*highest))
        )
    whole[:, _MAX] = windows[..., _MAX].max(axis=1)
    whole[:, _MIN] = windows[..., _MIN].min(axis=1)
    whole[:, _VAR] = (m2 + delta**2) @ weights
    whole[:, _SKEW] = (m3 + delta * (3 * m2 + delta**2)) @ weights
    whole[:, _KURT] = (
        m4 + delta * (4 * m3 + delta * (6 * m2 + delta**2))
    ) @ weights

    out[..., _RANGE] = out[..., _MAX] - out[..., _MIN]
    # Equal values have no spread, whatever rounding the mean had.
    constant = out[..., _RANGE] == 0
    out[constant, _VAR] = 0.0
    out[..., _STD] = np.sqrt(out[..., _VAR])
    # Skewness and kurtosis are undefined without spread; below _FLAT_VAR the
    # moments' powers would underflow to 0/0 as well.
    flat = constant | (out[..., _VAR] < _FLAT_VAR)
    m2 = np.where(flat, 1.0, out[..., _VAR])
    out[..., _SKEW] /= m2 * np.sqrt(m2)
    out[..., _KURT] /= m2 * m2
    out[..., _KURT] -= 3.0
    out[flat, _SKEW] = 0.0
    out[flat, _KURT] = 0.0


def _segment_moments(values, dest, work):
    """Mean, max, min and central moments 2-4 along the last axis of ``values``.

    The third and fourth moments go to the skewness and kurtosis slots.
    """
    size = values.shape[-1]
    # Centring once in float64 keeps the moments accurate for float32 input
    # and for data far from zero; converting first keeps the arithmetic in
    # one dtype, which is faster than mixed float32/float64 operations.
    centred = work[0, : values.size].reshape(values.shape)
    np.copyto(centred, values)
    mean = centred.sum(axis=-1) / size
    centred -= mean[..., np.newaxis]
    squared = work[1, : values.size].reshape(values.shape)
    np.multiply(centred, centred, out=squared)
    dest[..., _MEAN] = mean
    dest[..., _MAX] = values.max(axis=-1)
    dest[..., _MIN] = values.min(axis=-1)
    dest[..., _VAR] = squared.sum(axis=-1) / size
    # Batched dot products (BLAS) are the fastest sums of products here.
    left = squared[..., np.newaxis, :]
    dest[..., _SKEW] = (left @ centred[..., np.newaxis])[..., 0, 0] / size
    dest[..., _KURT] = (left @ squared[..., np.newaxis])[..., 0, 0] / size


def _middle_values(values):
    """Lower and upper middle values along the last axis; partitions ``values``.

    Both are the same array for an odd number of values.
    """
    size = values.shape[-1]
    half = size // 2
    values.partition(half, axis=-1)
    upper = values[..., half].copy()
    if size % 2:
        return upper, upper
    # After partitioning, the lower middle value is the largest of the lower half.
    return values[..., :half].max(axis=-1), upper


def _median(lower, upper):
    """Median from the middle values, averaged in float64 like np.median."""
    if lower is upper:
        return upper.astype(np.float64)
    return (lower.astype(np.float64) + upper) / 2


def _bracketed_middles(values, lowest, highest):
    """Lower and upper middle values of each row of ``values`` (n_rows, size).

    Both lie in ``[lowest, highest]``, the extreme middle values of the
    row's windows: each window has at least half its values at or below its
    upper middle value (and at or above its lower one), so with two or more
    windows more than half of the row is at or below ``highest`` (and at or
    above ``lowest``). Only the values inside these bounds need selecting;
    rows whose bounds hold over a quarter of their values (strongly drifting
    signals) are partitioned whole instead.
    """
    n_rows, size = values.shape
    ranks = np.array([(size - 1) // 2, size // 2])
    # Summing booleans into int32 is faster than np.count_nonzero per row.
    inside = values >= lowest[:, np.newaxis]
    below = size - inside.sum(axis=1, dtype=np.int32)
    inside &= values <= highest[:, np.newaxis]
    counts = inside.sum(axis=1, dtype=np.int32)
    middles = np.empty((2, n_rows), dtype=values.dtype)
    wide = counts > size // 4
    if wide.all():
        return np.partition(values, ranks, axis=1)[:, ranks].T
    if wide.any():
        middles[:, wide] = np.partition(values[wide], ranks, axis=1)[:, ranks].T
        inside[wide] = False
        counts[wide] = 0
        below[wide] = below[~wide].min()
    # Row r's candidates go after ``shift[r]`` copies of -inf standing for
    # values below its bounds, which puts every row's middle values in the
    # same columns, so one partition of this small array finds them all.
    shift = below - below.min()
    width = (shift + counts).max()
    candidates = np.full((n_rows, width), np.inf, dtype=values.dtype)
    candidates[np.arange(width) < shift[:, np.newaxis]] = -np.inf
    first = np.arange(n_rows) * width + shift - (np.cumsum(counts) - counts)
    destination = np.arange(counts.sum()) + np.repeat(first, counts)
    candidates.ravel()[destination] = values[inside]
    kth = ranks - below.min()
    selected = np.partition(candidates, kth, axis=1)[:, kth].T
    return np.where(wide, middles, selected)


def _standardise_trial_stats(stats):
    """Turn raw statistics into those of each z-scored trial, in place.

    Z-scoring is affine, (x - mu) / sd, so location statistics shift and
    scale, spread statistics scale, and skewness and kurtosis do not change.
    A trial without spread becomes 0, and so do all its statistics.
    """
    whole = stats[:, :, -1]
    channel_mean = whole[..., _MEAN]
    mu = channel_mean.mean(axis=1)
    # Channels have equal lengths: the trial variance is the mean of the
    # channel variances plus the variance of the channel means.
    var = (whole[..., _VAR] + (channel_mean - mu[:, np.newaxis]) ** 2).mean(axis=1)
    sd = np.sqrt(var)
    flat = _no_spread(sd, mu)
    sd[flat] = 1.0
    mu = mu[:, np.newaxis, np.newaxis, np.newaxis]
    sd = sd[:, np.newaxis, np.newaxis, np.newaxis]
    location = [_MEAN, _MEDIAN, _MAX, _MIN]
    stats[..., location] = (stats[..., location] - mu) / sd
    stats[..., [_STD, _RANGE]] /= sd
    stats[..., _VAR] /= sd[..., 0] ** 2
    stats[flat] = 0.0


def _no_spread(std, mean):
    """Whether ``std`` is zero up to the rounding of values around ``mean``."""
    return std <= _RESOLUTION * np.abs(mean)


def _zscore(values, axis):
    """Z-score along ``axis``; groups without spread become 0."""
    mean = values.mean(axis=axis, keepdims=True)
    centred = values - mean
    std = np.sqrt(np.mean(centred**2, axis=axis, keepdims=True))
    flat = _no_spread(std, mean)
    return np.where(flat, 0.0, centred / np.where(flat, 1.0, std))
