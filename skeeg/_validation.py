"""The input rule of skeeg's classifiers: trials, labels and groups, from arrays or Epochs.

One place decides what ``fit``, ``partial_fit``, ``predict``,
``predict_proba``, ``score`` and ``embed`` accept (the transformers of
:mod:`skeeg.preprocessing` read Epochs, tensors and masked arrays through
:func:`skeeg._input.epochs_to_array`, and check the rest themselves).

Trials ``X``:

- Shape ``(n_trials, n_channels, n_times)``; a 2-D ``X`` ``(n_trials,
  n_features)`` is one channel of ``n_features`` samples. 0-D, 1-D and 4-D
  or more are refused; so are zero channels or zero samples (and zero
  trials in ``fit``; ``predict`` on zero trials returns zero rows).
- Read as float32: numpy arrays of any real, integer or boolean dtype (0
  and 1), any byte order or memory layout, read-only arrays and memory
  maps; lists of equal-length lists; pandas DataFrames (2-D, their column
  names recorded as ``feature_names_in_``); object arrays of numbers.
- Converted first (:func:`skeeg._input.as_numpy`): torch tensors of any
  dtype (bfloat16, float16, float64, integers, bool) and device (CPU or a
  GPU; the values are copied to the host), requiring grad or not (they are
  detached); masked arrays without a masked entry; :class:`mne.Epochs`
  (:func:`skeeg._input.read_epochs`, in microvolts).
- Refused, with a message that says what to do: masked arrays with a
  masked entry (fill or interpolate), tensors on the ``meta`` device
  (no values), sparse tensors and scipy sparse matrices, nested tensors,
  complex numbers, text (``str``/``bytes`` dtypes, or in object arrays),
  dates and durations, structured dtypes, ragged lists (trials or channels
  of unequal length), NaN and infinity, finite values beyond float32's
  range; in ``predict``, channels or lengths other than those of ``fit``.

Labels ``y``, ``groups`` and ``classes`` of any type, as arrays, lists or
tensors (read by the same :func:`~skeeg._input.as_numpy`: masked entries
refused); ``y`` is encoded against ``classes_``, ``groups`` holds one label
per trial. Every refusal is a ``ValueError`` or ``TypeError`` that names
the problem.
"""

import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_feature_names, check_array, check_is_fitted
from sklearn.utils.validation import validate_data

from ._input import as_numpy, is_epochs_input, labels_from_events, order_channels, read_epochs

# dtype kinds read as numbers: booleans, integers, floating point.
NUMERIC_KINDS = "biuf"
# What other dtype kinds hold, and what to pass instead, for the refusals.
OTHER_KINDS = {
    "U": ("text", "for numbers written as text, X.astype(float)"),
    "S": ("bytes", "for numbers written as text, X.astype(float)"),
    "M": ("dates", "the samples, not their time stamps"),
    "m": ("durations", "the samples, not their time stamps"),
    "V": ("structured records", "the field that holds the samples, X['name']"),
}


def as_trials(X):
    """View a validated 2-D or 3-D array as (n_trials, n_channels, n_times).

    Raises
    ------
    ValueError
        Another number of dimensions, or no channel or no sample per trial.
    """
    if X.ndim == 2:
        X = X[:, np.newaxis, :]
    if X.ndim != 3:
        raise ValueError(
            "X must be 3-D, (n_trials, n_channels, n_times), or 2-D, (n_trials, n_times) "
            f"read as one channel; got an array of shape {X.shape}."
        )
    if 0 in X.shape[1:]:
        raise ValueError(
            f"X has shape {X.shape}: {X.shape[1]} channels x {X.shape[2]} samples per "
            "trial. skeeg needs at least one channel and one sample: check how the "
            "trials were cut (tmin/tmax, the channels picked)."
        )
    return X


