"""EEGNet's fast paths: its forward in fewer passes, and its folded prediction.

Block 1 (temporal filters, batch norm, depthwise spatial filters, batch
norm, activation, pooling, dropout) is linear up to its activation, which
lets its two batch norms and its spatial filters run as one matrix per map
(:class:`_SpatialBlock`), or its spatial filters run first on many
electrodes (:mod:`skeeg._fast._spatial_first`).
"""

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from ..models import EEGNet, conv_output_length
from ._applies import fusable, fusable_layers, pool_window
from ._kernels import (
    ActPool,
    act_pool_backward,
    act_pool_forward,
    batch_norm_affine,
    block_dropout_mask,
    check_batch_size,
    is_plain_temporal,
    norm_act_pool,
    one_channel_conv,
    temporal_conv,
    update_running_stats,
)
from ._spatial_first import SPATIAL_FIRST_MIN_CHANNELS, lagged_sums, spatial_first_applies
from ._spatial_first import spatial_first_block
from .folded import FoldedConvNet

def eegnet_forward(model, x):
    """EEGNet's logits, as its plain layers give them, in fewer passes.

    The temporal convolution of the one-channel image runs through
    :class:`_OneChannelConv`; the rest of block 1 is :func:`spatial_block`;
    block 2's convolution is the model's own, then :func:`norm_act_pool`.
    Only where :func:`skeeg._fast._applies.fusable` holds.
    """
    temporal, spatial = model.features.temporal, model.features.spatial
    if spatial_first_applies(x, temporal, spatial):
        h = spatial_first_block(x, temporal, spatial, channels_last=True)
    else:
        h = temporal_conv(x.unsqueeze(1), temporal.conv)
        h = spatial_block(h, temporal, spatial, channels_last=True)
    return _after_block1(model, h)


def _after_block1(model, h):
    """Block 2 and the classifier, from block 1's output."""
    block2 = model.features.separable
    for name in ("conv", "depthwise_conv", "pointwise_conv"):
        if hasattr(block2, name):
            h = getattr(block2, name)(h)
    h = norm_act_pool(h, block2)
    return model.classifier(h.flatten(1))


def eegnet_members_forward(models, x, drawing):
    """The logits of EEGNets that read the same trials, the trials' own work done once.

    What :func:`eegnet_forward` gives for each model (to float rounding).
    On many electrodes the lagged sums behind the first batch norm's
    statistics depend on the trials alone: computed once. On few, the
    temporal convolutions of every model run as one convolution with all
    their filters (one pass over the trials for all of them). ``drawing(i)``
    is the context in which model ``i`` draws its dropout masks.

    Returns
    -------
    logits : list of torch.Tensor, or None
        None where some model's kernel does not apply, or their temporal
        convolutions differ.
    """
    first = models[0].features.temporal.conv
    shape = (first.weight.shape, first.padding)
    if not all(type(m) is EEGNet and fusable(m, x) and
               (m.features.temporal.conv.weight.shape, m.features.temporal.conv.padding) == shape
               for m in models):
        return None
    blocks = [(m.features.temporal, m.features.spatial) for m in models]
    if spatial_first_applies(x, *blocks[0]):
        sums = lagged_sums(x, first) if blocks[0][0].batch_norm.training else None
        outputs = []
        for index, (model, (temporal, spatial)) in enumerate(zip(models, blocks)):
            with drawing(index):
                h = spatial_first_block(x, temporal, spatial, channels_last=True, sums=sums)
                outputs.append(_after_block1(model, h))
        return outputs
    if not is_plain_temporal(first):
        return None
    weight = torch.cat([temporal.conv.weight for temporal, _ in blocks])
    parts = one_channel_conv(x.unsqueeze(1), weight, first.padding).chunk(len(models), dim=1)
    outputs = []
    for index, (model, (temporal, spatial), h) in enumerate(zip(models, blocks, parts)):
        with drawing(index):
            outputs.append(_after_block1(model, spatial_block(h, temporal, spatial,
                                                              channels_last=True)))
    return outputs


def fold_eegnet(model):
    """EEGNet's evaluation-mode function as a :class:`FoldedConvNet` (a snapshot), or None.

    Both batch norms of block 1 and its spatial filters compose with the
    temporal filters into one convolution; the depthwise and pointwise
    convolutions of block 2 into one, with its batch norm. None where the
    model has hooks or layers this does not reproduce
    (:func:`skeeg._fast._applies.fusable_layers`).
    """
    if not fusable_layers(model):
        return None
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

