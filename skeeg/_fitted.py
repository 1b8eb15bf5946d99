"""What a fitted classifier holds: one declaration of its fitted attributes, checked by load.

The second table beside the parameters' (:mod:`skeeg._params`): each fitted
attribute and the rule its value follows, then the rules between them. A fit
produces values that pass it (``fit`` checks its own result once, at its
end); ``skeeg.load`` checks a file's values against the same table, so an
edited file is refused naming the attribute and the rule, not later by an
error that blames the trials or the learning rate. Every attribute of the
table must be present; attributes outside it (added by later code, as for
MNE input) are kept as they are. :func:`check_history` holds the rules of
skorch's per-epoch records (``net_.history``), from which ``history_`` is
derived.
"""

import math
import numbers

import re

import numpy as np

# Sampling rates a fitted model may record, in Hz (as for the data sidecars).
SFREQ_RANGE = (1e-3, 1e6)
# Devices a model may have been trained on and name in its file.
DEVICE_TYPES = ("cpu", "cuda")
# Where float32 holds a number and its inverse as normal numbers: a scale_
# outside would turn the standardised trials into zeros or infinities.
_FLOAT32 = np.finfo(np.float32)


def _positive_int(value):
    return (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and value >= 1)


def _sorted_distinct(value, at_least):
    """A 1-D array of distinct values in ``np.unique``'s order (fit's labels, groups)."""
    if (not isinstance(value, np.ndarray) or value.ndim != 1 or len(value) < at_least
            or value.dtype.kind not in "biufUO"):
        return False
    try:
        ordered = np.unique(value)
    except TypeError:  # incomparable values (None, mixed kinds)
        return False
    # NaN is never equal to itself: arrays holding it are refused here.
    return len(ordered) == len(value) and bool((ordered == value).all())


def _labels(value):
    return _sorted_distinct(value, at_least=2)


def _offsets(value):
    return (isinstance(value, np.ndarray) and value.dtype == np.float32 and value.ndim == 1
            and bool(np.isfinite(value).all()))


def _scale(value):
    # float32 computes with scale_ and 1 / scale_: both must be normal float32 numbers.
    if not isinstance(value, float) or not math.isfinite(value) or value <= 0:
        return False
    return _FLOAT32.tiny <= value <= _FLOAT32.max and _FLOAT32.tiny <= 1 / value <= _FLOAT32.max


def _names(value):
    return value is None or (isinstance(value, list) and all(isinstance(n, str) for n in value)
                             and len(set(value)) == len(value))


def _rate(value):
    # A float, as fit records it from the Epochs' info (np.float64 is one too).
    return value is None or (isinstance(value, float)
                             and SFREQ_RANGE[0] <= value <= SFREQ_RANGE[1])


def _device(value):
    if not isinstance(value, str):
        return False
    kind, _, index = value.partition(":")
    return kind in DEVICE_TYPES and (not index or index.isdigit())


def _groups(value):
    return value is None or _sorted_distinct(value, at_least=1)


# attribute: (rule, what the rule asks, in the words of an error)
FITTED = {
    "n_channels_": (_positive_int, "a positive integer"),
    "n_times_": (_positive_int, "a positive integer"),
    "n_features_in_": (_positive_int, "a positive integer"),
    "classes_": (_labels, "a 1-D array of at least 2 distinct labels (of one kind, no NaN), "
                          "in sorted order as fit records them"),
    "channel_mean_": (_offsets, "a 1-D float32 array of finite values"),
    "scale_": (_scale, f"a positive float such that it and its inverse lie in "
                       f"[{_FLOAT32.tiny:.3g}, {_FLOAT32.max:.3g}] (float32)"),
    "ch_names_": (_names, "None or a list of distinct channel names"),
    "sfreq_": (_rate, f"None or a float sampling rate in [{SFREQ_RANGE[0]:g}, "
                      f"{SFREQ_RANGE[1]:g}] Hz"),
    "device_": (_device, "'cpu', 'cuda' or 'cuda:N'"),
    "cuda_graph_": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "validation_groups_": (_groups, "None or a 1-D array of distinct groups in sorted order "
                                    "(no NaN or None)"),
}


