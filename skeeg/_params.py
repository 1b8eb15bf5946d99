"""The training parameters every skeeg classifier shares: one table, checked once per fit.

Each entry names a parameter and the rule its value must follow; the rules
are small objects whose ``check`` raises the one message the user sees. A
classifier's architecture parameters are its torch module's arguments and
are checked by that module's constructor (``skeeg.models``), where they are
declared. Rules between parameters live in :func:`check_combinations`, in
one place. Nothing here runs per batch: ``fit`` calls :func:`check_params`
once, and ``skeeg.load`` calls it on a file's parameters.
"""

import numbers

import numpy as np
import torch
from skorch.callbacks import Callback

from .augmentation import check_augmentation
from ._net import PRECISIONS

# What ``freeze`` may hold: nothing frozen, or everything but the classifier head.
FREEZE = (None, "features")


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


class Rule:
    """A constraint on one parameter's value: ``check`` raises, naming the parameter."""

    def check(self, name, value):  # pragma: no cover - every rule defines it
        raise NotImplementedError


class PositiveInt(Rule):
    def __init__(self, optional=False, unit=""):
        self.optional, self.unit = optional, unit

    def check(self, name, value):
        if self.optional and value is None:
            return
        if not _is_int(value) or value < 1:
            what = f"a positive integer{self.unit}" + (" or None" if self.optional else "")
            raise ValueError(f"{name} must be {what}; got {value!r}.")


class Real(Rule):
    """A real number (not a bool) above ``low`` (``>=`` when ``closed``), below ``high``."""

    def __init__(self, low, closed, description, high=None):
        self.low, self.closed, self.high, self.description = low, closed, high, description

    def check(self, name, value):
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        ok = ok and (value >= self.low if self.closed else value > self.low)
        ok = ok and (self.high is None or value < self.high)
        if not ok:
            raise ValueError(f"{name} must be {self.description}; got {value!r}.")


class Boolean(Rule):
    def check(self, name, value):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False; got {value!r}.")


class NonNegativeInt(Rule):
    def __init__(self, meaning=""):
        self.meaning = meaning

    def check(self, name, value):
        if not _is_int(value) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer{self.meaning}; got {value!r}.")


class OneOf(Rule):
    def __init__(self, choices, show=None):
        self.choices, self.show = tuple(choices), show

    def check(self, name, value):
        try:
            known = value in self.choices
        except TypeError:  # unhashable or incomparable
            known = False
        if not known or (value is not None and not isinstance(value, str)):
            shown = self.show if self.show is not None else self.choices
            raise ValueError(f"{name} must be one of {shown}; got {value!r}.")


class Callbacks(Rule):
    """skorch callbacks, or ``(name, callback)`` pairs, or None."""

    def check(self, name, value):
        if value is None:
            return
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of skorch callbacks or None; got {value!r}.")
        for i, entry in enumerate(value):
            callback = entry
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
                callback = entry[1]
            if not isinstance(callback, Callback):
                hint = (
                    " (a class: pass an instance, for example EarlyStopping())"
                    if isinstance(callback, type) else ""
                )
                raise TypeError(
                    f"{name}[{i}] must be a skorch Callback instance or a (name, Callback) "
                    f"pair; got {entry!r}{hint}."
                )


class Augmentation(Rule):
    """Transforms of :mod:`skeeg.augmentation`, each checked by its own table."""

    def check(self, name, value):
        try:
            check_augmentation(value)
        except ValueError as error:  # a transform's parameter; TypeErrors name augmentation
            raise ValueError(f"{name}: {error}") from error


class ModuleClass(Rule):
    """A ``torch.nn.Module`` subclass (not an instance)."""

    def check(self, name, value):
        if not (isinstance(value, type) and issubclass(value, torch.nn.Module)):
            hint = (
                f" (an instance: pass its class, {type(value).__name__}, and its "
                "arguments in module_params)"
                if isinstance(value, torch.nn.Module) else ""
            )
            raise TypeError(f"{name} must be a torch.nn.Module subclass; got {value!r}{hint}.")


class Keywords(Rule):
    """A dict of keyword arguments, or None."""

    def check(self, name, value):
        if value is not None and not isinstance(value, dict):
            raise TypeError(
                f"{name} must be a dict of keyword arguments or None; got {value!r}."
            )


# The shared training parameters, in the order of the constructor. optimizer,
# class_weight, init and device are resolved where they are used (their
# messages list what they may be), and random_state by scikit-learn.
TRAINING = {
    "max_epochs": PositiveInt(),
    "batch_size": PositiveInt(),
    "lr": Real(0, False, "a positive number"),
    "weight_decay": Real(0, True, "a non-negative number"),
    "validation_fraction": Real(0, True, "in [0, 1)", high=1),
    "early_stopping": Boolean(),
    "patience": PositiveInt(),
    "precision": OneOf(PRECISIONS, show=sorted(PRECISIONS)),
    "cuda_graph": Boolean(),
    "standardize": Boolean(),
    "warm_start": Boolean(),
    "freeze": OneOf(FREEZE),
    "verbose": NonNegativeInt(" (0 silent, 1 epoch table, 2 progress bar too)"),
    "callbacks": Callbacks(),
    "augmentation": Augmentation(),
    "crop_length": PositiveInt(optional=True, unit=" (samples)"),
    "crop_stride": PositiveInt(optional=True, unit=" (samples)"),
}


def check_params(estimator):
    """Check every declared parameter of ``estimator``, then the rules between them.

    The table is the class's ``_parameter_table`` (``TRAINING`` plus what a
    subclass adds); a rule's error names the parameter and what it must be.
    """
    for name, rule in estimator._parameter_table.items():
        rule.check(name, getattr(estimator, name))
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
