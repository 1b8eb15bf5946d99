"""Fused CPU code of EEGNet, DeepConvNet and ShallowFBCSPNet: their functions in fewer passes.

After each convolution PyTorch runs the activation, pooling and dropout as
separate kernels and autograd keeps every intermediate; on EEG-sized
tensors these memory-bound passes (and avg_pool2d, max_pool2d with indices
and bernoulli_, which are slow on the CPU) cost as much as the convolutions.
The code here computes the same function as the models' layers in fewer
passes, with hand-written backward passes where that saves memory traffic.
Tensors between blocks are kept channels-last, the layout in which oneDNN's
convolutions and ATen's batch norm run fastest.

The architecture files stay plain ``nn.Module``s and only opt in::

    def forward(self, x):
        if _fused.fusable(self, x):
            return self._fused_forward(x)
        ...  # the plain layers

    _fused_forward = _fused.eegnet_forward  # training and evaluation mode
    _folded = _fused.fold_eegnet            # prediction (see skeeg.base)

:func:`fusable` holds only where the result is the plain layers' (float CPU
tensors in eager mode, layer types reproduced here, no hooks); everywhere
else the model runs its layers. ``tests/test_speed_paths.py`` compares both
paths: outputs, gradients, batch-norm statistics and dropout.

Sections: when the fused code applies; batch-norm helpers; shared kernels
(one-channel convolution; activation, pooling and dropout as one node);
EEGNet; DeepConvNet; ShallowFBCSPNet; folded prediction.
"""

import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from ._layers import conv_output_length

# ---------------------------------------------------------------------------
# When the fused code applies

_GLOBAL_HOOKS = (
    "_global_forward_hooks",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)


def pool_window(pool):
    """Window of a ``(1, k)`` pooling with stride ``k``, or None for any other pooling."""
    if type(pool) not in (nn.AvgPool2d, nn.MaxPool2d):
        return None
    pair = nn.modules.utils._pair
    kernel, stride = pair(pool.kernel_size), pair(pool.stride)
    plain = kernel[0] == 1 and stride == kernel and not pool.ceil_mode
    plain = plain and pair(pool.padding) == (0, 0)
    if isinstance(pool, nn.MaxPool2d):
        plain = plain and pair(pool.dilation) == (1, 1) and not pool.return_indices
    else:
        plain = plain and pool.divisor_override is None
    return kernel[1] if plain else None


def _has_hooks(module):
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
    )


def _reproducible(module):
    """Whether the fused code computes what ``module`` would (and no hook is skipped)."""
    if _has_hooks(module):
        return False
    kind = type(module)
    if kind is nn.BatchNorm2d:
        return module.affine and module.track_running_stats
    if kind in (nn.AvgPool2d, nn.MaxPool2d):
        return pool_window(module) is not None
    if kind is nn.ELU:
        return module.alpha >= 0  # monotonic, and its gradient follows from its output
    if kind is nn.LeakyReLU:
        return module.negative_slope >= 0
    if kind is nn.Sequential:
        return all(_reproducible(child) for child in module.children())
    return kind in (nn.Conv2d, nn.ReLU, nn.Dropout, nn.Flatten, nn.Linear)


def fusable(model, x):
    """Whether ``model`` may run its fused CPU code on ``x``.

    The fused code needs a float CPU tensor in eager mode (no tracing,
    scripting, exporting, autocast or global hooks; see :func:`eager_cpu`) and layers
    it reproduces (see :func:`fusable_layers`).
    """
    return eager_cpu(x.device, x.dtype) and fusable_layers(model)


def eager_cpu(device, dtype):
    """Whether float CPU tensors run in plain eager mode, with no global module hooks.

    Not while scripting, tracing or exporting (:func:`torch.export.export`),
    nor under autocast.
    """
    return (
        device.type == "cpu"
        and dtype in (torch.float32, torch.float64)
        and not torch.jit.is_scripting()
        and not torch.jit.is_tracing()
        # torch.export traces the plain layers: custom autograd functions and
        # out= kernels do not export.
        and not getattr(torch.compiler, "is_exporting", lambda: False)()
        and not torch.is_autocast_enabled("cpu")
        and not any(getattr(nn.modules.module, name, None) for name in _GLOBAL_HOOKS)
    )


def fusable_layers(model):
    """Whether ``model`` has no hooks and only the layer types its fused code reproduces."""
    return not _has_hooks(model) and all(_reproducible(module) for module in model.children())


# ---------------------------------------------------------------------------
# Batch-norm helpers


def batch_norm_affine(batch_norm):
    """``(scale, shift)`` of a batch norm in evaluation mode: ``y = x * scale + shift``."""
    scale = batch_norm.weight * torch.rsqrt(batch_norm.running_var + batch_norm.eps)
    return scale, batch_norm.bias - batch_norm.running_mean * scale