def _feature_names(value):
    return (isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype == object
            and len(value) >= 1 and all(isinstance(v, str) for v in value)
            and len(set(value)) == len(value))


# Set by some fits only: feature_names_in_ by a fit on a pandas DataFrame (2-D X).
FITTED_OPTIONAL = {
    "feature_names_in_": (_feature_names, "a 1-D object array of distinct column names"),
}


# What a new fit learns from the data before it trains (the rules between them need all).
_LEARNT_FIRST = ("n_channels_", "n_times_", "n_features_in_", "classes_", "channel_mean_",
                 "scale_", "ch_names_", "sfreq_")


def check_fitted_state(est, learnt=False):
    """Check ``est``'s fitted attributes against :data:`FITTED`, then the rules between them.

    Parameters
    ----------
    est : skeeg classifier
    learnt : bool, default=False
        Check only the attributes already set: what a fit has learnt from
        the data before training (labels, shapes, scaling, sampling rate),
        so that data no fitted model could hold is refused before any epoch.

    Raises
    ------
    ValueError
        Naming the attribute, its value and the rule.
    """
    for name, (rule, what) in FITTED.items():
        if not hasattr(est, name):
            if learnt:
                continue
            raise ValueError(f"the fitted attribute {name} is missing; it must be {what}.")
        value = getattr(est, name)
        if not rule(value):
            raise ValueError(f"the fitted attribute {name} is {value!r:.60}; it must be {what}.")
    if learnt and not all(hasattr(est, name) for name in _LEARNT_FIRST):
        return
    for name, (rule, what) in FITTED_OPTIONAL.items():
        if hasattr(est, name) and not rule(getattr(est, name)):
            raise ValueError(f"the fitted attribute {name} is {getattr(est, name)!r:.60}; it "
                             f"must be {what}.")
    names = getattr(est, "feature_names_in_", None)
    if names is not None and len(names) != est.n_features_in_:
        raise ValueError(
            f"the fitted attribute feature_names_in_ names {len(names)} columns; the model has "
            f"n_features_in_={est.n_features_in_}."
        )
    if est.channel_mean_.shape != (est.n_channels_,):
        raise ValueError(
            f"the fitted attribute channel_mean_ has shape {est.channel_mean_.shape}; it must "
            f"hold one offset per channel, ({est.n_channels_},)."
        )
    if est.ch_names_ is not None and len(est.ch_names_) != est.n_channels_:
        raise ValueError(
            f"the fitted attribute ch_names_ names {len(est.ch_names_)} channels; the model "
            f"has n_channels_={est.n_channels_}."
        )
    if est.n_features_in_ not in (est.n_channels_, est.n_times_):
        raise ValueError(
            f"the fitted attribute n_features_in_={est.n_features_in_} is neither the "
            f"channels ({est.n_channels_}) nor, for 2-D input, the samples ({est.n_times_})."
        )
    crop_length = getattr(est, "crop_length", None)
    if crop_length is not None and crop_length > est.n_times_:
        raise ValueError(
            f"crop_length={crop_length} is longer than the fitted trials (n_times_="
            f"{est.n_times_}): crops are cut from the trials."
        )


# ----------------------------------------------------------------------
# skorch's per-epoch records (net_.history), as a fit leaves them. Keys
# that other callbacks add (scores of the user's own) are free; skeeg's
# and skorch's own follow these rules (a fit stops on a non-finite loss).
def _finite(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and math.isfinite(value))


def _loss(value):
    # skeeg's losses are (weighted) cross-entropies: never negative.
    return _finite(value) and value >= 0


def _count(value):
    return (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and value >= 0)


