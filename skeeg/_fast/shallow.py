"""ShallowFBCSPNet's fast paths: its two convolutions composed into one, and its folded prediction."""

import torch
from torch import nn

from ..models.shallow_fbcsp import SafeLog, Square
from ._applies import eager_cpu, has_hooks
from ._kernels import batch_norm_affine, composed_conv

# The layers of ShallowFBCSPNet's ``features``, in order, as the fold reproduces them.
_FEATURES = (
    ("temporal_conv", nn.Conv2d), ("spatial_conv", nn.Conv2d), ("batch_norm", nn.BatchNorm2d),
    ("square", Square), ("pool", nn.AvgPool2d), ("log", SafeLog), ("dropout", nn.Dropout),
    ("flatten", nn.Flatten),
)


def _plain_conv(conv):
    """Whether ``conv`` is an unhooked, unpadded, unstrided, ungrouped ``nn.Conv2d``."""
    return (
        type(conv) is nn.Conv2d and not has_hooks(conv) and conv.padding == (0, 0)
        and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
    )


def shallow_fusable(model, x):
    """Whether ShallowFBCSPNet may compose its two convolutions on ``x``.

    Only the two convolutions are replaced (the other layers run as
    modules), so only they must be plain: unpadded, unstrided ``nn.Conv2d``
    without hooks, on a float CPU tensor in eager mode.
    """
    if not eager_cpu(x.device, x.dtype) or has_hooks(model) or has_hooks(model.features):
        return False
    return _plain_conv(model.features.temporal_conv) and _plain_conv(model.features.spatial_conv)


def shallow_forward(model, x):
    """ShallowFBCSPNet's logits with its temporal and spatial convolutions as one.

    The two are linear with nothing in between (:func:`composed_conv`): one
    ``conv1d`` from the electrodes to the spatial filters, about 15 times
    faster than the two on 64 electrodes (no ``(filters, electrodes,
    time)`` intermediate, forward or backward). The layers after them run
    as modules. Only where :func:`shallow_fusable` holds.
    """
    features = model.features
    weight, bias = composed_conv(features.temporal_conv, features.spatial_conv)
    h = nn.functional.conv1d(x, weight[:, 0], bias).unsqueeze(2)
    for name, layer in features.named_children():
        if name not in ("temporal_conv", "spatial_conv"):
            h = layer(h)
    return model.classifier(h)



def _foldable(model):
    """Whether :func:`fold_shallow` reproduces ``model``'s evaluation-mode function.

    The layers ShallowFBCSPNet builds, in its order, none hooked: plain
    convolutions, an affine batch norm with running statistics, a pooling
    of ``(1, k)`` windows without padding, a flattening of all but the batch.
    """
    features = model.features
    layers = list(features.named_children())
    if type(features) is not nn.Sequential or has_hooks(model) or has_hooks(features):
        return False
    if [name for name, _ in layers] != [name for name, _ in _FEATURES]:
        return False
    if any(type(layer) is not kind or has_hooks(layer)
           for (_, layer), (_, kind) in zip(layers, _FEATURES)):
        return False
    batch_norm, pool, flatten = features.batch_norm, features.pool, features.flatten
    pair = nn.modules.utils._pair
    return (
        _plain_conv(features.temporal_conv) and _plain_conv(features.spatial_conv)
        and batch_norm.affine and batch_norm.track_running_stats
        and pair(pool.kernel_size)[0] == 1 and pair(pool.stride)[0] == 1
        and pair(pool.padding) == (0, 0) and not pool.ceil_mode
        and pool.divisor_override is None
        and (flatten.start_dim, flatten.end_dim) == (1, -1)
        and type(model.classifier) is nn.Linear and not has_hooks(model.classifier)
    )


class FoldedShallow:
    """ShallowFBCSPNet's evaluation-mode function, folded for fast prediction (a snapshot).

    Both convolutions and the batch norm are one ``conv1d`` from the
    electrodes to the spatial filters; then the square, the mean pooling,
    the logarithm and the linear layer. The tensors are detached copies,
    made when the model is folded: later changes to the model are not seen.

    Parameters
    ----------
    weight : torch.Tensor of shape (filters, n_channels, kernel_length)
    bias : torch.Tensor of shape (filters,)
        The composed convolution's.
    window, stride : int
        Of the mean pooling, in samples.
    eps : float
        The logarithm's floor.
    classifier_weight, classifier_bias : torch.Tensor
        The linear layer's, taking the flattened log-powers.
    """

    def __init__(self, weight, bias, window, stride, eps, classifier_weight, classifier_bias):
        self.weight, self.bias = weight, bias
        self.window, self.stride, self.eps = window, stride, eps
        self.classifier_weight, self.classifier_bias = classifier_weight, classifier_bias

    def __call__(self, x):
        """Logits of ``x``, ``(batch, n_channels, n_times)``."""
        h = nn.functional.conv1d(x, self.weight, self.bias)
        h = nn.functional.avg_pool1d(h * h, self.window, self.stride)
        h = torch.log(torch.clamp(h, min=self.eps))
        return nn.functional.linear(h.flatten(1), self.classifier_weight, self.classifier_bias)


def fold_shallow(model):
    """ShallowFBCSPNet's evaluation-mode function as a :class:`FoldedShallow`, or None.

    None where the model has hooks or layers this does not reproduce.
    Dropout is the identity in evaluation mode and is left out.
    """
    if not _foldable(model):
        return None
    features = model.features
    with torch.no_grad():
        weight, bias = composed_conv(features.temporal_conv, features.spatial_conv)
        scale, shift = batch_norm_affine(features.batch_norm)
        weight = weight[:, 0] * scale[:, None, None]
        bias = shift if bias is None else shift + scale * bias
        pair = nn.modules.utils._pair
        classifier = model.classifier
        return FoldedShallow(
            weight, bias, pair(features.pool.kernel_size)[1], pair(features.pool.stride)[1],
            features.log.eps, classifier.weight.clone(), classifier.bias.clone(),
        )
