"""What a fitted classifier holds: one declaration of its fitted attributes, checked by load.

The second table beside the parameters' (:mod:`skeeg._params`): each fitted
attribute and the rule its value follows, then the rules between them. A fit
produces values that pass it (``fit`` checks its own result once, at its
end); ``skeeg.load`` checks a file's values against the same table, so an
edited file is refused naming the attribute and the rule, not later by an
error that blames the trials or the learning rate.
"""

import math
import numbers

import numpy as np

# Sampling rates a fitted model may record, in Hz (as for the data sidecars).
SFREQ_RANGE = (1e-3, 1e6)
# Devices a model may have been trained on and name in its file.
DEVICE_TYPES = ("cpu", "cuda")


def _positive_int(value):
    return (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and value >= 1)


def _labels(value):
    if not isinstance(value, np.ndarray) or value.ndim != 1 or len(value) < 2:
        return False
    try:
        return len(np.unique(value)) == len(value)
    except TypeError:  # incomparable labels
        return False


def _offsets(value):
    return (isinstance(value, np.ndarray) and value.dtype == np.float32 and value.ndim == 1
            and bool(np.isfinite(value).all()))


def _scale(value):
    # float32 computes with 1 / scale_: both must be finite and not zero there.
    return (isinstance(value, float) and math.isfinite(value) and value > 0
            and np.isfinite(np.float32(1.0 / value)) and np.float32(value) > 0)


def _names(value):
    return value is None or (isinstance(value, list) and all(isinstance(n, str) for n in value)
                             and len(set(value)) == len(value))


def _rate(value):
    return value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool)
                             and SFREQ_RANGE[0] <= value <= SFREQ_RANGE[1])


def _device(value):
    if not isinstance(value, str):
        return False
    kind, _, index = value.partition(":")
    return kind in DEVICE_TYPES and (not index or index.isdigit())


def _groups(value):
    return value is None or (isinstance(value, np.ndarray) and value.ndim == 1)


# attribute: (rule, what the rule asks, in the words of an error)
FITTED = {
    "n_channels_": (_positive_int, "a positive integer"),
    "n_times_": (_positive_int, "a positive integer"),
    "n_features_in_": (_positive_int, "a positive integer"),
    "classes_": (_labels, "a 1-D array of at least 2 distinct, comparable labels"),
    "channel_mean_": (_offsets, "a 1-D float32 array of finite values"),
    "scale_": (_scale, "a positive float whose inverse float32 holds"),
    "ch_names_": (_names, "None or a list of distinct channel names"),
    "sfreq_": (_rate, f"None or a sampling rate in [{SFREQ_RANGE[0]:g}, {SFREQ_RANGE[1]:g}] Hz"),
    "device_": (_device, "'cpu', 'cuda' or 'cuda:N'"),
    "cuda_graph_": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "validation_groups_": (_groups, "None or a 1-D array"),
}


def check_fitted_state(est):
    """Check ``est``'s fitted attributes against :data:`FITTED`, then the rules between them.

    Raises
    ------
    ValueError
        Naming the attribute, its value and the rule.
    """
    for name, (rule, what) in FITTED.items():
        value = getattr(est, name, None)
        if not rule(value):
            raise ValueError(f"the fitted attribute {name} is {value!r:.60}; it must be {what}.")
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