def numeric_input(X):
    """``X`` as numpy (or pandas) holding real numbers, before scikit-learn's checks.

    Converts tensors and masked arrays (:func:`skeeg._input.as_numpy`) and
    lists; checks the dtype and the number of dimensions. A pandas
    DataFrame comes back as it is, for its column names.

    Raises
    ------
    ValueError
        Complex numbers, text, dates, structured dtypes, ragged lists, 0-D
        or 1-D input; see :func:`skeeg._input.as_numpy` for the rest.
    TypeError
        Sparse input, an object array holding something other than numbers.
    """
    X = as_numpy(X)
    if hasattr(X, "columns") and hasattr(X, "dtypes"):  # a pandas DataFrame
        if {getattr(dtype, "kind", "O") for dtype in X.dtypes} <= set(NUMERIC_KINDS):
            return X
        _check_kind(X.to_numpy())
        return X
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except ValueError as error:
            if "inhomogeneous" not in str(error):
                raise
            raise ValueError(
                "X is ragged: its trials (or their channels) have different lengths. Pad "
                "or crop them to one length, as an array of shape (n_trials, n_channels, "
                "n_times)."
            ) from None
    _check_kind(X)
    if X.ndim < 2:
        raise ValueError(
            f"X is {X.ndim}-D (shape {X.shape}); skeeg reads trials as a 3-D array "
            "(n_trials, n_channels, n_times), or 2-D (n_trials, n_times) as one channel. "
            "Reshape your data: one trial of one channel is X.reshape(1, 1, -1)."
        )
    return X


def _check_kind(X):
    """Refuse arrays whose values are not real numbers (see :func:`numeric_input`)."""
    kind = X.dtype.kind
    if kind in NUMERIC_KINDS:
        return
    if kind == "c":  # scikit-learn's own wording first, which its checks look for
        raise ValueError(
            f"Complex data not supported: X is complex ({X.dtype}). skeeg reads real EEG "
            "samples: pass X.real, or np.abs(X) for amplitudes."
        )
    if kind in OTHER_KINDS:
        what, instead = OTHER_KINDS[kind]
        raise ValueError(
            f"X holds {what} (dtype {X.dtype}), not EEG samples: pass an array of real "
            f"numbers ({instead})."
        )
    for item in X.flat:  # an object array: Python objects, one by one
        if isinstance(item, (str, bytes)):
            raise ValueError(
                f"X is an object array holding text ({item!r:.40}), not EEG samples: pass "
                "an array of real numbers (for numbers written as text, X.astype(float))."
            )
        if isinstance(item, (np.ndarray, list, tuple)):
            raise ValueError(
                f"X is an object array holding sequences (a {type(item).__name__} of "
                f"length {len(item)}): ragged trials or channels? Pad or crop them to one "
                "length, as an array of shape (n_trials, n_channels, n_times)."
            )
        try:
            float(item)
        except (TypeError, ValueError) as error:  # a dict, None, a complex number...
            raise TypeError(
                f"X is an object array holding a {type(item).__name__}, not a real number "
                f"({error}): pass an array of real numbers."
            ) from None


