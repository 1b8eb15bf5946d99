"""Helpers shared by the skeeg architectures.

Activations and weight initialisation by name, the length arithmetic of
stride-1 convolutions and non-overlapping pooling, the max-norm constraint
and the validation of constructor arguments.
"""

import numbers
from functools import partial

import torch
from torch import nn

ACTIVATIONS = ("elu", "relu", "leaky_relu")
INITIALIZATIONS = (
    "default",
    "xavier_normal",
    "xavier_uniform",
    "kaiming_normal",
    "kaiming_uniform",
)

# Keyed by the name without case or underscores, so "LeakyReLU" matches too.
_ACTIVATION_CLASSES = {"elu": nn.ELU, "relu": nn.ReLU, "leakyrelu": nn.LeakyReLU}

_INITIALIZERS = {
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "kaiming_normal": partial(nn.init.kaiming_normal_, nonlinearity="relu"),
    "kaiming_uniform": partial(nn.init.kaiming_uniform_, nonlinearity="relu"),
}

_WEIGHTED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def get_activation(name):
    """Build a new activation module from its name.

    Parameters
    ----------
    name : str
        ``"elu"``, ``"relu"`` or ``"leaky_relu"``. Case and underscores are
        ignored, so ``"ELU"``, ``"LEAKY_RELU"``, ``"LeakyReLU"`` and
        ``"leakyrelu"`` are accepted as well.

    Returns
    -------
    activation : torch.nn.Module
        A fresh :class:`~torch.nn.ELU`, :class:`~torch.nn.ReLU` or
        :class:`~torch.nn.LeakyReLU` (PyTorch's default negative slope of
        0.01).

    Raises
    ------
    ValueError
        If ``name`` is not one of the valid names.

    Examples
    --------
    >>> from skeeg.models import get_activation
    >>> get_activation("Leaky_ReLU")
    LeakyReLU(negative_slope=0.01)
    """
    key = name.replace("_", "").lower() if isinstance(name, str) else None
    if key not in _ACTIVATION_CLASSES:
        raise ValueError(
            f"activation must be one of {_quoted(ACTIVATIONS)} (case-insensitive), "
            f"got {name!r}."
        )
    return _ACTIVATION_CLASSES[key]()


def initialize_weights(module, init):
    """Initialise the weights of every convolution and linear layer in place.

    Biases of those layers are set to zero; batch-normalisation layers keep
    their own initialisation. Random values are drawn from PyTorch's global
    generator, so seed it with :func:`torch.manual_seed` for reproducibility.

    Parameters
    ----------
    module : torch.nn.Module
        The model, or any module, whose sub-modules are initialised.
    init : str
        ``"default"`` leaves PyTorch's initialisation untouched.
        ``"xavier_normal"`` and ``"xavier_uniform"`` use Glorot
        initialisation; ``"kaiming_normal"`` and ``"kaiming_uniform"`` use He
        initialisation with the gain for ReLU.

    Returns
    -------
    module : torch.nn.Module
        The same module, for chaining.

    Raises
    ------
    ValueError
        If ``init`` is not one of the valid names.

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import EEGNet, initialize_weights
    >>> _ = torch.manual_seed(0)
    >>> model = initialize_weights(EEGNet(2, 750, 2), "xavier_uniform")
    >>> bool((model.classifier.bias == 0).all())
    True
    """
    if init not in INITIALIZATIONS:
        raise ValueError(
            f"init must be one of {_quoted(INITIALIZATIONS)}, got {init!r}."
        )
    if init == "default":
        return module
    initializer = _INITIALIZERS[init]
    for layer in module.modules():
        if isinstance(layer, _WEIGHTED_LAYERS):
            initializer(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def conv_output_length(length, kernel_size, padding=0):
    """Length of the output of a stride-1 convolution along one axis.

    Parameters
    ----------
    length : int
        Input length; a length below 1 means an earlier layer could not run.
    kernel_size : int
        Kernel size along the axis.
    padding : int, default=0
        Zero padding added on each side.

    Returns
    -------
    length : int
        ``length + 2 * padding - kernel_size + 1``, or 0 if the layer cannot
        run. With ``padding = kernel_size // 2`` an odd kernel keeps the
        length and an even one adds 1.
    """
    if length < 1:
        return 0
    return max(length + 2 * padding - kernel_size + 1, 0)


def pool_output_length(length, pool_size):
    """Length of the output of pooling with stride equal to the window.

    Parameters
    ----------
    length : int
        Input length; a length below 1 means an earlier layer could not run.
    pool_size : int
        Window and stride of the pooling.

    Returns
    -------
    length : int
        ``length // pool_size``: a trailing incomplete window is dropped, and
        an input shorter than the window gives 0.
    """
    return max(length, 0) // pool_size


def minimum_input_length(output_length):
    """Smallest input length for which a stack of layers gives any output.

    Parameters
    ----------
    output_length : callable
        Maps an input length to the output length of the stack, built from
        :func:`conv_output_length` and :func:`pool_output_length`.

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


def apply_max_norm_limits(module, limits):
    """Renormalise constrained weights in place, as Keras' ``max_norm`` does.

    Each output unit's (or filter's) incoming weights whose L2 norm exceeds
    the limit are rescaled onto it; the others are left as they are. Biases
    are never constrained.

    Parameters
    ----------
    module : torch.nn.Module
        The model holding the layers.
    limits : dict of str to float
        Maps the dotted name of a sub-module with a ``weight`` to its limit.
    """
    with torch.no_grad():
        for name, limit in limits.items():
            module.get_submodule(name).weight.renorm_(p=2, dim=0, maxnorm=limit)


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


def check_shape(n_channels, n_times, n_classes):
    """Validate the three leading arguments shared by every model."""
    n_channels = check_positive_int(n_channels, "n_channels")
    n_times = check_positive_int(n_times, "n_times")
    if not _is_int(n_classes, minimum=2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    return n_channels, n_times, int(n_classes)


def _is_int(value, minimum=1):
    is_integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return is_integer and value >= minimum


def _quoted(names):
    return ", ".join(f'"{name}"' for name in names)
