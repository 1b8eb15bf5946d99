"""Shallow ConvNet, or ShallowFBCSPNet (Schirrmeister et al., 2017)."""

from collections import OrderedDict

import torch
from torch import nn

from ._checks import (
    BOOLEAN,
    DROPOUT,
    POSITIVE,
    check_input_length,
    check_shape,
    validate_arguments,
)
from ._init import apply_max_norm_limits
from ._layers import conv_output_length


class ShallowFBCSPNet(nn.Module):
    """Shallow ConvNet, the convolutional counterpart of filter-bank CSP.

    The steps of filter-bank common spatial patterns as layers [1]_: a
    temporal convolution (the band-pass filters), a spatial convolution over
    all electrodes with no non-linearity in between (the spatial filters),
    batch normalisation, squaring, mean pooling over time and a logarithm
    (the log band power), dropout, and a linear layer over every pooled
    sample giving the class logits.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels (electrodes).
    n_times : int
        Number of time samples per trial.
    n_classes : int
        Number of classes, at least 2.
    temporal_filters : int, default=40
        Number of temporal filters.
    spatial_filters : int, default=40
        Number of spatial filters.
    kernel_length : int, default=25
        Length of the temporal kernels, in samples (0.1 s at 250 Hz, the rate
        of the paper). The convolutions are not padded.
    pool_length : int, default=75
        Width of the mean pooling, in samples.
    pool_stride : int, default=15
        Stride of the mean pooling, in samples.
    dropout : float, default=0.5
        Dropout rate before the linear layer.
    max_norm : bool, default=False
        Whether :meth:`apply_max_norm` constrains the weights: to an L2 norm of
        at most 2.0 per filter of both convolutions and 0.5 per output unit of
        the linear layer, the limits of braindecode's former
        ``MaxNormDefaultConstraint``, which attributes them to the paper.
        braindecode 0.8.1 applies none, hence off by default.

    Attributes
    ----------
    n_outputs : int
        Number of output logits, equal to ``n_classes``.
    max_norm_limits : dict of str to float
        Maps the name of each constrained layer to its limit:
        ``{"features.temporal_conv": 2.0, "features.spatial_conv": 2.0,
        "classifier": 0.5}`` with ``max_norm=True``, empty otherwise.
    features : torch.nn.Sequential
        ``temporal_conv``, ``spatial_conv``, ``batch_norm``, ``square``,
        ``pool``, ``log``, ``dropout`` and ``flatten``.
    classifier : torch.nn.Linear
        The layer giving the logits.

    Raises
    ------
    ValueError
        If an argument is invalid, or if ``n_times`` is too short for the
        kernel and pooling; the message then gives the minimum ``n_times``.

    Notes
    -----
    The defaults, layer order and initialisation are those of braindecode
    0.8.1's ``ShallowFBCSPNet`` trained trial-wise
    (``final_conv_length="auto"``): with them the two have the same number
    of parameters (46,084 for 22 channels x 1,000 samples and 4 classes).
    The input of shape ``(batch, n_channels, n_times)`` is handled as a
    one-channel image of height ``n_channels``. The temporal convolution has
    a bias and the spatial one none (batch normalisation follows it), as in
    braindecode. Convolution and linear weights are Xavier-uniform and their
    biases zero, as in braindecode; the classifiers' ``init`` overrides this
    unless it is ``"default"``.

    The paper trained on whole trials and also with cropped training, in
    which the classifier spans 30 pooled samples and slides along longer
    inputs (braindecode's default ``final_conv_length=30``, whose output
    has one prediction per crop). This module classifies whole trials
    only: its linear layer reads every pooled sample. The logarithm is
    taken of ``max(x, 1e-6)`` so that it stays finite, as in braindecode.

    ``forward`` runs the layers above. skeeg's classifiers train it on the
    CPU with its two convolutions composed into one and predict through a
    folded copy (``skeeg/_fast/shallow.py``, attached to this class by
    :func:`skeeg._fast.register`): the same function in fewer operations.

    References
    ----------
    .. [1] R. T. Schirrmeister, J. T. Springenberg, L. D. J. Fiederer,
       M. Glasstetter, K. Eggensperger, M. Tangermann, F. Hutter, W. Burgard
       and T. Ball, "Deep learning with convolutional neural networks for EEG
       decoding and visualization", Human Brain Mapping, 38(11), 5391-5420,
       2017.

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import ShallowFBCSPNet
    >>> model = ShallowFBCSPNet(n_channels=22, n_times=1000, n_classes=4)
    >>> model(torch.randn(8, 22, 1000)).shape
    torch.Size([8, 4])
    >>> sum(p.numel() for p in model.parameters())
    46084
    """

    # Each argument and what it may be: checked here and by the classifier.
    _parameter_constraints = {
        "temporal_filters": POSITIVE,
        "spatial_filters": POSITIVE,
        "kernel_length": POSITIVE,
        "pool_length": POSITIVE,
        "pool_stride": POSITIVE,
        "dropout": DROPOUT,
        "max_norm": BOOLEAN,
    }

    def __init__(
        self,
        n_channels,
        n_times,
        n_classes,
        *,
        temporal_filters=40,
        spatial_filters=40,
        kernel_length=25,
        pool_length=75,
        pool_stride=15,
        dropout=0.5,
        max_norm=False,
    ):
        super().__init__()
        validate_arguments(self, locals())
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        temporal_filters = int(temporal_filters)
        spatial_filters = int(spatial_filters)
        kernel_length = int(kernel_length)
        pool_length = int(pool_length)
        pool_stride = int(pool_stride)
        dropout = float(dropout)
        max_norm = bool(max_norm)

        def output_times(length):
            length = conv_output_length(length, kernel_length)
            return strided_pool_length(length, pool_length, pool_stride)

        check_input_length(
            n_times,
            output_times,
            "n_times",
            f"ShallowFBCSPNet with kernel_length={kernel_length}, "
            f"pool_length={pool_length}, pool_stride={pool_stride}",
        )

        self.n_channels = n_channels
        self.n_times = n_times
        self.n_classes = n_classes
        self.n_outputs = n_classes

        self.features = nn.Sequential(
            OrderedDict(
                temporal_conv=nn.Conv2d(1, temporal_filters, (1, kernel_length)),
                spatial_conv=nn.Conv2d(
                    temporal_filters, spatial_filters, (n_channels, 1), bias=False
                ),
                batch_norm=nn.BatchNorm2d(spatial_filters),
                square=Square(),
                pool=nn.AvgPool2d((1, pool_length), stride=(1, pool_stride)),
                log=SafeLog(),
                dropout=nn.Dropout(dropout),
                flatten=nn.Flatten(),
            )
        )
        self.classifier = nn.Linear(spatial_filters * output_times(n_times), self.n_outputs)

        for layer in (self.features.temporal_conv, self.features.spatial_conv, self.classifier):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

        self.max_norm_limits = (
            {"features.temporal_conv": 2.0, "features.spatial_conv": 2.0, "classifier": 0.5}
            if max_norm
            else {}
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
        return self.classifier(self.features(x.unsqueeze(1)))

    def apply_max_norm(self):
        """Rescale in place the weights listed in ``max_norm_limits``.

        Call it after each optimiser step; it does nothing when the model was
        built with ``max_norm=False``.
        """
        apply_max_norm_limits(self, self.max_norm_limits)


class Square(nn.Module):
    """``x ** 2``, element-wise: the power of the filtered signal."""

    def forward(self, x):
        return x * x


class SafeLog(nn.Module):
    """``log(max(x, eps))``: a logarithm that stays finite at 0.

    Parameters
    ----------
    eps : float, default=1e-6
        The smallest value whose logarithm is taken.
    """

    def __init__(self, eps=1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return torch.log(torch.clamp(x, min=self.eps))

    def extra_repr(self):
        return f"eps={self.eps}"


def strided_pool_length(length, pool_length, stride):
    """Length of the output of pooling with a window and a stride.

    Parameters
    ----------
    length : int
        Input length; a length below 1 means an earlier layer could not run.
    pool_length : int
        Width of the pooling window.
    stride : int
        Step between windows.

    Returns
    -------
    length : int
        The number of whole windows: ``(length - pool_length) // stride + 1``,
        or 0 if the input is shorter than one window.
    """
    if length < pool_length:
        return 0
    return (length - pool_length) // stride + 1
