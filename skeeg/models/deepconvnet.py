"""Deep ConvNet (Schirrmeister et al., 2017)."""

from collections import OrderedDict

from torch import nn

from ._checks import (
    BOOLEAN,
    DROPOUT,
    POSITIVE,
    POSITIVES,
    check_input_length,
    check_shape,
    names,
    validate_arguments,
)
from ._init import apply_max_norm_limits
from ._layers import ACTIVATIONS, conv_output_length, get_activation, pool_output_length


class DeepConvNet(nn.Module):
    """Deep ConvNet, a generic deep convolutional network for EEG decoding.

    The first block splits its convolution into a temporal convolution and a
    spatial convolution over all electrodes, with no non-linearity in
    between; each further block is a temporal convolution. Every block ends
    with batch normalisation, the activation, max pooling and dropout, and a
    linear layer gives the class logits [1]_. No convolution is padded.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels (electrodes).
    n_times : int
        Number of time samples per trial.
    n_classes : int
        Number of classes, at least 2.
    activation : str, default="elu"
        Non-linearity of every block: ``"elu"``, ``"relu"`` or
        ``"leaky_relu"``, case-insensitive.
    n_filters : sequence of int, default=(25, 50, 100, 200)
        Number of filters of each block. The first entry is the width of the
        temporal and spatial convolutions of block 1; each further entry adds
        a block.
    kernel_length : int, default=5
        Length of every temporal kernel. The paper uses 10 at 250 Hz.
    pool_length : int, default=2
        Width and stride of every max pooling. The paper uses 3.
    dropout : float, default=0.5
        Dropout rate after each block.
    bias : bool, default=False
        Whether the convolutions have a bias. Batch normalisation follows
        every convolution (the temporal one through the linear spatial
        convolution) and cancels any bias, hence off by default.
    max_norm : bool, default=False
        Whether :meth:`apply_max_norm` constrains the weights: to an L2 norm of
        at most 2.0 per filter of every convolution and 0.5 per output unit of
        the linear layer.

    Attributes
    ----------
    n_outputs : int
        Number of output logits, equal to ``n_classes``.
    max_norm_limits : dict of str to float
        Maps the name of each constrained layer to its limit; empty with
        ``max_norm=False``. With the default four blocks:
        ``features.block1.temporal_conv``, ``features.block1.spatial_conv``,
        ``features.block2.conv``, ``features.block3.conv`` and
        ``features.block4.conv`` (2.0) and ``classifier`` (0.5).
    features : torch.nn.Sequential
        The blocks ``block1``, ``block2``, ..., then a flattening layer.
    classifier : torch.nn.Linear
        The layer giving the logits.

    Raises
    ------
    ValueError
        If an argument is invalid, or if ``n_times`` is too short for the
        kernels and pooling; the message then gives the minimum ``n_times``.

    Notes
    -----
    ``forward`` runs the layers above. skeeg's classifiers train and predict
    it on the CPU through fused code that computes the same function in
    fewer passes over memory, the first two convolutions composed into one
    (``skeeg/_fast/deepconvnet.py``, attached to this class by
    :func:`skeeg._fast.register`; first-order gradients only); hooks on the
    model or its layers, other layer types, a subclass, a GPU or autocast
    leave the layers in charge.

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
    >>> from skeeg.models import DeepConvNet
    >>> model = DeepConvNet(n_channels=2, n_times=750, n_classes=2)
    >>> model(torch.randn(8, 2, 750)).shape
    torch.Size([8, 2])
    >>> sum(p.numel() for p in model.parameters())
    150577
    """

    # Each argument and what it may be: checked here and by the classifier.
    _parameter_constraints = {
        "activation": names(*ACTIVATIONS),
        "n_filters": POSITIVES,
        "kernel_length": POSITIVE,
        "pool_length": POSITIVE,
        "dropout": DROPOUT,
        "bias": BOOLEAN,
        "max_norm": BOOLEAN,
    }

    def __init__(
        self,
        n_channels,
        n_times,
        n_classes,
        *,
        activation="elu",
        n_filters=(25, 50, 100, 200),
        kernel_length=5,
        pool_length=2,
        dropout=0.5,
        bias=False,
        max_norm=False,
    ):
        super().__init__()
        validate_arguments(self, locals())
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        n_filters = tuple(int(v) for v in n_filters)
        kernel_length = int(kernel_length)
        pool_length = int(pool_length)
        dropout = float(dropout)
        bias = bool(bias)
        max_norm = bool(max_norm)

        def output_times(length):
            for _ in n_filters:
                length = conv_output_length(length, kernel_length)
                length = pool_output_length(length, pool_length)
            return length

        check_input_length(
            n_times,
            output_times,
            "n_times",
            f"DeepConvNet with {len(n_filters)} blocks, kernel_length={kernel_length}, "
            f"pool_length={pool_length}",
        )

        self.n_channels = n_channels
        self.n_times = n_times
        self.n_classes = n_classes
        self.n_outputs = n_classes

        def block_end(n_out):
            return OrderedDict(
                batch_norm=nn.BatchNorm2d(n_out),
                activation=get_activation(activation),
                pool=nn.MaxPool2d((1, pool_length)),
                dropout=nn.Dropout(dropout),
            )

        first = n_filters[0]
        blocks = OrderedDict(
            block1=nn.Sequential(
                OrderedDict(
                    temporal_conv=nn.Conv2d(1, first, (1, kernel_length), bias=bias),
                    spatial_conv=nn.Conv2d(first, first, (n_channels, 1), bias=bias),
                    **block_end(first),
                )
            )
        )
        for index, (n_in, n_out) in enumerate(zip(n_filters, n_filters[1:]), start=2):
            blocks[f"block{index}"] = nn.Sequential(
                OrderedDict(
                    conv=nn.Conv2d(n_in, n_out, (1, kernel_length), bias=bias),
                    **block_end(n_out),
                )
            )
        blocks["flatten"] = nn.Flatten()
        self.features = nn.Sequential(blocks)
        self.classifier = nn.Linear(
            n_filters[-1] * output_times(n_times), self.n_outputs
        )

        self.max_norm_limits = {}
        if max_norm:
            for name, layer in self.features.named_modules():
                if isinstance(layer, nn.Conv2d):
                    self.max_norm_limits[f"features.{name}"] = 2.0
            self.max_norm_limits["classifier"] = 0.5

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

