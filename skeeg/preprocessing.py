"""Transformers for EEG trials: feature reduction and alignment."""

import functools
import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.covariance import shrunk_covariance
from sklearn.utils.validation import check_is_fitted, validate_data

from ._input import epochs_to_array

__all__ = ["DEAPReducer", "EuclideanAlignment"]

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

# Trials are reduced in chunks of about this many samples so that the float64
# work buffers stay a few MiB (cache friendly, and far below the input's size).
_CHUNK_SAMPLES = 2**20


def _three_d_output_as_array(cls):
    """Class decorator: 3-D output is returned as an array under ``set_output``.

    scikit-learn wraps ``transform`` and ``fit_transform`` of every
    transformer so that ``set_output(transform="pandas")`` (or ``"polars"``,
    or the global ``transform_output``) turns their output into a DataFrame.
    A DataFrame has two axes, so wrapping 3-D output fails inside pandas
    ("Must pass 2-d input"). The methods are rewrapped to call the unwrapped
    computation when ``cls._output_is_3d(X)`` says the output will be 3-D,
    and scikit-learn's wrapper (a DataFrame when configured) otherwise.
    """
    for name in ("transform", "fit_transform"):
        wrapped = cls.__dict__[name]
        compute = getattr(wrapped, "__wrapped__", None)  # set by functools.wraps
        if compute is not None:  # None: this scikit-learn did not wrap it
            setattr(cls, name, _array_when_3d(wrapped, compute))
    return cls


def _array_when_3d(wrapped, compute):
    """``compute`` for 3-D output, scikit-learn's ``wrapped`` for 2-D output."""

    # functools.wraps keeps the signature (which metadata routing reads) and
    # the docstring of the computation, through __wrapped__.
    @functools.wraps(wrapped)
    def method(self, X, *args, **kwargs):
        if self._output_is_3d(X):
            return compute(self, X, *args, **kwargs)
        return wrapped(self, X, *args, **kwargs)

    return method