def check_float32_range(X):
    """Refuse NaN, infinity and finite values that float32, in which skeeg trains, cannot hold.

    The one value rule for trials, in the classifiers and the transformers,
    with EEG's remedies rather than scikit-learn's (which suggests models
    that take missing values). Values beyond float32, converted, would
    become infinity and be reported as such, although ``X`` holds none.
    """
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # a DataFrame: pd.NA reads as NaN
        try:
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            return  # text columns: numeric_input named them
    if not isinstance(X, np.ndarray):
        if not isinstance(X, (list, tuple)) and not hasattr(X, "__array__"):
            return
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            return  # check_array reports what is wrong with it
    if X.dtype.kind != "f" or X.ndim == 0 or X.size == 0:
        return
    limit, largest = float(np.finfo(np.float32).max), 0.0
    wide = X.dtype.itemsize > 4
    # In chunks of trials: the temporaries stay small whatever the size of X.
    chunk = max(1, 2**18 // max(1, X[0].size))
    for start in range(0, len(X), chunk):
        part = X[start : start + chunk]
        finite = np.isfinite(part)
        if not finite.all():
            first = np.argwhere(~finite)[0]
            first[0] += start
            _refuse_non_finite(X, first)
        if wide:
            largest = max(largest, float(np.abs(part).max()))
    if largest > limit:
        raise ValueError(
            f"X holds finite values beyond the float32 range (+-{limit:.3g}; the largest is "
            f"{largest:.3g}), and skeeg computes in float32: check the unit of X and divide "
            "it by a constant."
        )


def _refuse_non_finite(X, first):
    """Name the first NaN or infinite value of ``X`` (at index ``first``) and the remedy."""
    value = X[tuple(first)]
    what = "NaN" if np.isnan(value) else "infinity"
    count = int(np.count_nonzero(np.isnan(X) if what == "NaN" else np.isinf(X)))
    where = ", ".join(f"{axis} {int(i)}" for axis, i in zip(
        ("trial", "channel", "sample") if X.ndim == 3 else ("trial", "sample"), first))
    raise ValueError(
        f"Input X contains {what} ({count} value(s); the first at {where}). skeeg trains and "
        "predicts on complete trials: interpolate the bad samples or channels (mne's "
        "interpolate_bads for Epochs), or drop those trials."
    )


def _training_trials(est, X, y):
    """Validate a first fit's trials; record n_features_in_, n_channels_, n_times_."""
    X = numeric_input(X)
    check_float32_range(X)
    # scikit-learn's finiteness check sums X first and warns when the sum
    # overflows, before it checks each value: the warning says nothing.
    with np.errstate(over="ignore", invalid="ignore"):
        X, y = validate_data(
            est, X, y, allow_nd=True, dtype=np.float32, order="C", ensure_min_features=1
        )
    X = as_trials(X)
    est.n_channels_, est.n_times_ = X.shape[1:]
    return X, y


def fit_input(est, X, y, reset):
    """Training trials and labels from an array or Epochs.

    ``reset`` (a new fit) records ``ch_names_``, ``sfreq_``, ``n_channels_``,
    ``n_times_`` and ``n_features_in_``; a continued fit checks the trials
    against them (channels reordered by name for Epochs).
    """
    y = as_numpy(y, "y")
    if is_epochs_input(X):
        data = read_epochs(X)
        est._check_sampling_rate(float(data.sfreq))
        if y is None:
            y = labels_from_events(data)
        if reset:
            est.ch_names_, est.sfreq_ = list(data.ch_names), data.sfreq
            X = data.X
        else:
            X = order_channels(data, est.ch_names_, est.sfreq_, est)
    elif reset:
        est.ch_names_ = est.sfreq_ = None
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None: "
            "labels are read from the events only when X is an mne.Epochs object. "
            "When a transformer before it in a Pipeline turned Epochs into an array, "
            "pass the labels to the Pipeline: pipe.fit(epochs, skeeg.event_labels(epochs))."
        )
    if reset:
        return _training_trials(est, X, y)
    X = predict_input(est, X)
    if len(X) == 0:
        raise ValueError(
            f"Found array with 0 trials while {type(est).__name__} continues its fit: "
            "pass at least one trial."
        )
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"y must be 1-D with one label per trial; got shape {y.shape} for {len(X)} trials."
        )
    return X, y


def predict_input(est, X):
    """Validate trials to predict: same channels and length as in fit.

    One rule whatever the dtype or memory layout: a 2-D array and a 3-D
    array of one channel are the same trials, so either is accepted after a
    fit on either. An empty batch is valid (a real-time loop may have no
    trial to score): its predictions are empty.
    """
    check_is_fitted(est)
    trials = _plain_trials(est, X)
    if trials is not None:
        return trials
    if is_epochs_input(X):
        X = order_channels(read_epochs(X), est.ch_names_, est.sfreq_, est)
    X = original = numeric_input(X)
    check_float32_range(X)
    with np.errstate(over="ignore", invalid="ignore"):
        X = as_trials(check_array(X, allow_nd=True, dtype=np.float32, order="C",
                                  ensure_min_samples=0))
    if X.shape[1:] != (est.n_channels_, est.n_times_):
        name = type(est).__name__
        if np.ndim(original) == 2 and est.n_channels_ > 1:
            raise ValueError(
                f"X is 2-D, which is read as one channel, but {name} was fitted on "
                f"{est.n_channels_} channels x {est.n_times_} samples: pass a 3-D "
                f"array of shape (n_trials, {est.n_channels_}, {est.n_times_})."
            )
        if np.ndim(original) == 2:
            raise ValueError(
                f"X has {X.shape[2]} features, but {name} is expecting "
                f"{est.n_times_} features as input (2-D X is read as one "
                "channel of n_features samples)."
            )
        raise ValueError(
            f"X has {X.shape[1]} channels x {X.shape[2]} samples per trial, but "
            f"{name} was fitted on {est.n_channels_} channels x {est.n_times_} "
            "samples: pass trials with the channels and length used in fit."
        )
    # Feature-name bookkeeping for pandas input, once the EEG checks passed
    # (the shape rule above replaces scikit-learn's n_features_in_ check).
    _check_feature_names(est, original, reset=False)
    return X


