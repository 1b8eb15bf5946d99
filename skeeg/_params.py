"""Parameters declared once: the classifiers' table.

Every estimator and transform declares its parameters in one table,
scikit-learn's ``_parameter_constraints``, validated with
:meth:`sklearn.base.BaseEstimator._validate_params`, whose message names the
parameter, the class, the accepted values and the value given. The
classifiers' training parameters are the table :data:`TRAINING`, checked by
:func:`check_params` once per fit and by ``skeeg.load`` on a file's
parameters; what a table cannot say (the entries of ``callbacks``, each
transform of ``augmentation``, the module class of ``EEGClassifier``, the
optimiser's name) and the rules between parameters follow it, in
:func:`check_params`, and nothing runs per batch.
The constraints themselves (ranges that refuse booleans and take any real
number) are in :mod:`skeeg._constraints`, shared with the transforms'
tables.
"""

import math
from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions
import skorch.callbacks.lr_scheduler as skorch_schedulers
from skorch.callbacks import Callback, GradientNormClipping, LRScheduler

from .augmentation import check_augmentation
from ._constraints import IntRange, RealRange
from ._training import PRECISIONS, resolve_optimizer
from .models._init import INITIALIZATIONS

__all__ = ["TRAINING", "CLASS_WEIGHT_RANGE", "check_params", "check_combinations"]

# A class weight is 0 or in this range. The loss, in float32, is the
# weighted mean over a batch: only the ratios of the weights count, and a
# batch's sum of weighted losses must stay finite (float32 ends at 3.4e38,
# and its smallest normal number is 1.2e-38).
CLASS_WEIGHT_RANGE = (1e-30, 1e30)
FLOAT32_MAX = float(np.finfo(np.float32).max)


# Networks one fit may train (n_members).
MAX_MEMBERS = 1024

# The classifiers' training parameters. A subclass adds its own entries.
TRAINING = {
    "max_epochs": [IntRange(1, None, closed="left")],
    "batch_size": [IntRange(1, None, closed="left")],
    # The optimisers multiply float32 weights by these: beyond float32 they overflow.
    "lr": [RealRange(0, FLOAT32_MAX, closed="neither")],
    "optimizer": [str, type],
    "weight_decay": [RealRange(0, FLOAT32_MAX, closed="left")],
    "validation_fraction": [RealRange(0, 1, closed="left")],
    "early_stopping": ["boolean"],
    "patience": [IntRange(1, None, closed="left")],
    "class_weight": [None, StrOptions({"balanced"}), dict],
    "init": [StrOptions(set(INITIALIZATIONS))],
    "device": [str, torch.device],
    "precision": [StrOptions(set(PRECISIONS))],
    "cuda_graph": ["boolean"],
    "standardize": ["boolean"],
    "warm_start": ["boolean"],
    "freeze": [None, StrOptions({"features"})],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [None, list, tuple],
    "augmentation": "no_validation",  # transforms and lists of them: check_augmentation
    "crop_length": [None, IntRange(1, None, closed="left")],
    "crop_stride": [None, IntRange(1, None, closed="left")],
    # Bounded so that a typo cannot ask for millions of networks; memory is
    # checked against the device when the members are built.
    "n_members": [IntRange(1, MAX_MEMBERS, closed="both")],
}


def check_params(estimator):
    """Check a classifier's parameters: its table, then what a table cannot say.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) naming the parameter, or
        ``ValueError`` / ``TypeError`` for the entries of a list.
    """
    estimator._validate_params()
    _check_class_weight(estimator.class_weight)
    _check_callbacks(estimator.callbacks)
    try:
        check_augmentation(estimator.augmentation)
    except ValueError as error:  # a transform's parameter; TypeErrors name augmentation
        raise ValueError(f"augmentation: {error}") from error
    resolve_optimizer(estimator.optimizer)
    module = getattr(estimator, "module", None)
    if "module" in estimator._parameter_constraints:
        _check_module(module)
    check_combinations(estimator)


def check_combinations(estimator):
    """The rules between parameters, in one place."""
    if estimator.early_stopping and estimator.validation_fraction == 0:
        raise ValueError(
            "early_stopping=True watches the validation loss, so it needs "
            "validation_fraction > 0 (for example 0.2), or set early_stopping=False."
        )
    if estimator.crop_stride is not None and estimator.crop_length is None:
        raise ValueError(
            f"crop_stride={estimator.crop_stride!r} needs crop_length: the stride is that of "
            "the crops averaged for a prediction. Set crop_length (samples per crop), or "
            "leave crop_stride=None."
        )


