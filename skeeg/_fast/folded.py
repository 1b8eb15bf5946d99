"""Folded prediction: a model's evaluation-mode function in fewer operations, cached.

In evaluation mode batch norm is a fixed affine map, which composes with
the convolution before it; so do consecutive linear layers. A model whose
kernel registers a ``folded`` function (see :func:`skeeg._fast.register`)
predicts through such a snapshot, which :func:`cached_fold` keeps per module
and rebuilds whenever the module changes.
"""

import weakref

import torch
from torch import nn

from ._applies import eager_cpu, pool_window
from ._kernels import activate, avg_pool_sum, max_pool

# Folded evaluation functions of torch modules, kept with the state they were
# folded from and dropped with the module.
_FOLDED = weakref.WeakKeyDictionary()


def module_state(module):
    """What the folded function depends on, and the module's device.

    The key changes when a sub-module, parameter or buffer is replaced, a
    tensor is modified in place (optimiser steps, ``load_state_dict``,
    ``p.mul_(2)`` bump its version counter) or its data moved (``p.data =
    ...``), or a hook is added: one walk, in tens of microseconds.
    """
    key, device, layers = [], None, [module]
    while layers:  # a plain walk: module.modules() and .parameters() cost 3 times more
        layer = layers.pop()
        if layer is None:
            continue
        hooked = layer._forward_hooks or layer._forward_pre_hooks or layer._backward_hooks
        key.append((id(layer), bool(hooked or layer._backward_pre_hooks)))
        for tensors in (layer._parameters, layer._buffers):
            for tensor in tensors.values():
                if tensor is not None:
                    key.append((id(tensor), tensor._version, tensor.data_ptr()))
                    device = tensor.device if device is None else device
        layers += layer._modules.values()
    return key, device


def cached_fold(module, fold):
    """``(forward, device)``: ``fold(module)``, cached until the module changes, and its device.

    ``forward`` is None on a GPU, in a mode other than plain eager float32
    (see :func:`skeeg._fast._applies.eager_cpu`), or where ``fold`` returns
    None (layers it does not reproduce, hooks).
    """
    key, device = module_state(module)
    if not eager_cpu(device, torch.float32):
        return None, device
    cached = _FOLDED.get(module)
    if cached is None or cached[0] is not fold or cached[1] != key:
        cached = (fold, key, fold(module))
        _FOLDED[module] = cached
    return cached[2], device


class FoldedConvNet:
    """A convolutional model's evaluation-mode function, folded for fast prediction.

    Each stage is one convolution, into whose weights and bias the batch
    norms and linear layers around it are composed, then the activation and
    pooling along time: the model's function in fewer operations, which
    matters most for a few trials. Average pooling's ``1 / window`` moves into the next
    layer's weights, and the last stage's average pooling into the
    classifier. Max pooling runs before the (monotonic) activation. The
    tensors are detached copies, made when the model is folded: later
    changes to the model are not seen.

    Parameters
    ----------
    stages : list of tuple
        ``(weight, bias, padding, activation, pool, length)`` per stage:
        convolution weight and bias (or None) and padding, the activation
        and pooling modules, and the time length of the convolution's output.
        The first stage's weight may also be a pair ``(mixing, kernels)``:
        spatial filters ``(maps, n_channels)`` applied first, then one
        temporal kernel ``(maps, 1, k)`` per map (the same convolution,
        factored; far fewer operations on many electrodes).
    weight, bias : torch.Tensor
        The classifier's, taking the flattened output of the last stage.
    """

    def __init__(self, stages, weight, bias):
        stages, self.stages = list(stages), []
        for index, stage in enumerate(stages):
            conv_weight, conv_bias, padding, activation, pool, length = stage
            window = pool_window(pool)
            average = isinstance(pool, nn.AvgPool2d)
            if average and index + 1 < len(stages):  # divide in the next convolution
                following = stages[index + 1]
                stages[index + 1] = (following[0] / window, *following[1:])
            elif average:  # pool inside the classifier: the same weight on each window
                pooled = weight.unflatten(1, (conv_weight.shape[0], -1))
                spread = pooled.repeat_interleave(window, dim=2) / window
                weight = nn.functional.pad(spread, (0, length - spread.shape[2])).flatten(1)
                window = None
            kind = "avg" if average else "max"
            self.stages.append((conv_weight, conv_bias, padding, activation, kind, window))
        self.weight, self.bias = weight, bias

    def __call__(self, x):
        """Logits of ``x``, ``(batch, n_channels, n_times)``."""
        h = x.unsqueeze(1)
        for weight, bias, padding, activation, kind, window in self.stages:
            if isinstance(weight, tuple):  # factored: spatial filters, then temporal kernels
                mixing, kernels = weight
                h = nn.functional.conv1d(torch.matmul(mixing, x), kernels, bias,
                                         padding=padding[1], groups=len(kernels)).unsqueeze(2)
            else:
                h = nn.functional.conv2d(h, weight, bias, padding=padding)
            if kind == "max":
                h = activate(activation, max_pool(h, window, positions=False)[0], inplace=True)
            else:
                h = activate(activation, h, inplace=True)
                h = h if window is None else avg_pool_sum(h, window)
        return nn.functional.linear(h.flatten(1), self.weight, self.bias)
