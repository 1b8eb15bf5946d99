"""Constraints for the parameter tables of skeeg's transforms and transformers.

Each class declares its parameters once, in scikit-learn's
``_parameter_constraints`` table, and validates them with
:meth:`sklearn.base.BaseEstimator._validate_params`, whose message names the
parameter, the class, the accepted values and the value given.
scikit-learn's :class:`~sklearn.utils._param_validation.Interval` accepts
``True`` as the number 1 and raises a bare ``TypeError`` from ``numpy.isnan``
on a :class:`fractions.Fraction`; the ranges below refuse booleans and
compare every real number as the float it is used as.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError, Interval, Options, StrOptions

__all__ = ["SFREQ_RANGE", "IntRange", "Names", "PositiveInts", "RealPair", "RealRange", "refuse"]

#: Sampling rates, in Hz, that skeeg takes from a parameter or a file: from
#: slow physiological series to ten times what EEG, MEG and intracranial
#: amplifiers record at. A rate outside is a mistake of units, and 1e308 or
#: 1e-300 would overflow or vanish in float32 arithmetic (time in seconds,
#: phases of a frequency shift).
SFREQ_RANGE = (1e-3, 1e6)


def _as_float(value):
    """``value`` as a float, or None when it is no real number (bools included)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        return None
    try:
        return float(value)  # Fraction and numpy scalars too
    except (OverflowError, TypeError, ValueError):  # Fraction(10**400): beyond any range
        return None


class RealRange(Interval):
    """Real numbers in an interval: int, float, numpy scalars, Fraction; not bool, not NaN.

    Parameters
    ----------
    left, right : float or None
        Bounds; None is unbounded.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(self, left, right, *, closed):
        super().__init__(Real, left, right, closed=closed)

    def is_satisfied_by(self, val):
        value = _as_float(val)
        return value is not None and not math.isnan(value) and value in self

    def __str__(self):
        return super().__str__().replace("a float", "a real number", 1)


class IntRange(Interval):
    """Integers in an interval: int and numpy integers, not bool.

    Parameters
    ----------
    left, right : int or None
        Bounds; None is unbounded.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(self, left, right, *, closed):
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)

    def __str__(self):
        return super().__str__().replace("an int", "an integer", 1)


class RealPair(RealRange):
    """A pair ``(low, high)``, tuple, list or 1-D array, of real numbers in range with ``low <= high``.

    Parameters
    ----------
    left, right : float or None
        Bounds of both numbers; None is unbounded.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    def is_satisfied_by(self, val):
        if isinstance(val, np.ndarray) and val.ndim != 1:
            return False
        if not isinstance(val, (tuple, list, np.ndarray)) or len(val) != 2:
            return False
        if not all(super(RealPair, self).is_satisfied_by(v) for v in val):
            return False
        return float(val[0]) <= float(val[1])

    def __str__(self):
        return f"a pair (low, high) with low <= high, each {super().__str__()}"


def refuse(owner, name, requirement, value):
    """Raise scikit-learn's error for a parameter that breaks a rule between parameters.

    Parameters
    ----------
    owner : object
        The estimator or transform whose parameter it is.
    name : str
        The parameter's name.
    requirement : str
        What the value must be, e.g. ``"below sfreq / 2 = 50.0 Hz"``.
    value : object
        The value given.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        Always; a ``ValueError`` (and a ``TypeError``), worded as the table's
        own refusals.
    """
    raise InvalidParameterError(
        f"The {name!r} parameter of {type(owner).__name__} must be {requirement}. "
        f"Got {value!r} instead."
    )


class PositiveInts(Options):
    """A non-empty sequence (tuple, list, 1-D array) of positive integers, not bools.

    An ``Options`` in form only: scikit-learn's validation takes no other
    kinds of constraint objects.
    """

    def __init__(self, maximum=None):
        super().__init__(object, set())
        self.maximum = maximum

    def is_satisfied_by(self, val):
        if isinstance(val, (str, bytes)) or not hasattr(val, "__iter__"):
            return False
        if isinstance(val, np.ndarray) and val.ndim != 1:
            return False
        items = list(val)
        return bool(items) and all(
            isinstance(v, Integral) and not isinstance(v, (bool, np.bool_)) and v >= 1
            and (self.maximum is None or v <= self.maximum)
            for v in items
        )

    def __str__(self):
        bound = "" if self.maximum is None else f" up to {self.maximum}"
        return f"a non-empty sequence of positive integers{bound}"


class Names(StrOptions):
    """One of ``options``, compared after ``normalize`` (case and underscores, say)."""

    def __init__(self, options, normalize=lambda name: name.replace("_", "").lower()):
        super().__init__(set(options))
        self.names, self.normalize = tuple(options), normalize
        self._known = {normalize(option) for option in options}

    def is_satisfied_by(self, val):
        return isinstance(val, str) and self.normalize(val) in self._known

    def __str__(self):
        return f"a str among {list(self.names)} (any case)"

