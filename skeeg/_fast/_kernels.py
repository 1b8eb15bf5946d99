"""Kernels shared by the fast paths: batch-norm helpers, autograd functions, pooling.

After each convolution PyTorch runs the activation, pooling and dropout as
separate kernels and autograd keeps every intermediate; on EEG-sized
tensors these memory-bound passes (and avg_pool2d, max_pool2d with indices
and bernoulli_, which are slow on the CPU) cost as much as the convolutions.
The code here computes the same functions as those layers in fewer passes,
with hand-written backward passes where that saves memory traffic. Tensors
between blocks are kept channels-last, the layout in which oneDNN's
convolutions and ATen's batch norm run fastest.

Sections: batch-norm helpers; one-channel convolution; activation, pooling
and dropout as one node; composed convolutions.
"""

import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from ._applies import pool_window

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
# One-channel convolution


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


def is_plain_temporal(conv):
    """Whether ``conv`` is a bias-free stride-1 ``(1, k)`` convolution of one channel."""
    plain = conv.in_channels == 1 and conv.kernel_size[0] == 1 and conv.bias is None
    plain = plain and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
    return plain and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)


def temporal_conv(x, conv):
    """``conv(x)``; through ``_OneChannelConv`` for a bias-free ``(1, k)`` one-channel conv."""
    if not is_plain_temporal(conv):
        return conv(x)
    return one_channel_conv(x, conv.weight, conv.padding)


def one_channel_conv(x, weight, padding):
    """The convolution of one-channel images ``x`` by ``(1, k)`` kernels ``weight``."""
    return _OneChannelConv.apply(x, weight, padding)


# ---------------------------------------------------------------------------
# Activation, pooling and dropout as one node


def activate(activation, y, inplace=False):
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


def max_pool(x, window, positions=True):
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


def avg_pool_sum(x, window):
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
        pooled, where = max_pool(y, window)
        result = activate(activation, pooled)
        return _scale_into(result, 1.0 if mask is None else mask, channels_last), result, where
    result = activate(activation, y)
    pooled = avg_pool_sum(result, window)
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
# Composed convolutions


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