def _plain_trials(est, X):
    """``X`` as trials if it is already what validation returns, else None.

    A C-ordered float32 ndarray of the fitted shape, without NaN or
    infinity, fitted without feature names, passes every check unchanged;
    spotting it takes microseconds where the checks take tens. Anything else
    goes through the full validation and its messages, which accept the
    same trials.
    """
    if type(X) is not np.ndarray or X.dtype != np.float32 or not X.flags.c_contiguous:
        return None
    if X.ndim == 3:
        fits = X.shape[1:] == (est.n_channels_, est.n_times_)
    else:
        fits = X.ndim == 2 and est.n_channels_ == 1 and X.shape[1] == est.n_times_
    if not fits or len(X) == 0 or hasattr(est, "feature_names_in_"):
        return None
    # A finite sum means finite values; an overflowing one gets the full check.
    with np.errstate(over="ignore", invalid="ignore"):
        return as_trials(X) if np.isfinite(X.sum()) else None


def learn_classes(est, labels):
    """Record ``classes_`` (sorted labels) from ``labels``; at least 2 classes."""
    check_classification_targets(labels)
    est._label_encoder = LabelEncoder().fit(labels)
    est.classes_ = est._label_encoder.classes_
    if len(est.classes_) < 2:
        raise ValueError(
            f"{type(est).__name__} needs trials of at least 2 classes; got only "
            f"one class ({est.classes_.tolist()[0]!r}). Check the labels passed to fit."
        )


def encode_labels(est, y, continued=True):
    """Encode labels against ``classes_``; refuse labels not among them."""
    check_classification_targets(y)
    y = np.asarray(y)
    known = np.isin(y, est.classes_)
    if not known.all():
        where = (
            "continuing a fit (warm_start=True, partial_fit) needs the same classes. "
            "Fit a new classifier for new classes."
            if continued else "pass every label of every call in classes."
        )
        raise ValueError(
            f"Labels {np.unique(y[~known]).tolist()} are not among the classes "
            f"{est.classes_.tolist()} this {type(est).__name__} was fitted on: {where}"
        )
    return est._label_encoder.transform(y).astype(np.int64)


def check_same_classes(est, classes):
    """A later ``partial_fit(classes=...)`` must name the classes of the first call.

    scikit-learn's rule (``SGDClassifier.partial_fit``): the output layer was
    built for the first call's classes.
    """
    if classes is None:
        return
    given = np.unique(np.asarray(classes))
    if len(given) != len(est.classes_) or not np.array_equal(given, est.classes_):
        raise ValueError(
            f"classes={np.asarray(classes).tolist()} differs from the classes of the first "
            f"call to partial_fit, {est.classes_.tolist()}: the network's output layer was "
            "built for those. Pass the same classes (or none) to every later call, or fit "
            "a new classifier."
        )


def check_groups(groups, n_trials):
    """``groups`` as a 1-D array of ``n_trials`` comparable labels, or None.

    The one rule for ``groups`` in skeeg: the classifiers' ``fit`` and
    :class:`skeeg.preprocessing.EuclideanAlignment`.
    """
    if groups is None:
        return None
    groups = np.asarray(as_numpy(groups, "groups"))
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
    if groups.dtype.kind in "fc" and not np.isfinite(groups).all():  # as the classifiers'
        raise ValueError(
            f"groups has infinite values at position(s) "
            f"{np.flatnonzero(~np.isfinite(groups))[:10].tolist()}: give every trial a "
            "group label."
        )
    try:
        np.unique(groups)
    except TypeError:
        raise ValueError(
            "groups mixes types that cannot be compared (e.g. numbers and "
            "strings); use labels of one type."
        ) from None
    return groups
