"""Validation of the arguments of the skeeg architectures.

Each model declares its keyword arguments in a scikit-learn table
(``_parameter_constraints``, made of the constraints below) and checks them
with :func:`validate_arguments`; its classifier shares the same entries.
:func:`check_shape` checks the data's dimensions, and
:func:`check_input_length` gives the smallest ``n_times`` a stack of layers
accepts.
"""

import numbers

from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints

from .._constraints import IntRange, Names, PositiveInts, RealRange

# The constraints the models' tables are made of (each model declares its
# arguments in ``_parameter_constraints``, which its classifier shares).
# Sizes (filters, kernel lengths, units) up to 2**24: beyond, no network fits
# in memory, and torch's allocator would fail with no parameter named.
MAX_SIZE = 1 << 24
POSITIVE = [IntRange(1, MAX_SIZE, closed="both")]
POSITIVES = [PositiveInts(MAX_SIZE)]
# Stacked blocks: a transformer of 64 layers is already far beyond EEG data;
# a temporal convolutional network's dilation doubles with each block.
DEPTH = [IntRange(1, 64, closed="both")]
TCN_DEPTH = [IntRange(1, 16, closed="both")]
DROPOUT = [RealRange(0, 1, closed="left")]
BOOLEAN = ["boolean"]


def names(*options):
    """A choice among ``options``, in any case, with or without underscores."""
    return [Names(options)]


def options(*values):
    """One of ``values``, exactly."""
    return [StrOptions(set(values))]


def validate_arguments(module, arguments):
    """Check a model's keyword arguments against its table, as its classifier does.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) naming the argument, the
        model and what the argument may be.
    """
    table = type(module)._parameter_constraints
    validate_parameter_constraints(
        table, {name: arguments[name] for name in table}, caller_name=type(module).__name__
    )


def check_shape(n_channels, n_times, n_classes):
    """Validate the three leading arguments shared by every model.

    Returns
    -------
    n_channels, n_times, n_classes : int
    """
    n_channels = check_positive_int(n_channels, "n_channels")
    n_times = check_positive_int(n_times, "n_times")
    if not _is_int(n_classes, minimum=2):
        raise ValueError(
            f"n_classes must be an integer from 2 to {MAX_SIZE}, got {n_classes!r}."
        )
    return n_channels, n_times, int(n_classes)


def check_positive_int(value, name):
    """Return ``value`` as an int, or raise if it is not a positive integer."""
    if not _is_int(value):
        raise ValueError(f"{name} must be a positive integer up to {MAX_SIZE}, got {value!r}.")
    return int(value)


def check_input_length(length, output_length, name, description):
    """Raise a ``ValueError`` naming the minimum when ``length`` is too short.

    Parameters
    ----------
    length : int
        The input length to check, e.g. ``n_times``.
    output_length : callable
        As in :func:`minimum_input_length`.
    name : str
        Name of the argument, used in the message.
    description : str
        The model and its settings, used in the message.
    """
    if output_length(length) < 1:
        minimum = minimum_input_length(output_length)
        raise ValueError(
            f"{name}={length} is too short for {description}; "
            f"it needs at least {name}={minimum}."
        )


def minimum_input_length(output_length):
    """Smallest input length for which a stack of layers gives any output.

    Parameters
    ----------
    output_length : callable
        Maps an input length to the output length of the stack, built from
        :func:`~skeeg.models.conv_output_length` and
        :func:`~skeeg.models.pool_output_length`.

    Returns
    -------
    length : int
        The smallest positive input length whose output length is at least 1.

    Examples
    --------
    >>> from skeeg.models import minimum_input_length, pool_output_length
    >>> minimum_input_length(lambda n: pool_output_length(n, 8))
    8
    """
    # Output lengths never decrease as the input grows: double, then bisect,
    # so even long pooling windows cost only a few evaluations.
    high = 1
    while output_length(high) < 1:
        high *= 2
    low = high // 2  # too short, or 0 when high == 1
    while high - low > 1:
        middle = (low + high) // 2
        if output_length(middle) < 1:
            low = middle
        else:
            high = middle
    return high


def quoted(names):
    """``"a", "b", "c"``: valid names, for error messages."""
    return ", ".join(f'"{name}"' for name in names)


def _is_int(value, minimum=1):
    is_integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return is_integer and minimum <= value <= MAX_SIZE