EPOCH_RECORDS = {
    "dur": (lambda v: _finite(v) and v >= 0, "a finite duration in seconds, >= 0"),
    "train_loss": (_loss, "a finite loss, >= 0"),
    "valid_loss": (_loss, "a finite loss, >= 0"),
    "train_acc": (lambda v: _finite(v) and 0 <= v <= 1, "an accuracy in [0, 1]"),
    "valid_acc": (lambda v: _finite(v) and 0 <= v <= 1, "an accuracy in [0, 1]"),
    "train_batch_count": (_count, "a count, >= 0"),
    "valid_batch_count": (_count, "a count, >= 0"),
}
BATCH_RECORDS = {
    "train_loss": (_loss, "a finite loss, >= 0"),
    "valid_loss": (_loss, "a finite loss, >= 0"),
    "train_batch_size": (lambda v: _count(v) and v >= 1, "a batch size, >= 1"),
    "valid_batch_size": (lambda v: _count(v) and v >= 1, "a batch size, >= 1"),
}


def check_history(records, n_members=1):
    """Check skorch's per-epoch records of a fitted net (``net_.history``).

    Parameters
    ----------
    records : list of dict
        One record per epoch, as skorch keeps them: ``epoch`` numbers 1, 2,
        ... in order, ``batches`` a list of per-batch records, and the keys
        of :data:`EPOCH_RECORDS` / :data:`BATCH_RECORDS` (and ``*_best``
        flags) following their rules; with ``n_members`` above 1, each
        member's finite ``train_loss_m{i}`` (and ``valid_loss_m{i}`` where
        the epoch has ``valid_loss``), for members ``0 .. n_members - 1``
        only.

    Raises
    ------
    ValueError
        Naming the epoch, the key and the rule.
    """
    if not isinstance(records, list) or not records:
        raise ValueError("net_.history must be a non-empty list of per-epoch records.")
    for number, record in enumerate(records, start=1):
        where = f"net_.history epoch {number}"
        _check_record(record, EPOCH_RECORDS, where)
        if record.get("epoch") != number or isinstance(record.get("epoch"), bool):
            raise ValueError(f"{where} is numbered {record.get('epoch')!r:.40}; epochs are "
                             "numbered 1, 2, ... in order.")
        _check_members(record, n_members, where)
        batches = record.get("batches", [])
        if not isinstance(batches, list):
            raise ValueError(f"{where}: its batches are {batches!r:.40}, not a list.")
        for index, batch in enumerate(batches):
            _check_record(batch, BATCH_RECORDS, f"{where} batch {index}")


def _check_members(record, n_members, where):
    """Each member's losses in an epoch record: present for every member, finite, none more."""
    found = {key for key in record if re.fullmatch(r"(train|valid)_loss_m\d+", key)}
    expected = set()
    if n_members > 1:
        prefixes = ["train"] + (["valid"] if "valid_loss" in record else [])
        expected = {f"{p}_loss_m{i}" for p in prefixes for i in range(n_members)}
    if found != expected:
        missing, extra = sorted(expected - found), sorted(found - expected)
        raise ValueError(
            f"{where}: its member losses do not match n_members={n_members}"
            + (f"; missing {missing[:8]}" if missing else "")
            + (f"; not of any member {extra[:8]}" if extra else "") + "."
        )
    for key in found:
        if not _loss(record[key]):
            raise ValueError(f"{where}: {key} is {record[key]!r:.40}; it must be a finite loss, "
                             ">= 0.")


def _check_record(record, rules, where):
    if not isinstance(record, dict) or not all(isinstance(key, str) for key in record):
        raise ValueError(f"{where} is not a record of named values ({str(record):.60}).")
    for key, value in record.items():
        rule, what = rules.get(key, (None, None))
        if key.endswith("_best"):
            rule, what = (lambda v: isinstance(v, (bool, np.bool_))), "True or False"
        if rule is not None and not rule(value):
            raise ValueError(f"{where}: {key} is {value!r:.40}; it must be {what}.")