def _check_class_weight(class_weight):
    """A dict's weights: real numbers, 0 or within :data:`CLASS_WEIGHT_RANGE`.

    Its labels are checked against the classes once they are known
    (:func:`skeeg._fitting.class_weights`).
    """
    if not isinstance(class_weight, dict):
        return
    low, high = CLASS_WEIGHT_RANGE
    for label, weight in class_weight.items():
        if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, Real):
            raise ValueError(
                f"class_weight={class_weight!r:.200} cannot weigh the classes: the weight of "
                f"{label!r} is {weight!r:.50}, not a real number. Give a dict mapping labels "
                "to numbers, 'balanced' or None."
            )
        try:
            value = float(weight)
        except OverflowError:  # a Fraction beyond any float
            value = math.inf
        if not (value == 0 or low <= value <= high):
            raise ValueError(
                f"class_weight must give each class a finite, non-negative weight, 0 or "
                f"between {low:g} and {high:g}; the weight of {label!r} is {weight!r:.50}. "
                "The loss is computed in float32 and only the ratios of the weights count: "
                "divide them all by one number."
            )


def _check_callbacks(callbacks):
    """Each entry a skorch callback or a ``(name, callback)`` pair."""
    for i, entry in enumerate(callbacks or ()):
        callback = entry
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
            callback = entry[1]
        if not isinstance(callback, Callback):
            hint = (
                " (a class: pass an instance, for example EarlyStopping())"
                if isinstance(callback, type) else ""
            )
            raise TypeError(
                f"callbacks[{i}] must be a skorch Callback instance or a (name, Callback) "
                f"pair; got {entry!r}{hint}."
            )
        _check_callback_values(f"callbacks[{i}] ({type(callback).__name__})", callback)


def _check_callback_values(name, callback):
    """What skorch leaves to the first epoch: NaN arguments, clipping's sign, a scheduler's name.

    A negative clipping value turns each step around (gradient ascent, without a
    word), and a NaN argument reaches the optimiser as a divergence blamed on ``lr``.
    """
    try:
        params = callback.get_params(deep=False)
    except Exception:  # noqa: BLE001 - a user's callback without scikit-learn's protocol
        return
    for key, value in params.items():
        if isinstance(value, Real) and not isinstance(value, bool) and math.isnan(value):
            raise ValueError(f"{name}: {key} is NaN; give a number.")
    if isinstance(callback, GradientNormClipping):
        value, norm = params.get("gradient_clip_value"), params.get("gradient_clip_norm_type")
        if value is not None and not (isinstance(value, Real) and 0 < value < math.inf):
            raise ValueError(
                f"{name}: gradient_clip_value={value!r} must be a finite number > 0 (or None "
                "for no clipping); a negative one reverses every step."
            )
        if not (isinstance(norm, Real) and not isinstance(norm, bool) and norm > 0):
            raise ValueError(f"{name}: gradient_clip_norm_type={norm!r} must be a number > 0 "
                             "(2 for the Euclidean norm, inf for the largest value).")
    if isinstance(callback, LRScheduler) and isinstance(callback.policy, str):
        # skorch resolves a name in its own module only (torch's common schedulers).
        if not hasattr(skorch_schedulers, callback.policy):
            fix = (f"pass the class, torch.optim.lr_scheduler.{callback.policy}"
                   if hasattr(torch.optim.lr_scheduler, callback.policy) else
                   "pass a scheduler class, or a name skorch knows (StepLR, CyclicLR, "
                   "ReduceLROnPlateau...)")
            raise ValueError(f"{name}: policy={callback.policy!r} is no name skorch resolves; "
                             f"{fix}.")


def _check_module(module):
    """EEGClassifier's ``module``: a ``torch.nn.Module`` subclass, not an instance."""
    if not (isinstance(module, type) and issubclass(module, torch.nn.Module)):
        hint = (
            f" (an instance: pass its class, {type(module).__name__}, and its "
            "arguments in module_params)"
            if isinstance(module, torch.nn.Module) else ""
        )
        raise TypeError(f"module must be a torch.nn.Module subclass; got {module!r}{hint}.")
