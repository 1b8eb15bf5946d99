"""Weight initialisation by name, and the max-norm constraint."""

from functools import partial

import torch
from torch import nn

from ._checks import quoted

INITIALIZATIONS = (
    "default",
    "xavier_normal",
    "xavier_uniform",
    "kaiming_normal",
    "kaiming_uniform",
)

_INITIALIZERS = {
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "kaiming_normal": partial(nn.init.kaiming_normal_, nonlinearity="relu"),
    "kaiming_uniform": partial(nn.init.kaiming_uniform_, nonlinearity="relu"),
}

_WEIGHTED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


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
        raise ValueError(f"init must be one of {quoted(INITIALIZATIONS)}, got {init!r}.")
    if init == "default":
        return module
    initializer = _INITIALIZERS[init]
    for layer in module.modules():
        if isinstance(layer, _WEIGHTED_LAYERS):
            initializer(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


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