def update_running_stats(batch_norm, mean, var, count):
    """Update a batch norm's running statistics as its own forward would.

    ``var`` is the biased batch variance over ``count`` values per channel.
    """
    with torch.no_grad():
        batch_norm.num_batches_tracked.add_(1)
        if batch_norm.momentum is None:  # cumulative average
            momentum = 1.0 / float(batch_norm.num_batches_tracked)
        else:
            momentum = batch_norm.momentum
        batch_norm.running_mean.lerp_(mean.to(batch_norm.running_mean.dtype), momentum)
        unbiased = var * (count / (count - 1))
        batch_norm.running_var.lerp_(unbiased.to(batch_norm.running_var.dtype), momentum)


def check_batch_size(shape):
    """Raise, as ``torch.nn.functional.batch_norm`` does, when a channel has one value."""
    if math.prod(shape) // shape[1] <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {shape}"
        )


# ---------------------------------------------------------------------------
# Shared kernels


class _OneChannelConv(torch.autograd.Function):
    """Stride-1 convolution of one input channel by ``(1, k)`` kernels, faster weight gradient.

    oneDNN's weight-gradient kernel is slow with a single input channel. The
    same sums run as an ordinary convolution of the input, with batch and
    electrodes as its channels, by the output gradient as the kernel.
    """

    @staticmethod
    def forward(ctx, x, weight, padding):
        ctx.padding = padding
        ctx.save_for_backward(x, weight)
        return nn.functional.conv2d(x, weight, padding=padding)

    @staticmethod
    @once_differentiable  # saved intermediates: no higher-order gradients
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad, x, weight, None, (1, 1), ctx.padding, (1, 1), False, (0, 0), 1,
                (True, False, False),
            )[0]
        if ctx.needs_input_grad[1]:
            batch, _, height, length = x.shape
            kernels = grad.transpose(0, 1).reshape(grad.shape[1], batch * height, 1, -1)
            grad_weight = nn.functional.conv2d(
                x.reshape(1, batch * height, 1, length), kernels, padding=ctx.padding
            ).transpose(0, 1)
        return grad_x, grad_weight, None


def temporal_conv(x, conv):
    """``conv(x)``; through ``_OneChannelConv`` for a bias-free ``(1, k)`` one-channel conv."""
    plain = conv.in_channels == 1 and conv.kernel_size[0] == 1 and conv.bias is None
    plain = plain and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
    plain = plain and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
    if not plain:
        return conv(x)
    return _OneChannelConv.apply(x, conv.weight, conv.padding)


def _activate(activation, y, inplace=False):
    """``activation`` applied to ``y``; in place when ``y`` is a temporary."""
    if isinstance(activation, nn.ELU):
        return nn.functional.elu(y, activation.alpha, inplace=inplace)
    if isinstance(activation, nn.LeakyReLU):
        return nn.functional.leaky_relu(y, activation.negative_slope, inplace=inplace)
    return nn.functional.relu(y, inplace=inplace)


def _activation_backward(activation, grad, result):
    """Gradient through ``activation`` from its output (no exp to recompute)."""
    if isinstance(activation, nn.ELU):
        return torch.ops.aten.elu_backward(grad, activation.alpha, 1, 1, True, result)
    if isinstance(activation, nn.LeakyReLU):
        return torch.ops.aten.leaky_relu_backward(grad, result, activation.negative_slope, True)
    return torch.ops.aten.threshold_backward(grad, result, 0)


def is_channels_last(x):
    """Whether a ``(batch, channels, time)`` tensor is stored time-major."""
    return not x.is_contiguous() and x.transpose(1, 2).is_contiguous()


def _to_layout(x, channels_last):
    """``x`` stored channels-last or contiguous, copied only if it is not already."""
    if channels_last:
        return x if is_channels_last(x) else x.transpose(1, 2).contiguous().transpose(1, 2)
    return x.contiguous()


def _empty(shape, channels_last, like):
    """An empty ``(batch, channels, time)`` tensor, stored time-major if ``channels_last``."""
    if not channels_last:
        return like.new_empty(shape)
    return like.new_empty((shape[0], shape[2], shape[1])).transpose(1, 2)