@_three_d_output_as_array
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
        return stats.astype(X.dtype, copy=False)

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
        """Check parameters and ``X``; return ``X`` as a 3-D float array."""
        if (
            not isinstance(self.n_windows, numbers.Integral)
            or isinstance(self.n_windows, bool)
            or self.n_windows < 1
        ):
            raise ValueError(
                f"n_windows must be an integer >= 1, got {self.n_windows!r}."
            )
        for name in ("zscore_trial", "zscore_channels", "zscore_block", "flatten"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(
                    f"{name} must be True or False, got {getattr(self, name)!r}."
                )
        # The classifiers' rule for Epochs: EEG channels not marked bad, in
        # microvolts, in the order and at the rate seen in fit.
        X = epochs_to_array(self, X, reset)
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
        below = max(
            k for k in range(1, n_windows) if (k - 1) * -(-n_samples // k) < n_samples
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
    step = max(1, _CHUNK_SAMPLES // (n_channels * n_samples))
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


@_three_d_output_as_array
class EuclideanAlignment(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Align EEG trials across subjects or sessions (Euclidean alignment).

    He and Wu's Euclidean alignment [1]_: the trials of each group (a
    subject, a session, a recording) are multiplied on the left by
    ``R^(-1/2)``, the inverse square root of the group's reference ``R``, the
    mean spatial covariance of its trials. The mean covariance of every
    group's aligned trials is then the identity, which removes differences
    between groups (head and skull, electrode placement and impedance, gain)
    that a classifier trained on other groups would otherwise have to
    overcome. It works on raw trials, so it can precede any classifier,
    skeeg's networks included.

    Parameters
    ----------
    shrinkage : "auto" or float in [0, 1], default="auto"
        Regularisation of each reference toward the scaled identity,
        ``(1 - a) R + a (trace(R) / n_channels) I``, as
        :func:`sklearn.covariance.shrunk_covariance` computes it. ``"auto"``
        chooses ``a`` for each group by the Ledoit-Wolf formula [2]_, as
        :func:`sklearn.covariance.ledoit_wolf_shrinkage` computes it on the
        group's samples pooled over its trials (treated as centred, like
        ``R``); a float is used for every group, and 0 gives the paper's
        plain mean.

        ``"auto"`` is the default because EEG is often rank-deficient:
        average-referenced data have rank ``n_channels - 1``, and so do data
        with an ICA component removed or a channel interpolated. Their ``R``
        is singular and has no inverse square root, or is near-singular and
        amplifies rounding noise. Ledoit-Wolf needs no tuning, gives a
        well-conditioned reference whatever the rank, and shrinks less as
        the number of pooled samples (``n_trials * n_times``) grows, so on
        well-conditioned data it stays close to the paper's estimate. It treats successive samples as independent, which
        EEG samples are not, and so shrinks little; pass a float for more.

    Attributes
    ----------
    groups_ : ndarray of shape (n_groups,) or None
        The distinct groups seen in :meth:`fit`, sorted; None when ``fit``
        had no groups (one reference for all trials).
    references_ : ndarray of shape (n_groups, n_channels, n_channels)
        The regularised reference of each group of ``groups_`` (a single one
        without groups), float64, in the unit of ``X`` squared.
    inv_sqrt_references_ : ndarray of shape (n_groups, n_channels, n_channels)
        ``R^(-1/2)`` of each reference, float64: :meth:`transform` multiplies
        the trials of group ``groups_[k]`` by ``inv_sqrt_references_[k]``.
    shrinkage_ : ndarray of shape (n_groups,)
        The shrinkage intensity used for each reference.
    n_channels_ : int
        Number of channels seen in :meth:`fit` (1 for 2-D ``X``).
    n_features_in_ : int
        ``X.shape[1]`` in :meth:`fit`: the number of channels for 3-D ``X``,
        of samples for 2-D ``X``.
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Column names of a 2-D ``X`` given as a DataFrame with string columns.

    See Also
    --------
    skeeg.datasets.make_motor_imagery : Synthetic trials of several subjects
        (``n_subjects``), with subject-specific mixing, gain and noise.

    Notes
    -----
    **Reference.** A trial ``X_i`` of shape ``(n_channels, n_times)`` has
    the covariance ``C_i = X_i X_i^T / n_times``, and ``R`` is the mean of
    ``C_i`` over the group's trials. Trials are not centred, as in the
    paper, which aligns band-pass filtered EEG: remove offsets and slow
    drifts (high-pass or band-pass filter) before aligning. Dividing by ``n_times`` changes the paper's
    ``R`` by a constant factor only: aligned trials have unit power per
    channel and sample (they are dimensionless), and a reference applies to
    trials of any length. ``R^(-1/2) = V diag(l^(-1/2)) V^T`` from the
    eigendecomposition ``R = V diag(l) V^T`` (:func:`scipy.linalg.eigh`) is
    symmetric, so each aligned channel remains the one closest to the input
    channel of the same position, and output channels keep the input's
    names. With shrinkage ``a > 0``, the aligned trials' mean covariance
    is ``R_a^(-1/2) R R_a^(-1/2)``: the identity up to the shrinkage.

    **Groups in fit and transform.** ``fit(X, groups=g)`` learns one
    reference per distinct value of ``g``. ``transform(X, groups=g)``
    aligns the trials of a group seen in ``fit`` with its stored reference.
    The trials of a group NOT seen in ``fit`` are aligned with a reference
    computed from those trials, in that call. This is transductive: it uses
    the new group's unlabelled trials (never labels: ``transform`` has none),
    as the paper does for a new subject, so give ``transform`` all of a new
    subject's trials at once (or a calibration block before the rest); the
    reference is not stored, and every call recomputes it from the trials it
    gets. Without groups, ``fit`` learns one reference from all trials and
    ``transform`` applies it to any trials. Groups go to both ``fit`` and
    ``transform`` or to neither: a mismatch is an error, since it would
    align training and test trials by different rules.

    **Too few trials.** A reference needs at least 2 trials of its group,
    else a ``ValueError``: aligning a single trial with its own reference
    would make its covariance the identity and remove all its spatial
    information. References from a few trials are noisy.

    **Labels.** ``y`` is accepted for pipelines and never read.

    **In a Pipeline.** A Pipeline passes ``groups`` to ``transform`` only
    through scikit-learn's metadata routing::

        sklearn.set_config(enable_metadata_routing=True)
        align = EuclideanAlignment().set_fit_request(groups=True)
        align.set_transform_request(groups=True)
        pipe = make_pipeline(align, classifier)
        pipe.fit(X, y, groups=subjects)
        pipe.predict(X_new, groups=new_subjects)
        cross_validate(pipe, X, y, cv=LeaveOneGroupOut(),
                       params={"groups": subjects})

    In the last line each test fold is a held-out subject, aligned
    transductively with its own trials. ``cross_val_predict`` routes
    ``params`` to ``fit`` only, so its predictions cannot carry groups:
    for out-of-fold predictions (a confusion matrix), loop over
    ``LeaveOneGroupOut().split(X, y, subjects)`` and call
    ``pipe.fit(..., groups=...)`` and ``pipe.predict(..., groups=...)``.
    A new group whose label reads like a fitted one (``"1"`` after ``1``)
    is aligned as new, with a warning.

    **Input shape.** ``X`` is ``(n_trials, n_channels, n_times)``; a 2-D
    ``X`` is read as ONE channel, as :class:`DEAPReducer` reads it (the
    alignment is then a scaling to unit power per group). ``transform``
    takes ``X`` laid out as in ``fit``: 3-D with the fitted channels (any
    ``n_times``), or 2-D with the fitted number of samples.

    **Precision and output.** References are computed in float64. The
    output has the shape of ``X`` and its dtype when float32 or float64
    (float32 trials, which skeeg's classifiers train on, stay float32), else
    float64. 3-D output is always a numpy array, whatever ``set_output``
    says (a DataFrame holds two axes); 2-D output follows ``set_output``.

    **Singular references.** An eigenvalue of the regularised reference
    below ``l_max * max((n_channels * eps) ** 2, n_channels * eps64)``,
    with ``eps`` the machine epsilon of ``X``'s dtype, cannot be told from
    zero at the precision of the data (amplitudes rounded to ``eps``) or of
    the eigendecomposition (``eps64``). Such a reference is refused with an
    error that suggests shrinkage: this happens with ``shrinkage=0`` on
    rank-deficient data.

    References
    ----------
    .. [1] H. He and D. Wu, "Transfer learning for brain-computer
           interfaces: a Euclidean space data alignment approach", IEEE
           Transactions on Biomedical Engineering 67(2), 2020, pp. 399-410.
    .. [2] O. Ledoit and M. Wolf, "A well-conditioned estimator for
           large-dimensional covariance matrices", Journal of Multivariate
           Analysis 88(2), 2004, pp. 365-411.

    Examples
    --------
    >>> import numpy as np
    >>> from skeeg.datasets import make_motor_imagery
    >>> from skeeg.preprocessing import EuclideanAlignment
    >>> data = make_motor_imagery(n_trials=60, n_channels=4, n_subjects=3,
    ...                           random_state=0)
    >>> align = EuclideanAlignment(shrinkage=0).fit(data.X, groups=data.subject)
    >>> align.groups_
    array([0, 1, 2])
    >>> X = align.transform(data.X, groups=data.subject)
    >>> X.shape, X.dtype
    ((60, 4, 500), dtype('float32'))
    >>> first = X[data.subject == 0]
    >>> mean_cov = np.mean(first @ first.transpose(0, 2, 1), axis=0) / 500
    >>> bool(np.allclose(mean_cov, np.eye(4), atol=1e-5))
    True
    """

    def __init__(self, shrinkage="auto"):
        self.shrinkage = shrinkage

    def fit(self, X, y=None, groups=None):
        """Learn one reference per group of trials (one for all without groups).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or \
                (n_trials, n_times)
            EEG trials (2-D ``X`` is one channel). Never stored.
        y : None
            Ignored, never read.
        groups : array-like of shape (n_trials,), default=None
            Group (subject, session) of each trial: numbers or strings,
            without missing values. None: one reference for all trials.

        Returns
        -------
        self : EuclideanAlignment
            The fitted transformer.

        Raises
        ------
        ValueError
            For a bad ``shrinkage``; ``X`` that is not 2-D or 3-D, empty,
            non-finite, or with fewer samples than channels; ``groups`` of
            the wrong length or with missing values; a group of one trial;
            a singular reference.
        """
        self._check_shrinkage()
        X = self._validate(X, reset=True)
        groups = _check_groups(groups, len(X))
        if groups is None:
            labels, members = None, [slice(None)]
        else:
            labels, inverse = np.unique(groups, return_inverse=True)
            members = [np.flatnonzero(inverse == k) for k in range(len(labels))]
        names = [None] if labels is None else labels.tolist()
        fitted = [self._reference(X[rows], name) for rows, name in zip(members, names)]
        self.groups_ = labels
        self.references_ = np.stack([reference for reference, _, _ in fitted])
        self.inv_sqrt_references_ = np.stack([inv_sqrt for _, inv_sqrt, _ in fitted])
        self.shrinkage_ = np.array([shrinkage for _, _, shrinkage in fitted])
        self.n_channels_ = X.shape[1]
        return self

    def transform(self, X, groups=None):
        """Align trials: stored references for known groups, own ones for new.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or \
                (n_trials, n_times)
            EEG trials laid out as in :meth:`fit`: 3-D with the fitted
            number of channels, or 2-D with the fitted number of samples.
        groups : array-like of shape (n_trials,), default=None
            Group of each trial; required if and only if :meth:`fit` had
            groups. The trials of a group not seen in ``fit`` are aligned
            with a reference computed from these trials (transductive: their
            values only, no labels), at least 2 per such group.

        Returns
        -------
        X_new : ndarray of shape (n_trials, n_channels, n_times), or ndarray \
                or DataFrame of shape (n_trials, n_times)
            Aligned trials, dimensionless, in ``X``'s dtype when float32 or
            float64, else float64. 3-D output is always an ndarray.

        Raises
        ------
        ValueError
            For ``X`` laid out unlike the fitted data, non-finite, or with
            fewer samples than channels; ``groups`` given when ``fit`` had
            none or missing when it had some, of the wrong length or with
            missing values; a new group of one trial or with a singular
            reference.
        """
        check_is_fitted(self)
        self._check_shrinkage()
        # Epochs first: their channels are checked (and named) by name.
        X = epochs_to_array(self, X, reset=False)
        two_d = self._check_layout(X)
        X = self._validate(X, reset=False)
        groups = _check_groups(groups, len(X))
        if (groups is None) != (self.groups_ is None):
            if groups is None:
                mismatch = "with groups, but transform got none"
            else:
                mismatch = (
                    "without groups (one reference for all trials), but transform "
                    "got groups"
                )
            raise ValueError(
                f"EuclideanAlignment was fitted {mismatch}. Pass groups to both "
                "fit and transform, or to neither; in a "
                "Pipeline, with metadata routing enabled, call "
                "set_fit_request(groups=True) and set_transform_request(groups=True) "
                "and pass groups to fit and to predict, score or transform."
            )
        if groups is None:
            Xt = np.matmul(self.inv_sqrt_references_[0].astype(X.dtype), X)
        else:
            Xt = np.empty_like(X)
            fitted = {label: k for k, label in enumerate(self.groups_.tolist())}
            labels, inverse = np.unique(groups, return_inverse=True)
            for k, label in enumerate(labels.tolist()):
                rows = np.flatnonzero(inverse == k)
                trials = X[rows]
                if label in fitted:
                    inv_sqrt = self.inv_sqrt_references_[fitted[label]]
                else:  # transductive: this call's trials of the new group
                    self._warn_if_lookalike(label, fitted)
                    inv_sqrt = self._reference(trials, label)[1]
                Xt[rows] = np.matmul(inv_sqrt.astype(X.dtype), trials)
        return Xt[:, 0] if two_d else Xt

    @staticmethod
    def _warn_if_lookalike(label, fitted):
        """Warn when a new group's label reads like a fitted one (``"1"`` after ``1``)."""
        text = str(label).strip().casefold()
        twins = [known for known in fitted if str(known).strip().casefold() == text]
        if twins:
            warnings.warn(
                f"Group {label!r} was not seen in fit, so it is aligned with a reference "
                f"computed from its own trials; fit saw {twins[0]!r}, which reads the same. "
                "If they are the same subject, pass group labels of the same type and "
                "spelling to fit and transform (labels read back from a CSV file become "
                "strings).",
                UserWarning,
                stacklevel=3,
            )

    def fit_transform(self, X, y=None, groups=None):
        """Fit, then align the same trials: ``fit(X, y, groups).transform(X, groups)``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or \
                (n_trials, n_times)
            EEG trials.
        y : None
            Ignored, never read.
        groups : array-like of shape (n_trials,), default=None
            Group of each trial, or None for one reference.

        Returns
        -------
        X_new : ndarray or DataFrame
            As :meth:`transform` returns it.
        """
        return self.fit(X, y, groups=groups).transform(X, groups=groups)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _output_is_3d(self, X):
        """Whether :meth:`transform` returns 3-D output (then never a DataFrame)."""
        return _ndim(X) == 3

    def _check_shrinkage(self):
        shrinkage = self.shrinkage
        if isinstance(shrinkage, str) and shrinkage == "auto":
            return
        if (
            not isinstance(shrinkage, numbers.Real)
            or isinstance(shrinkage, (bool, np.bool_))
            or not 0 <= shrinkage <= 1
        ):
            raise ValueError(
                f'shrinkage must be "auto" or a number in [0, 1], got {shrinkage!r}.'
            )

    def _check_layout(self, X):
        """Refuse X laid out unlike the fitted data; return whether X is 2-D."""
        ndim = _ndim(X)
        # Fitted on 2-D X: n_features_in_ counts samples, n_channels_ is 1.
        fitted_2d = self.n_features_in_ != self.n_channels_
        if ndim == 2 and self.n_channels_ > 1:
            raise ValueError(
                f"EuclideanAlignment was fitted on trials of {self.n_channels_} "
                f"channels, but X is 2-D (shape {_shape(X)}), which is read as "
                "one channel per trial. Pass X shaped (n_trials, "
                f"{self.n_channels_}, n_times); for a single trial, X[np.newaxis]."
            )
        if ndim == 3 and not fitted_2d and _shape(X)[1] != self.n_channels_:
            raise ValueError(
                f"X has {_shape(X)[1]} channel(s), but EuclideanAlignment was "
                f"fitted on {self.n_channels_}. Transform trials with the fitted "
                "channels."
            )
        if ndim == 3 and fitted_2d:
            raise ValueError(
                "EuclideanAlignment was fitted on 2-D X (one channel of "
                f"{self.n_features_in_} samples), but X is 3-D. Transform X laid "
                "out as in fit."
            )
        return ndim == 2

    def _validate(self, X, reset):
        """Check ``X``; return it as a 3-D float array."""
        X = epochs_to_array(self, X, reset)  # Epochs: as the classifiers read them
        ndim = _ndim(X)
        if ndim not in (2, 3):
            raise ValueError(
                "EuclideanAlignment expects X of shape (n_trials, n_channels, "
                f"n_times), or (n_trials, n_times) for one channel; got {ndim} "
                "dimension(s). Reshape your data to one of these shapes."
            )
        X = validate_data(
            self, X, reset=reset, allow_nd=True, dtype=[np.float64, np.float32]
        )
        if X.ndim == 2:
            X = X[:, np.newaxis, :]
        n_channels, n_times = X.shape[1:]
        if n_channels == 0 or n_times == 0:
            raise ValueError(
                f"X has {n_channels} channel(s) and {n_times} sample(s) per trial; "
                "EuclideanAlignment needs at least one of each."
            )
        if not reset and n_channels != self.n_channels_:
            raise ValueError(
                f"X has {n_channels} channel(s), but EuclideanAlignment was fitted "
                f"on {self.n_channels_}. Transform trials with the fitted channels."
            )
        if n_times < n_channels:
            # Almost always transposed axes; each trial's covariance is singular.
            raise ValueError(
                f"X has {n_times} samples per trial but {n_channels} channels: "
                "fewer samples than channels, so each trial's covariance is "
                "singular. Is X shaped (n_trials, n_times, n_channels)? "
                "EuclideanAlignment expects (n_trials, n_channels, n_times)."
            )
        return X

    def _reference(self, X, label):
        """Reference, its inverse square root and the shrinkage for trials ``X``."""
        where = "all trials" if label is None else f"group {label!r}"
        n_trials, n_channels, n_times = X.shape
        if n_trials < 2:
            raise ValueError(
                f"EuclideanAlignment needs at least 2 trials to compute a reference; "
                f"{where} has n_samples=1 (one trial). Aligning one trial with its "
                "own reference would make its covariance the identity and remove "
                "its spatial information; give more trials of this group."
            )
        covariance, fourth = _pooled_moments(X)
        if self.shrinkage == "auto":
            shrinkage = _ledoit_wolf_shrinkage(covariance, fourth, n_trials * n_times)
        else:
            shrinkage = float(self.shrinkage)
        reference = shrunk_covariance(covariance, shrinkage)
        eigenvalues, eigenvectors = scipy.linalg.eigh(reference)
        largest = eigenvalues[-1]
        if not largest > 0:
            raise ValueError(
                f"The reference of {where} is zero: its trials are all zeros. "
                "Remove them; no alignment can scale them."
            )
        eps = np.finfo(X.dtype).eps
        tolerance = largest * max((n_channels * eps) ** 2, n_channels * _EPS64)
        rank = int(np.sum(eigenvalues > tolerance))
        if rank < n_channels:
            raise ValueError(
                f"The reference covariance of {where} is singular (rank {rank} of "
                f"{n_channels} channels, shrinkage={shrinkage:.3g}): it has no "
                "inverse square root. Average-referenced EEG, or EEG with a "
                "component removed or a channel interpolated, has rank below its "
                "number of channels; use shrinkage='auto' or a larger float "
                "shrinkage."
            )
        inv_sqrt = (eigenvectors / np.sqrt(eigenvalues)) @ eigenvectors.T
        return reference, inv_sqrt, shrinkage


_EPS64 = np.finfo(np.float64).eps


def _shape(X):
    """Shape of array-like ``X`` (arrays, sparse matrices, DataFrames, lists)."""
    shape = getattr(X, "shape", None)
    return tuple(shape) if shape is not None else np.asarray(X).shape


def _ndim(X):
    return len(_shape(X))


def _check_groups(groups, n_trials):
    """Return ``groups`` as a 1-D array of ``n_trials`` labels, or None."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(
            f"groups must be 1-D, one label per trial; got shape {groups.shape}."
        )
    if len(groups) != n_trials:
        raise ValueError(
            f"groups has {len(groups)} entries, but X has {n_trials} trials: "
            "give one group label per trial."
        )
    missing = pd.isna(groups)
    if missing.any():
        raise ValueError(
            f"groups has missing values (NaN or None) at position(s) "
            f"{np.flatnonzero(missing)[:10].tolist()}: every trial needs a group."
        )
    try:
        np.unique(groups)
    except TypeError:
        raise ValueError(
            "groups mixes types that cannot be compared (e.g. numbers and "
            "strings); use labels of one type."
        ) from None
    return groups


def _pooled_moments(X):
    """Covariance of the samples of trials ``X`` pooled, and their fourth moment.

    Returns the float64 ``(n_channels, n_channels)`` mean of
    ``X_i X_i^T / n_times`` over trials, and the sum over all samples ``x``
    (columns of the trials) of ``|x|^4``, which Ledoit-Wolf needs. Computed
    in chunks of trials, so no pooled float64 copy of ``X`` is made.
    """
    n_trials, n_channels, n_times = X.shape
    covariance = np.zeros((n_channels, n_channels))
    fourth = 0.0
    step = max(1, _CHUNK_SAMPLES // (n_channels * n_times))
    for start in range(0, n_trials, step):
        chunk = X[start : start + step].astype(np.float64, copy=False)
        covariance += np.sum(chunk @ chunk.transpose(0, 2, 1), axis=0)
        power = np.einsum("ict,ict->it", chunk, chunk)
        fourth += float(np.sum(power * power))
    return covariance / (n_trials * n_times), fourth


def _ledoit_wolf_shrinkage(covariance, fourth, n_samples):
    """Ledoit-Wolf shrinkage intensity from pooled moments.

    The same value as :func:`sklearn.covariance.ledoit_wolf_shrinkage` on the
    ``(n_samples, n_channels)`` pooled samples with ``assume_centered=True``,
    from the covariance ``S`` and the sum of ``|x|^4`` over samples, which
    are all its formula uses: this avoids pooling a copy of the trials.
    """
    n_channels = len(covariance)
    if n_channels == 1:
        return 0.0  # any shrinkage leaves a 1 x 1 covariance unchanged
    mu = np.trace(covariance) / n_channels
    squared_norm = np.sum(covariance**2)
    # Variance of the entries of S around their expectation, and distance of
    # S from mu * I, both per channel.
    beta = (fourth / n_samples - squared_norm) / (n_channels * n_samples)
    delta = (squared_norm - n_channels * mu**2) / n_channels
    if not delta > 0:
        return 0.0  # S is already a multiple of the identity
    # Clipped: rounding can make beta slightly negative.
    return float(np.clip(beta / delta, 0.0, 1.0))
