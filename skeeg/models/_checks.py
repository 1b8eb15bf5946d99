"""Validation of the arguments of the skeeg architectures.

Each check returns the value in its plain Python type or raises a
``ValueError`` that names the argument; :func:`check_input_length` also
gives the smallest ``n_times`` a stack of layers accepts.
"""

import numbers


def check_shape(n_channels, n_times, n_classes):
    """Validate the three leading arguments shared by every model.

    Returns
    -------
    n_channels, n_times, n_classes : int
    """
    n_channels = check_positive_int(n_channels, "n_channels")
    n_times = check_positive_int(n_times, "n_times")
    if not _is_int(n_classes, minimum=2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    return n_channels, n_times, int(n_classes)


def check_positive_int(value, name):
    """Return ``value`` as an int, or raise if it is not a positive integer."""
    if not _is_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_positive_ints(values, name):
    """Return ``values`` as a tuple of ints, or raise if it is not a
    non-empty sequence of positive integers."""
    is_sequence = hasattr(values, "__iter__") and not isinstance(values, (str, bytes))
    items = tuple(values) if is_sequence else ()
    if not items or not all(_is_int(item) for item in items):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers, got {values!r}."
        )
    return tuple(int(item) for item in items)


def check_dropout(value, name):
    """Return ``value`` as a float, or raise if it is not in [0, 1)."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (is_number and 0 <= value < 1):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}.")
    return float(value)


def check_bool(value, name):
    """Return ``value``, or raise if it is not True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return value


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
    return is_integer and value >= minimum
