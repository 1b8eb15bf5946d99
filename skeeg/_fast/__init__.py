"""skeeg's CPU speed kernels, attached to model classes from outside them.

The architecture files in :mod:`skeeg.models` hold their layers only: their
``forward`` is the paper's. On the CPU some of those functions run much
faster as fewer, fused passes (EEGNet, DeepConvNet: activation, pooling and
dropout as one autograd node, batch norms folded where they are linear;
ShallowFBCSPNet: its two convolutions composed into one), and their
evaluation-mode functions fold into fewer operations for prediction. This
package keeps that code, one file per concern, and a registry from model
class to kernels, which the training loop and prediction consult:

* :func:`training_forward` is what :class:`skeeg._net.SkeegNet` calls for a
  batch, in training and in validation;
* :func:`folded_forward` is what :class:`skeeg.base.BaseEEGClassifier`
  predicts through;
* :func:`register` attaches kernels to a model class (EEGNet, DeepConvNet
  and ShallowFBCSPNet below, at import).

A kernel runs only where it computes what the module's own layers would
(float CPU tensors in eager mode, layer types it reproduces, no hooks; see
:mod:`skeeg._fast._applies`); anywhere else, and for every other class, the
module runs its layers. Calling a module directly (tracing, export,
:func:`skeeg.inspection.embed`, a user's own loop) always runs its layers.
``tests/test_speed_paths.py`` compares both paths: outputs, gradients,
batch-norm statistics and dropout.

Files: ``_applies`` (when a kernel applies), ``_kernels`` (shared autograd
functions and helpers), ``eegnet`` and ``_spatial_first``, ``deepconvnet``,
``shallow`` (per model), ``folded`` (folded prediction and its cache).
"""

from collections import namedtuple

import torch
from torch import nn

from .._members import Members, vote
from ..models import DeepConvNet, EEGNet, ShallowFBCSPNet
from ._applies import fusable
from .deepconvnet import deepconvnet_forward, fold_deepconvnet
from .eegnet import eegnet_forward, eegnet_members_forward, fold_eegnet
from .folded import cached_fold
from .shallow import fold_shallow, shallow_forward, shallow_fusable

__all__ = ["folded_forward", "register", "training_forward"]

_Kernels = namedtuple("_Kernels", "forward folded applies")
# Model class -> its kernels; looked up by the exact class of a module.
_REGISTRY = {}


def register(model_class, *, forward=None, folded=None, applies=fusable):
    """Attach fast kernels to a model class, replacing any it had.

    Looked up by the exact class of a module: a subclass, which may change
    the layers or override ``forward``, runs its own layers until it is
    registered itself.

    Parameters
    ----------
    model_class : type
        A subclass of ``torch.nn.Module``.
    forward : callable or None, default=None
        ``forward(module, x)``: the module's output on ``x`` in its current
        mode (training or evaluation, batch-norm statistics and dropout
        included), as its own layers would compute it. Called only where
        ``applies(module, x)`` holds.
    folded : callable or None, default=None
        ``folded(module)``: a callable giving the module's evaluation-mode
        output for a float32 CPU batch (a snapshot of its weights), or None
        where it cannot fold this module (hooks, layer types it does not
        reproduce).
    applies : callable, default=skeeg._fast._applies.fusable
        ``applies(module, x)``: whether ``forward`` computes the module's
        output on ``x``.

    Raises
    ------
    TypeError
        If ``model_class`` is not a ``torch.nn.Module`` class, or a kernel is
        neither callable nor None.
    ValueError
        If neither ``forward`` nor ``folded`` is given.
    """
    if not (isinstance(model_class, type) and issubclass(model_class, nn.Module)):
        raise TypeError(f"register takes a torch.nn.Module class; got {model_class!r}.")
    for name, kernel in (("forward", forward), ("folded", folded), ("applies", applies)):
        if kernel is not None and not callable(kernel):
            raise TypeError(f"{name} must be callable or None; got {type(kernel).__name__}.")
    if forward is None and folded is None:
        raise ValueError(f"register({model_class.__name__}) needs forward, folded or both.")
    if applies is None:
        raise TypeError("applies must be callable, (module, x) -> bool; got None.")
    _REGISTRY[model_class] = _Kernels(forward, folded, applies)


def training_forward(module, x):
    """``module(x)``, through its class's registered kernel where that applies.

    Parameters
    ----------
    module : torch.nn.Module
        In training or evaluation mode.
    x : torch.Tensor
        A batch, ``(batch, n_channels, n_times)`` for skeeg's models.

    Returns
    -------
    out : torch.Tensor
        What ``module(x)`` returns, to float rounding; the same batch-norm
        statistics updates and dropout draws. Its gradients are first-order
        only where a kernel ran.
    """
    kernels = _REGISTRY.get(type(module))
    if (
        kernels is not None
        and kernels.forward is not None
        and torch.is_tensor(x)
        and kernels.applies(module, x)
    ):
        return kernels.forward(module, x)
    return module(x)


def folded_forward(module):
    """``(forward, device)``: the module's folded evaluation function, or None, and its device.

    Models whose class registered a ``folded`` kernel (EEGNet, DeepConvNet,
    ShallowFBCSPNet) fold batch norm into their convolutions for
    prediction; the result is cached per module and rebuilt whenever the
    module changes (see :func:`skeeg._fast.folded.cached_fold`). Hooks, a
    GPU or layers the folded code does not reproduce give None: the
    module's own forward, in evaluation mode, is then in charge.
    """
    kernels = _REGISTRY.get(type(module))
    if kernels is None or kernels.folded is None:
        return None, next(module.parameters()).device
    return cached_fold(module, kernels.folded)


register(EEGNet, forward=eegnet_forward, folded=fold_eegnet)
register(DeepConvNet, forward=deepconvnet_forward, folded=fold_deepconvnet)
register(ShallowFBCSPNet, forward=shallow_forward, folded=fold_shallow, applies=shallow_fusable)


def _members_forward(module, x):
    """Every member through its own kernel (see :class:`skeeg._members.Members`).

    Members of a class with a kernel for several models reading the same
    trials (EEGNet: :func:`skeeg._fast.eegnet.eegnet_members_forward`) run
    through it.
    """
    together = _TOGETHER.get(type(module.networks[0]))
    return module.run(x, training_forward, together)


def _fold_members(module):
    """The vote of the members' folded functions, or None where one member cannot fold."""
    folds = [folded_forward(network)[0] for network in module.networks]
    if any(fold is None for fold in folds):
        return None
    return lambda x: vote(torch.stack([fold(x) for fold in folds]))


# Model class -> a kernel running several models of it on the same trials at once. Each
# member's numbers are those of its solo kernel, bitwise (member 0 is the solo network). A
# DeepConvNet kernel running every member's first convolution as one was dropped: on 2
# cores it ran 5 members 5 % slower than member by member, and it summed in another order.
_TOGETHER = {EEGNet: eegnet_members_forward}
register(Members, forward=_members_forward, folded=_fold_members, applies=lambda module, x: True)
