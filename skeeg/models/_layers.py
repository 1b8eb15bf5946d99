"""Layers by name, and the length arithmetic of the layers along time.

What an architecture file needs besides :mod:`torch.nn`: activations chosen
by name, and the output length of stride-1 convolutions and non-overlapping
pooling, to size the classifier and check ``n_times`` (see
:func:`~skeeg.models._checks.check_input_length`).
"""

from torch import nn

from ._checks import quoted

ACTIVATIONS = ("elu", "relu", "leaky_relu")

# Keyed by the name without case or underscores, so "LeakyReLU" matches too.
_ACTIVATION_CLASSES = {"elu": nn.ELU, "relu": nn.ReLU, "leakyrelu": nn.LeakyReLU}


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
            f"activation must be one of {quoted(ACTIVATIONS)} (case-insensitive), "
            f"got {name!r}."
        )
    return _ACTIVATION_CLASSES[key]()


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
