"""EEGNet (Lawhern et al., 2018)."""

from collections import OrderedDict

from torch import nn

from ._checks import (
    BOOLEAN,
    DROPOUT,
    POSITIVE,
    check_input_length,
    check_shape,
    names,
    options,
    validate_arguments,
)
from ._init import apply_max_norm_limits
from ._layers import ACTIVATIONS, conv_output_length, get_activation, pool_output_length

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

    ``forward`` runs the layers above. skeeg's classifiers train and predict
    it on the CPU through fused code that computes the same function in
    fewer passes over memory, batch norm folded where it is linear
    (``skeeg/_fast/eegnet.py``, attached to this class by
    :func:`skeeg._fast.register`; first-order gradients only); hooks on the
    model or its layers, other layer types, a subclass, a GPU or autocast
    leave the layers in charge.

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

    # Each argument and what it may be: checked here and by the classifier.
    _parameter_constraints = {
        "activation": names(*ACTIVATIONS),
        "separable": options(*SEPARABLE_MODES),
        "temporal_filters": POSITIVE,
        "depth_multiplier": POSITIVE,
        "separable_filters": POSITIVE,
        "kernel_length": POSITIVE,
        "separable_kernel_length": POSITIVE,
        "pool_length": POSITIVE,
        "separable_pool_length": POSITIVE,
        "dropout": DROPOUT,
        "max_norm": BOOLEAN,
    }

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
        validate_arguments(self, locals())
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        f1 = int(temporal_filters)
        d = int(depth_multiplier)
        f2 = int(separable_filters)
        kernel_length = int(kernel_length)
        separable_kernel_length = int(separable_kernel_length)
        pool_length = int(pool_length)
        separable_pool_length = int(separable_pool_length)
        dropout = float(dropout)
        max_norm = bool(max_norm)

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
        x = x.unsqueeze(1)  # a one-channel image of height n_channels
        return self.classifier(self.features(x))

    def apply_max_norm(self):
        """Rescale in place the weights listed in ``max_norm_limits``.

        Call it after each optimiser step; it does nothing when the model was
        built with ``max_norm=False``.
        """
        apply_max_norm_limits(self, self.max_norm_limits)

