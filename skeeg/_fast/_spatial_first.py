"""EEGNet's block 1 with its spatial filters applied first, on many electrodes.

The spatial filters commute with the temporal ones, so on enough electrodes
the trials are mixed into ``F1 * D`` virtual electrodes before any temporal
filtering (:func:`spatial_first_block`); the first batch norm's statistics
follow from lagged sums of the trials (:func:`_lagged_sums`).
"""

import torch
from torch import nn

from ._kernels import (
    ActPool,
    batch_norm_affine,
    block_dropout_mask,
    check_batch_size,
    update_running_stats,
)

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


def lagged_sums(x, conv):
    """:func:`_lagged_sums` of trials ``x`` for EEGNet's temporal convolution ``conv``."""
    kernel_length, padding = conv.kernel_size[1], conv.padding[1]
    return _lagged_sums(x, kernel_length, padding, x.shape[-1] + 2 * padding - kernel_length + 1)


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


def spatial_first_block(x, temporal, spatial, channels_last=False, sums=None):
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

    ``sums``: the trials' :func:`lagged_sums` where already computed
    (members of one fit reading the same trials share them).

    Returns ``(batch, F1 * D, 1, time // pool_length)``, as
    :func:`skeeg._fast.eegnet.spatial_block`.
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
        first, second = sums if sums is not None else lagged_sums(x, conv)
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

