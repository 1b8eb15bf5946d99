"""EEGNet (Lawhern et al., 2018)."""

from collections import OrderedDict

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from ._layers import (
    ActPool,
    FoldedConvNet,
    act_pool_backward,
    act_pool_forward,
    apply_max_norm_limits,
    batch_norm_affine,
    block_dropout_mask,
    check_batch_size,
    check_bool,
    check_dropout,
    check_input_length,
    check_positive_int,
    check_shape,
    conv_output_length,
    fusable,
    get_activation,
    norm_act_pool,
    pool_output_length,
    pool_window,
    temporal_conv,
    update_running_stats,
)

SEPARABLE_MODES = ("full", "depthwise")


class EEGNet(nn.Module):
    """EEGNet, a compact convolutional network for EEG classification.

    Block 1 learns ``F1`` temporal filters, then ``D`` spatial filters per
    temporal filter with a depthwise convolution over all electrodes; block 2
    summarises each feature map in time and mixes them into ``F2`` maps; a
    linear layer gives the class logits [1]_.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels (electrodes).
    n_times : int
        Number of time samples per trial.
    n_classes : int
        Number of classes, at least 2.
    activation : str, default="elu"
        Non-linearity after the spatial and block-2 convolutions: ``"elu"``,
        ``"relu"`` or ``"leaky_relu"``, case-insensitive.
    separable : {"full", "depthwise"}, default="full"
        Convolution of block 2. ``"depthwise"`` is the paper's separable
        convolution: a depthwise temporal convolution (one kernel per feature
        map) followed by a 1x1 convolution mixing the maps. ``"full"`` replaces
        both by one ordinary temporal convolution over all ``F1 * D`` maps,
        the variant used in the course study on BCI Competition III
        dataset IIIb; it has many more parameters.
    temporal_filters : int, default=16
        Number of temporal filters, ``F1`` in the paper.
    depth_multiplier : int, default=2
        Number of spatial filters per temporal filter, ``D`` in the paper.
    separable_filters : int, default=32
        Number of feature maps out of block 2, ``F2`` in the paper.
    kernel_length : int, default=51
        Length of the temporal kernels of block 1, zero-padded by
        ``kernel_length // 2`` on each side. The paper uses half the sampling
        rate.
    separable_kernel_length : int, default=15
        Length of the temporal kernels of block 2, padded likewise.
    pool_length : int, default=4
        Width and stride of the average pooling of block 1.
    separable_pool_length : int, default=8
        Width and stride of the average pooling of block 2.
    dropout : float, default=0.25
        Dropout rate after each block.
    max_norm : bool, default=False
        Whether :meth:`apply_max_norm` constrains the weights: to an L2 norm of
        at most 1.0 per spatial filter and 0.25 per output unit of the linear
        layer, as in the paper.

    Attributes
    ----------
    n_outputs : int
        Number of output logits, equal to ``n_classes``.
    max_norm_limits : dict of str to float
        Maps the name of each constrained layer to its limit:
        ``{"features.spatial.conv": 1.0, "classifier": 0.25}`` with
        ``max_norm=True``, empty otherwise.
    features : torch.nn.Sequential
        The convolutional blocks ``temporal``, ``spatial`` and ``separable``,
        then a flattening layer.
    classifier : torch.nn.Linear
        The layer giving the logits.

    Raises
    ------
    ValueError
        If an argument is invalid, or if ``n_times`` is too short for the
        kernels and pooling; the message then gives the minimum ``n_times``.

    Notes
    -----
    The input of shape ``(batch, n_channels, n_times)`` is handled as a
    one-channel image of height ``n_channels``. Convolutions feed batch
    normalisation and so have no bias.

    On the CPU, ``forward`` computes the same function as the layers above
    with fused code (fewer passes over memory, batch norm folded where it is
    linear); hooks on the model or its layers, other layer types, a GPU,
    tracing or autocast run the layers one by one instead. Its gradients are
    first-order only; for higher orders, call ``features`` then ``classifier``.

    References
    ----------
    .. [1] V. J. Lawhern, A. J. Solon, N. R. Waytowich, S. M. Gordon,
       C. P. Hung and B. J. Lance, "EEGNet: a compact convolutional neural
       network for EEG-based brain-computer interfaces", Journal of Neural
       Engineering, 15(5), 056013, 2018.

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import EEGNet
    >>> model = EEGNet(n_channels=2, n_times=750, n_classes=2)
    >>> model(torch.randn(8, 2, 750)).shape
    torch.Size([8, 2])
    >>> sum(p.numel() for p in model.parameters())
    17874
    """

    def __init__(
        self,
        n_channels,
        n_times,
        n_classes,
        *,
        activation="elu",
        separable="full",
        temporal_filters=16,
        depth_multiplier=2,
        separable_filters=32,
        kernel_length=51,
        separable_kernel_length=15,
        pool_length=4,
        separable_pool_length=8,
        dropout=0.25,
        max_norm=False,
    ):
        super().__init__()
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        if separable not in SEPARABLE_MODES:
            raise ValueError(
                f'separable must be "full" or "depthwise", got {separable!r}.'
            )
        f1 = check_positive_int(temporal_filters, "temporal_filters")
        d = check_positive_int(depth_multiplier, "depth_multiplier")
        f2 = check_positive_int(separable_filters, "separable_filters")
        kernel_length = check_positive_int(kernel_length, "kernel_length")
        separable_kernel_length = check_positive_int(
            separable_kernel_length, "separable_kernel_length"
        )
        pool_length = check_positive_int(pool_length, "pool_length")
        separable_pool_length = check_positive_int(
            separable_pool_length, "separable_pool_length"
        )
        dropout = check_dropout(dropout, "dropout")
        max_norm = check_bool(max_norm, "max_norm")

        def output_times(length):
            length = conv_output_length(length, kernel_length, kernel_length // 2)
            length = pool_output_length(length, pool_length)
            length = conv_output_length(
                length, separable_kernel_length, separable_kernel_length // 2
            )
            return pool_output_length(length, separable_pool_length)

        check_input_length(
            n_times,
            output_times,
            "n_times",
            f"EEGNet with kernel_length={kernel_length}, pool_length={pool_length}, "
            f"separable_kernel_length={separable_kernel_length}, "
            f"separable_pool_length={separable_pool_length}",
        )

        self.n_channels = n_channels
        self.n_times = n_times
        self.n_classes = n_classes
        self.n_outputs = n_classes

        temporal = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(
                    1,
                    f1,
                    (1, kernel_length),
                    padding=(0, kernel_length // 2),
                    bias=False,
                ),
                batch_norm=nn.BatchNorm2d(f1),
            )
        )
        spatial = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(f1, f1 * d, (n_channels, 1), groups=f1, bias=False),
                batch_norm=nn.BatchNorm2d(f1 * d),
                activation=get_activation(activation),
                pool=nn.AvgPool2d((1, pool_length)),
                dropout=nn.Dropout(dropout),
            )
        )
        padding = (0, separable_kernel_length // 2)
        if separable == "full":
            block2_convs = OrderedDict(
                conv=nn.Conv2d(
                    f1 * d,
                    f2,
                    (1, separable_kernel_length),
                    padding=padding,
                    bias=False,
                )
            )
        else:
            block2_convs = OrderedDict(
                depthwise_conv=nn.Conv2d(
                    f1 * d,
                    f1 * d,
                    (1, separable_kernel_length),
                    padding=padding,
                    groups=f1 * d,
                    bias=False,
                ),
                pointwise_conv=nn.Conv2d(f1 * d, f2, 1, bias=False),
            )
        block2 = nn.Sequential(
            OrderedDict(
                **block2_convs,
                batch_norm=nn.BatchNorm2d(f2),
                activation=get_activation(activation),
                pool=nn.AvgPool2d((1, separable_pool_length)),
                dropout=nn.Dropout(dropout),
            )
        )
        self.features = nn.Sequential(
            OrderedDict(
                temporal=temporal,
                spatial=spatial,
                separable=block2,
                flatten=nn.Flatten(),
            )
        )
        self.classifier = nn.Linear(f2 * output_times(n_times), self.n_outputs)
        self.max_norm_limits = (
            {"features.spatial.conv": 1.0, "classifier": 0.25} if max_norm else {}
        )

    def forward(self, x):
        """Compute the logits.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_channels, n_times)
            The EEG trials.

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_outputs)
        """
        if fusable(self, x):
            return self._fused_forward(x)
        return self.classifier(self.features(x.unsqueeze(1)))

    def _fused_forward(self, x):
        """The same function as the plain layers, in fewer passes (see ``fusable``)."""
        temporal, spatial = self.features.temporal, self.features.spatial
        block2 = self.features.separable
        h = temporal_conv(x.unsqueeze(1), temporal.conv)
        h = spatial_block(h, temporal, spatial, channels_last=True)
        for name in ("conv", "depthwise_conv", "pointwise_conv"):
            if hasattr(block2, name):
                h = getattr(block2, name)(h)
        h = norm_act_pool(h, block2)
        return self.classifier(h.flatten(1))

    def _folded(self):
        """The evaluation-mode function as a :class:`FoldedConvNet` (a snapshot)."""
        temporal, spatial = self.features.temporal, self.features.spatial
        block2 = self.features.separable
        maps, channels = temporal.conv.out_channels, self.n_channels
        with torch.no_grad():
            # Temporal filters, batch norm, spatial filters, batch norm: one kernel
            # of (n_channels, kernel_length) per output map.
            scale1, shift1 = batch_norm_affine(temporal.batch_norm)
            scale2, shift2 = batch_norm_affine(spatial.batch_norm)
            filters = spatial.conv.weight.view(maps, -1, channels)
            temporal_filters = scale1[:, None] * temporal.conv.weight[:, 0, 0]
            weight1 = filters[..., None] * temporal_filters[:, None, None]
            weight1 = weight1.flatten(0, 1).unsqueeze(1) * scale2[:, None, None, None]
            bias1 = scale2 * (filters.sum(-1) * shift1[:, None]).flatten() + shift2
            if hasattr(block2, "conv"):
                weight2, padding2 = block2.conv.weight, block2.conv.padding
            else:  # depthwise then pointwise: one ordinary convolution
                depthwise, pointwise = block2.depthwise_conv, block2.pointwise_conv
                weight2 = pointwise.weight * depthwise.weight.transpose(0, 1)
                padding2 = depthwise.padding
            scale3, shift3 = batch_norm_affine(block2.batch_norm)
            padding1 = temporal.conv.padding
            length1 = conv_output_length(self.n_times, weight1.shape[-1], padding1[1])
            pooled1 = length1 // pool_window(spatial.pool)
            length2 = conv_output_length(pooled1, weight2.shape[-1], padding2[1])
            weight2 = weight2 * scale3[:, None, None, None]
            stages = [
                (weight1, bias1, padding1, spatial.activation, spatial.pool, length1),
                (weight2, shift3, padding2, block2.activation, block2.pool, length2),
            ]
            classifier = self.classifier
            return FoldedConvNet(stages, classifier.weight.clone(), classifier.bias.clone())

    def apply_max_norm(self):
        """Rescale in place the weights listed in ``max_norm_limits``.

        Call it after each optimiser step; it does nothing when the model was
        built with ``max_norm=False``.
        """
        apply_max_norm_limits(self, self.max_norm_limits)


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