def dropout_mask(shape, p, value, like, channels_last=False):
    """Dropout mask of ``shape``: 0 with probability ``p``, else ``value / (1 - p)``.

    Draws from torch's global generator, like ``nn.Dropout``. When ``256 p``
    is a whole number (the usual 0.25 and 0.5), one random byte per element
    decides exactly, and a 64-bit draw gives 8 bytes: 8 times fewer draws
    than ``bernoulli_``, which takes a double per element. ``like`` gives
    the dtype and device.
    """
    if (p * 256).is_integer():
        count = math.prod(shape)
        words = torch.empty((count + 7) // 8, dtype=torch.int64).random_(-(2**63), 2**63 - 1)
        # Keep a byte >= 256 p: clamping to {256 p - 1, 256 p} and subtracting 256 p - 1
        # gives 0 or 1 in place, much faster than a comparison.
        low = int(p * 256) - 1
        keep = words.view(torch.uint8)[:count].view(shape).clamp_(low, low + 1).sub_(low)
    else:
        keep = (torch.rand(shape) >= p).view(torch.uint8)  # uint8 multiplies faster than bool
    return torch.mul(keep, value / (1 - p), out=_empty(shape, channels_last, like))


def block_dropout_mask(block, batch, channels, length, like, channels_last):
    """The dropout mask of ``block``'s pooled output, or None.

    ``length`` is the time before pooling; average pooling's ``1 / window``
    is folded into the mask.
    """
    dropout, window = block.dropout, pool_window(block.pool)
    if not (dropout.training and dropout.p > 0):
        return None
    shape = (batch, channels, length // window)
    average = isinstance(block.pool, nn.AvgPool2d)
    return dropout_mask(shape, dropout.p, 1 / window if average else 1.0, like, channels_last)


def _pool_windows(x, window):
    """``x[..., :pooled * window]`` viewed as ``(..., pooled, window)`` along time."""
    pooled = x.shape[-1] // window
    return x[..., : pooled * window].unflatten(-1, (pooled, window))


def _max_pool(x, window, positions=True):
    """Max over time windows, and the position of each maximum (first on ties) or None.

    Strided maxima: ``max_pool2d`` with indices is several times slower on the CPU.
    """
    windows = _pool_windows(x, window)
    best, where = windows[..., 0], None
    for position in range(1, window):
        candidate = windows[..., position]
        if positions:
            later = candidate > best
            where = later.to(torch.uint8) if where is None else where.masked_fill_(later, position)
        best = torch.maximum(best, candidate)
    return best, where


def _avg_pool_sum(x, window):
    """Sum over time windows (the caller divides): strided adds beat avg_pool2d."""
    windows = _pool_windows(x, window)
    if window == 1:
        return windows[..., 0]
    total = windows[..., 0] + windows[..., 1]
    for position in range(2, window):
        total += windows[..., position]
    return total


def _scale_into(x, factor, channels_last):
    """``x * factor``, stored channels-last (``(batch, time, channels)``) if asked."""
    return torch.mul(x, factor, out=_empty(x.shape, channels_last, x))


def act_pool_forward(y, activation, pool, mask, channels_last):
    """Activation, pooling and dropout of ``y``, ``(batch, channels, time)`` in any layout.

    Not differentiable itself: see :class:`ActPool`.

    Max pooling runs first: it commutes with the monotonic activations,
    which then touch the pooled values only. ``mask`` has ``y``'s layout;
    ``channels_last`` sets the output's. Returns the output and, for
    :func:`act_pool_backward`, the activation's result and the positions
    of the maxima (None for average pooling or a window of 1).
    """
    window = pool_window(pool)
    if isinstance(pool, nn.MaxPool2d):
        pooled, where = _max_pool(y, window)
        result = _activate(activation, pooled)
        return _scale_into(result, 1.0 if mask is None else mask, channels_last), result, where
    result = _activate(activation, y)
    pooled = _avg_pool_sum(result, window)
    return _scale_into(pooled, 1 / window if mask is None else mask, channels_last), result, None


def act_pool_backward(grad, activation, window, result, where, mask, shape, channels_last):
    """Gradient w.r.t. ``y`` for :func:`act_pool_forward`.

    ``y`` had ``shape`` and was channels-last or not, as was ``mask``; the
    work is done in that layout, whatever the layout of ``grad``.
    """
    grad = _to_layout(grad, channels_last)
    if mask is not None:
        grad = grad * mask
    elif where is None:
        grad = grad / window
    covered = grad.shape[-1] * window
    if where is None:  # each input of a window gets the window's gradient
        grad_result = torch.empty_like(result)
        _pool_windows(grad_result, window).copy_(grad.unsqueeze(-1))
        grad_result[..., covered:] = 0
        return _activation_backward(activation, grad_result, result)
    grad_pooled = _activation_backward(activation, grad, result)  # the maxima get it
    grad_y = _empty(shape, channels_last, grad)
    windows = _pool_windows(grad_y, window)
    for position in range(1, window):  # a uint8 factor multiplies much faster than a bool one
        hit = where if window == 2 else (where == position).to(torch.uint8)
        torch.mul(grad_pooled, hit, out=windows[..., position])
    first = torch.sub(grad_pooled, windows[..., 1], out=windows[..., 0])
    for position in range(2, window):
        first -= windows[..., position]
    grad_y[..., covered:] = 0
    return grad_y


class ActPool(torch.autograd.Function):
    """Activation, pooling and dropout (a precomputed ``mask``) as one autograd node.

    Saves the activation's output and the positions of the maxima; the
    activation's gradient follows from its output, so no exp is recomputed.
    """

    @staticmethod
    def forward(ctx, y, activation, pool, mask, channels_last):
        out, result, where = act_pool_forward(y, activation, pool, mask, channels_last)
        ctx.activation, ctx.window = activation, pool_window(pool)
        ctx.shape, ctx.channels_last = y.shape, is_channels_last(y)
        ctx.save_for_backward(result, where, mask)
        return out

    @staticmethod
    @once_differentiable  # saved intermediates: no higher-order gradients
    def backward(ctx, grad):
        result, where, mask = ctx.saved_tensors
        grad_y = act_pool_backward(
            grad, ctx.activation, ctx.window, result, where, mask, ctx.shape, ctx.channels_last
        )
        return grad_y, None, None, None, None


def norm_act_pool(x, block, channels_last=False):
    """``block.batch_norm``, ``activation``, ``pool`` and ``dropout`` applied to ``x``.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, channels, 1, time)
        A convolution's output, in any memory layout (channels-last is fastest).
    block : torch.nn.Module
        Holds the four layers under those names.
    channels_last : bool, default=False
        Store the result channels-last, for a following convolution.

    Returns
    -------
    out : torch.Tensor of shape (batch, channels, 1, time // window)
    """
    y = block.batch_norm(x).squeeze(2)
    mask = block_dropout_mask(block, *y.shape, y, is_channels_last(y))
    return ActPool.apply(y, block.activation, block.pool, mask, channels_last).unsqueeze(2)


# ---------------------------------------------------------------------------
# EEGNet


def eegnet_forward(model, x):
    """EEGNet's logits, as its plain layers give them, in fewer passes.

    The temporal convolution of the one-channel image runs through
    :class:`_OneChannelConv`; the rest of block 1 is :func:`spatial_block`;
    block 2's convolution is the model's own, then :func:`norm_act_pool`.
    Only where :func:`fusable` holds.
    """
    temporal, spatial = model.features.temporal, model.features.spatial
    block2 = model.features.separable
    if spatial_first_applies(x, temporal, spatial):
        h = spatial_first_block(x, temporal, spatial, channels_last=True)
    else:
        h = temporal_conv(x.unsqueeze(1), temporal.conv)
        h = spatial_block(h, temporal, spatial, channels_last=True)
    for name in ("conv", "depthwise_conv", "pointwise_conv"):
        if hasattr(block2, name):
            h = getattr(block2, name)(h)
    h = norm_act_pool(h, block2)
    return model.classifier(h.flatten(1))


def fold_eegnet(model):
    """EEGNet's evaluation-mode function as a :class:`FoldedConvNet` (a snapshot).

    Both batch norms of block 1 and its spatial filters compose with the
    temporal filters into one convolution; the depthwise and pointwise
    convolutions of block 2 into one, with its batch norm.
    """
    temporal, spatial = model.features.temporal, model.features.spatial
    block2 = model.features.separable
    maps, channels = temporal.conv.out_channels, model.n_channels
    with torch.no_grad():
        # Temporal filters, batch norm, spatial filters, batch norm: one kernel
        # of (n_channels, kernel_length) per output map.
        scale1, shift1 = batch_norm_affine(temporal.batch_norm)
        scale2, shift2 = batch_norm_affine(spatial.batch_norm)
        filters = spatial.conv.weight.view(maps, -1, channels)
        temporal_filters = scale1[:, None] * temporal.conv.weight[:, 0, 0]
        bias1 = scale2 * (filters.sum(-1) * shift1[:, None]).flatten() + shift2
        if channels >= SPATIAL_FIRST_MIN_CHANNELS:  # spatial filters first, as in training
            mixing = filters.flatten(0, 1) * scale2[:, None]
            kernels = temporal_filters.repeat_interleave(filters.shape[1], 0)
            weight1 = (mixing, kernels.unsqueeze(1))
        else:
            weight1 = filters[..., None] * temporal_filters[:, None, None]
            weight1 = weight1.flatten(0, 1).unsqueeze(1) * scale2[:, None, None, None]
        if hasattr(block2, "conv"):
            weight2, padding2 = block2.conv.weight, block2.conv.padding
        else:  # depthwise then pointwise: one ordinary convolution
            depthwise, pointwise = block2.depthwise_conv, block2.pointwise_conv
            weight2 = pointwise.weight * depthwise.weight.transpose(0, 1)
            padding2 = depthwise.padding
        scale3, shift3 = batch_norm_affine(block2.batch_norm)
        padding1 = temporal.conv.padding
        length1 = conv_output_length(model.n_times, temporal.conv.kernel_size[1], padding1[1])
        pooled1 = length1 // pool_window(spatial.pool)
        length2 = conv_output_length(pooled1, weight2.shape[-1], padding2[1])
        weight2 = weight2 * scale3[:, None, None, None]
        stages = [
            (weight1, bias1, padding1, spatial.activation, spatial.pool, length1),
            (weight2, shift3, padding2, block2.activation, block2.pool, length2),
        ]
        classifier = model.classifier
        return FoldedConvNet(stages, classifier.weight.clone(), classifier.bias.clone())


def _batched(matrices, n):
    """Repeat per-map ``(F, rows, cols)`` matrices over the batch, for ``bmm``."""
    return matrices.expand(n, *matrices.shape).reshape(-1, *matrices.shape[1:])


class _SpatialBlock(torch.autograd.Function):
    """Block 1 after the temporal convolution, in training mode, as one node.

    ``t`` is the temporal convolution's output ``(batch, F1, n_channels,
    time)``; batch norm (``weight1``, ``bias1``), the depthwise spatial
    filters ``spatial`` ``(F1, D, n_channels)``, batch norm (``weight2``,
    ``bias2`` as ``(F1, D)``), the activation, pooling and dropout follow.

    Both batch norms use batch statistics, yet the linear part is one
    ``D x n_channels`` matrix per map: the first batch norm is a per-map
    affine map, the spatial filters are linear, so the second batch norm's
    mean and variance follow exactly from each map's ``n_channels x
    n_channels`` covariance over batch and time. Neither normalised tensor is
    stored, and the backward pass needs only ``t`` centred per map and
    electrode (``z``) and the output gradient: the statistics of the
    gradients of the intermediate tensors are again small matrix products.
    Per map (sums over batch and time, ``M`` terms):

    - ``z = t - mean(t)`` per electrode, ``cov = z z' / M``;
    - batch norm 1: ``mean1 = mean(mean(t))``, ``var1 = mean(diag(cov) + mu**2)``
      with ``mu`` the electrode means less ``mean1``; ``scale1 = weight1 / std1``;
    - spatial output ``s = u z + const`` with ``u = spatial * scale1``, so
      batch norm 2 has ``mean2 = const`` and ``var2 = u cov u'``;
    - ``y = (scale2 * u) z + bias2``.

    The covariances cost ``n_channels`` times the spatial filtering; up to
    64 electrodes that is still well under the temporal convolution's cost
    (computing ``u z`` instead measured 2-7 % slower overall).
    """

    @staticmethod
    def forward(
        ctx, t, weight1, bias1, spatial, weight2, bias2, eps1, eps2, activation, pool, mask,
        channels_last,
    ):
        n, maps, channels, length = t.shape
        depth = spatial.shape[1]
        count = n * length
        t = t.contiguous()
        electrode_mean = t.sum(3).sum(0) / count
        z = (t - electrode_mean[:, :, None]).view(n * maps, channels, length)
        z_sum = z.sum(2).view(n, maps, channels).sum(0)  # 0 but for rounding; see backward
        cov = torch.bmm(z, z.transpose(1, 2)).view(n, maps, channels, channels).sum(0) / count
        mean1 = electrode_mean.mean(1)
        mu = electrode_mean - mean1[:, None]
        var1 = (cov.diagonal(dim1=1, dim2=2) + mu.square()).mean(1)
        invstd1 = torch.rsqrt(var1 + eps1)
        scale1 = weight1 * invstd1
        u = spatial * scale1[:, None, None]
        mean2 = (spatial * (scale1[:, None] * mu + bias1[:, None])[:, None]).sum(-1)
        var2 = torch.einsum("fdc,fce,fde->fd", u, cov, u)
        invstd2 = torch.rsqrt(var2 + eps2)
        scale2 = weight2 * invstd2
        mixing = _batched(u * scale2[..., None], n)
        y = torch.baddbmm(_batched(bias2[..., None], n), mixing, z).view(n, maps * depth, length)
        out, result, where = act_pool_forward(y, activation, pool, mask, channels_last)
        ctx.activation, ctx.window = activation, pool_window(pool)
        ctx.save_for_backward(
            z, z_sum, cov, mu, invstd1, scale1, spatial, u, invstd2, scale2, result, where, mask
        )
        stats = (mean1, var1, mean2.flatten(), var2.flatten())
        ctx.mark_non_differentiable(*stats)
        return (out, *stats)

    @staticmethod
    @once_differentiable  # saved intermediates: no higher-order gradients
    def backward(ctx, grad, *_grad_stats):
        z, z_sum, cov, mu, invstd1, scale1, spatial, u, invstd2, scale2, result, where, mask = (
            ctx.saved_tensors
        )
        maps, depth, channels = spatial.shape
        n, length = z.shape[0] // maps, z.shape[2]
        count = n * length
        grad_y = act_pool_backward(
            grad, ctx.activation, ctx.window, result, where, mask, (n, maps * depth, length), False
        ).view(n * maps, depth, length)
        # Batch norm 2, with s_hat = u z / std2: sums of grad_y and of grad_y z'.
        grad_bias2 = grad_y.sum(2).view(n, maps, depth).sum(0)
        grad_y_z = torch.bmm(grad_y, z.transpose(1, 2)).view(n, maps, depth, channels).sum(0)
        grad_weight2 = (u * grad_y_z).sum(-1) * invstd2
        # grad_s = scale2 * (grad_y - grad_bias2 / M - s_hat * grad_weight2 / M); its sums
        # against z give the spatial filters' gradient (its plain sum is 0).
        cov_u = torch.einsum("fce,fde->fdc", cov, u)
        grad_s_z = scale2[..., None] * (grad_y_z - (grad_weight2 * invstd2)[..., None] * cov_u)
        grad_spatial = scale1[:, None, None] * grad_s_z
        # grad_x1 = spatial' grad_s (gradient of batch norm 1's output) = a' grad_y - e - q z,
        # and its sums, plain and against z, per electrode. Batch norm 1's gradients come
        # out 0 but for rounding (batch norm 2 undoes any shift or scale of a map); z_sum
        # keeps that rounding, as the plain layers have it, rather than an exact 0.
        a = spatial * scale2[..., None]
        e = (a * grad_bias2[..., None]).sum(1) / count
        q = torch.einsum("fdc,fd,fde->fce", spatial, scale2 * grad_weight2 * invstd2 / count, u)
        sum_grad_x1 = (a * grad_bias2[..., None]).sum(1) - count * e
        sum_grad_x1 -= (q @ z_sum[..., None])[..., 0]
        grad_x1_z = torch.einsum("fdc,fde->fce", a, grad_y_z) - count * (q @ cov)
        grad_x1_z -= e[..., None] * z_sum[:, None]
        grad_bias1 = sum_grad_x1.sum(1)
        grad_weight1 = (grad_x1_z.diagonal(dim1=1, dim2=2) + mu * sum_grad_x1).sum(1) * invstd1
        # Batch norm 1 over (batch, electrodes, time), x1_hat = (z + mu) / std1:
        # grad_t = scale1 * (grad_x1 - grad_bias1 / M1 - x1_hat * grad_weight1 / M1).
        count1 = count * channels
        h = scale1 * grad_weight1 * invstd1 / count1
        eye = torch.eye(channels, dtype=z.dtype, device=z.device)
        to_z = -(scale1[:, None, None] * q + h[:, None, None] * eye)
        constant = -(scale1[:, None] * (e + grad_bias1[:, None] / count1) + h[:, None] * mu)
        to_y = _batched(scale1[:, None, None] * a.transpose(1, 2), n)
        grad_t = torch.baddbmm(_batched(constant[..., None], n), to_y, grad_y)
        grad_t.baddbmm_(_batched(to_z, n), z)
        return (
            grad_t.view(n, maps, channels, length), grad_weight1, grad_bias1, grad_spatial,
            grad_weight2, grad_bias2, None, None, None, None, None, None,
        )


def spatial_block(t, temporal, spatial, channels_last=False):
    """``spatial(temporal.batch_norm(t))``: EEGNet's block 1 after its temporal convolution.

    Returns ``(batch, F1 * D, 1, time // pool_length)``.
    """
    batch_norm1, batch_norm2 = temporal.batch_norm, spatial.batch_norm
    if batch_norm1.training != batch_norm2.training:
        return spatial(batch_norm1(t))
    n, maps, channels, length = t.shape
    filters = spatial.conv.weight.view(maps, -1, channels)
    mask = block_dropout_mask(spatial, n, spatial.conv.out_channels, length, t, False)
    if batch_norm1.training:
        check_batch_size(t.shape)
        check_batch_size((n, spatial.conv.out_channels, 1, length))
        out, mean1, var1, mean2, var2 = _SpatialBlock.apply(
            t, batch_norm1.weight, batch_norm1.bias, filters, batch_norm2.weight.view(maps, -1),
            batch_norm2.bias.view(maps, -1), batch_norm1.eps, batch_norm2.eps,
            spatial.activation, spatial.pool, mask, channels_last,
        )
        update_running_stats(batch_norm1, mean1, var1, t.numel() // maps)
        update_running_stats(batch_norm2, mean2, var2, t.numel() // (maps * channels))
    else:  # both batch norms and the filters are one fixed linear map per output
        scale1, shift1 = batch_norm_affine(batch_norm1)
        scale2, shift2 = batch_norm_affine(batch_norm2)
        scale2, shift2 = scale2.view(maps, -1), shift2.view(maps, -1)
        mixing = filters * (scale1[:, None, None] * scale2[..., None])
        shift = scale2 * (filters.sum(-1) * shift1[:, None]) + shift2
        y = (torch.matmul(mixing, t) + shift[..., None]).flatten(1, 2)
        out = ActPool.apply(y, spatial.activation, spatial.pool, mask, channels_last)
    return out.unsqueeze(2)


#: Electrodes from which block 1 runs spatial filters first (below, both orders cost
#: about the same; the temporal-first code was tuned on 2 electrodes).
SPATIAL_FIRST_MIN_CHANNELS = 4


def spatial_first_applies(x, temporal, spatial):
    """Whether :func:`spatial_first_block` computes EEGNet's block 1 for ``x``.

    Needs the layers EEGNet builds (a bias-free one-channel ``(1, k)``
    temporal convolution with zero padding; bias-free ``(n_channels, 1)``
    spatial filters, ``D`` per temporal filter), both batch norms in the
    same mode, enough electrodes, and trials that need no gradient (they are
    data: the batch-norm statistics below are computed from them as
    constants).
    """
    conv, filters = temporal.conv, spatial.conv
    return (
        x.dim() == 3
        and x.shape[1] >= SPATIAL_FIRST_MIN_CHANNELS
        and not x.requires_grad
        and temporal.batch_norm.training == spatial.batch_norm.training
        and conv.in_channels == 1 and conv.bias is None and conv.groups == 1
        and conv.kernel_size[0] == 1 and conv.stride == (1, 1) and conv.dilation == (1, 1)
        and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
        and conv.padding[0] == 0
        and filters.bias is None and filters.groups == conv.out_channels
        and filters.kernel_size == (x.shape[1], 1) and filters.stride == (1, 1)
        and filters.padding == (0, 0) and filters.dilation == (1, 1)
    )


def _lagged_sums(x, kernel_length, padding, length, block=128):
    """Sums over trials and electrodes that give the temporal outputs' batch-norm statistics.

    With ``xp`` the zero-padded trials, the temporal convolution's output at
    time ``t`` is ``sum_j k[j] xp[t + j]``; over trials, electrodes and the
    ``length`` output times, its sum is ``k @ first`` and its sum of squares
    ``k @ second @ k`` with ``first[j] = sum xp[t + j]`` and ``second[i, j] =
    sum xp[t + i] xp[t + j]``. The products of samples up to ``kernel_length
    - 1`` apart come from matrix products of blocks of time (the band of
    ``xp' xp``; memory and time linear in the trial length). Float64: the
    variance is a difference of these sums, and a DC offset makes it a small
    one.
    """
    rows = x.reshape(-1, x.shape[-1]).double()
    total = x.shape[-1] + 2 * padding
    # Zeros past the end too, so that every block multiplies full windows.
    padded = nn.functional.pad(rows, (padding, padding + kernel_length + block))
    lags = torch.arange(kernel_length, device=x.device)
    window = torch.arange(block, device=x.device)[:, None] + lags  # (block, lags)
    products = torch.empty(total, kernel_length, dtype=torch.float64, device=x.device)
    for start in range(0, total, block):
        stop = min(start + block, total)
        near = padded[:, start : start + block + kernel_length - 1]
        gram = padded[:, start:stop].T @ near  # (stop - start, block + lags - 1)
        products[start:stop] = gram.gather(1, window[: stop - start])
    zero = products.new_zeros(1, kernel_length)
    # cumulative[s, lag] = sum over times before s of xp[t] xp[t + lag], all trials
    cumulative = torch.cat([zero, products.cumsum(0)])
    column = torch.cat([zero[0, :1], padded[:, :total].sum(0).cumsum(0)])
    first = column[lags + length] - column[lags]
    second = torch.zeros(kernel_length, kernel_length, dtype=torch.float64, device=x.device)
    for lag in range(kernel_length):
        i = lags[: kernel_length - lag]
        sums = cumulative[i + length, lag] - cumulative[i, lag]
        second[i, i + lag] = sums
        second[i + lag, i] = sums
    return first, second


def spatial_first_block(x, temporal, spatial, channels_last=False):
    """EEGNet's block 1 with the spatial filters applied before the temporal ones.

    Up to the activation, block 1 is linear in each map: temporal filter
    ``k_f``, batch norm, ``D`` spatial filters ``w_fd``, batch norm. The
    spatial filters commute with the temporal one (``sum_c w_c (k * x_c) = k
    * sum_c w_c x_c``, zero padding included), so the trials are mixed into
    ``F1 * D`` virtual electrodes first and only those are filtered in time:
    ``F1 * D * n_channels + F1 * D * k`` operations per sample instead of
    ``F1 * n_channels * k``. The first batch norm's statistics run over every
    electrode's temporal output, which is never formed: they follow exactly
    from the filters and the lagged sums of :func:`_lagged_sums`. Autograd
    differentiates the rest (trials need no gradient).

    Returns ``(batch, F1 * D, 1, time // pool_length)``, as :func:`spatial_block`.
    """
    batch_norm1, batch_norm2 = temporal.batch_norm, spatial.batch_norm
    conv = temporal.conv
    n, channels, n_times = x.shape
    maps, kernel_length = conv.out_channels, conv.kernel_size[1]
    padding = conv.padding[1]
    filters = spatial.conv.weight.view(maps, -1, channels)  # (F1, D, n_channels)
    depth = filters.shape[1]
    length = n_times + 2 * padding - kernel_length + 1
    mask = block_dropout_mask(spatial, n, maps * depth, length, x, False)
    mixed = torch.matmul(filters.reshape(maps * depth, channels), x)  # (n, F1 D, time)
    kernels = conv.weight.view(maps, 1, kernel_length).repeat_interleave(depth, 0)
    u = nn.functional.conv1d(mixed, kernels, padding=padding, groups=maps * depth)
    weight_sums = filters.sum(-1)  # (F1, D): what the spatial filters make of a constant
    if batch_norm1.training:
        check_batch_size((n, maps, channels, length))
        count = n * channels * length
        first, second = _lagged_sums(x, kernel_length, padding, length)
        k = conv.weight.view(maps, kernel_length).double()
        mean1 = (k @ first) / count
        var1 = (torch.einsum("fi,ij,fj->f", k, second, k) / count - mean1.square()).clamp_min(0)
        mean1, var1 = mean1.to(x.dtype), var1.to(x.dtype)
        update_running_stats(batch_norm1, mean1.detach(), var1.detach(), count)
        scale1 = batch_norm1.weight * torch.rsqrt(var1 + batch_norm1.eps)
        shift1 = batch_norm1.bias - mean1 * scale1
    else:
        scale1, shift1 = batch_norm_affine(batch_norm1)
    # Batch norm 1, then the spatial filters: scale1 * u + shift1 * sum(w).
    shift = (shift1[:, None] * weight_sums).reshape(-1, 1)
    scale = scale1.repeat_interleave(depth)[:, None]
    if batch_norm2.training:
        scale = scale + 0 * shift  # the gradient the shift has: 0 (see below)
    s = u * scale
    if batch_norm2.training:
        # Batch norm 2 removes any constant of a map with the batch mean, so the shift
        # only moves its running mean. Leaving it out of the sum gives batch norm 1's
        # bias (and mean) their gradient of exactly 0 instead of rounding noise, which
        # Adam would scale up to full steps.
        y = batch_norm2(s.unsqueeze(2)).squeeze(2)
        with torch.no_grad():
            momentum = batch_norm2.momentum
            if momentum is None:  # cumulative average
                momentum = 1.0 / float(batch_norm2.num_batches_tracked)
            # .data: the batch-norm node keeps the buffer, but its backward in
            # training mode reads the batch statistics, not the running ones.
            batch_norm2.running_mean.data.add_(
                shift[:, 0].to(batch_norm2.running_mean.dtype), alpha=momentum
            )
    else:
        y = batch_norm2((s + shift).unsqueeze(2)).squeeze(2)
    out = ActPool.apply(y, spatial.activation, spatial.pool, mask, channels_last)
    return out.unsqueeze(2)


# ---------------------------------------------------------------------------
# DeepConvNet


def _deepconvnet_blocks(model):
    return [block for name, block in model.features.named_children() if name != "flatten"]


def deepconvnet_forward(model, x):
    """DeepConvNet's logits, as its plain layers give them, in fewer passes.

    Block 1's temporal and spatial convolutions run as one
    (:func:`composed_conv`); every block ends in :func:`norm_act_pool`.
    Only where :func:`fusable` holds.
    """
    blocks = _deepconvnet_blocks(model)
    weight, bias = composed_conv(blocks[0].temporal_conv, blocks[0].spatial_conv)
    h = nn.functional.conv2d(x.unsqueeze(1), weight, bias)
    # Channels-last between blocks: oneDNN's convolutions run faster on it.
    h = norm_act_pool(h, blocks[0], channels_last=len(blocks) > 1)
    for index, block in enumerate(blocks[1:], start=2):
        h = norm_act_pool(block.conv(h), block, channels_last=index < len(blocks))
    return model.classifier(h.flatten(1))


def fold_deepconvnet(model):
    """DeepConvNet's evaluation-mode function as a :class:`FoldedConvNet` (a snapshot).

    Each block's batch norm (and bias) goes into its convolution, block 1's
    two convolutions compose into one.
    """
    stages, length = [], model.n_times
    with torch.no_grad():
        for block in _deepconvnet_blocks(model):
            if hasattr(block, "conv"):
                weight, bias = block.conv.weight, block.conv.bias
            else:
                weight, bias = composed_conv(block.temporal_conv, block.spatial_conv)
            scale, shift = batch_norm_affine(block.batch_norm)
            shift = shift if bias is None else shift + scale * bias
            length = conv_output_length(length, weight.shape[-1])
            weight = weight * scale[:, None, None, None]
            stages.append((weight, shift, 0, block.activation, block.pool, length))
            length = length // pool_window(block.pool)
        classifier = model.classifier
        return FoldedConvNet(stages, classifier.weight.clone(), classifier.bias.clone())


def composed_conv(temporal, spatial):
    """Weight and bias (or None) of ``spatial(temporal(x))`` as one convolution.

    Both are unpadded and linear, with nothing in between, so the spatial
    filters compose with the temporal ones into ``(n_channels,
    kernel_length)`` kernels: several times fewer multiplications (6 for
    the course network) than the spatial convolution over every temporal
    map, whose large output is never stored. Gradients reach both weights
    through the composition.
    """
    weight = torch.einsum("ofc,fk->ock", spatial.weight[..., 0], temporal.weight[:, 0, 0])
    bias = spatial.bias
    if temporal.bias is not None:
        through = torch.einsum("ofc,f->o", spatial.weight[..., 0], temporal.bias)
        bias = through if bias is None else bias + through
    return weight.unsqueeze(1), bias


# ---------------------------------------------------------------------------
# ShallowFBCSPNet


def shallow_fusable(model, x):
    """Whether ShallowFBCSPNet may compose its two convolutions on ``x``.

    Only the two convolutions are replaced (the other layers run as
    modules), so only they must be plain: unpadded, unstrided ``nn.Conv2d``
    without hooks, on a float CPU tensor in eager mode.
    """
    if not eager_cpu(x.device, x.dtype) or _has_hooks(model) or _has_hooks(model.features):
        return False
    convs = (model.features.temporal_conv, model.features.spatial_conv)
    return all(
        type(conv) is nn.Conv2d and not _has_hooks(conv) and conv.padding == (0, 0)
        and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
        for conv in convs
    )


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


# ---------------------------------------------------------------------------
# Folded prediction


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
                h = _activate(activation, _max_pool(h, window, positions=False)[0], inplace=True)
            else:
                h = _activate(activation, h, inplace=True)
                h = h if window is None else _avg_pool_sum(h, window)
        return nn.functional.linear(h.flatten(1), self.weight, self.bias)
