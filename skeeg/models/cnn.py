"""Convolutional network of Tripathi et al. (2017)."""

from collections import OrderedDict

from torch import nn

from ._checks import (
    DROPOUT,
    POSITIVE,
    POSITIVES,
    check_input_length,
    check_shape,
    names,
    validate_arguments,
)
from ._layers import ACTIVATIONS, conv_output_length, get_activation, pool_output_length


class CNN(nn.Module):
    """Convolutional network on the channels-by-features map of a trial.

    The ``(n_channels, n_times)`` input is treated as a one-channel image:
    after input dropout, padded 2-D convolutions, each followed by the
    activation and channel-wise dropout, a max pooling, dropout, one fully
    connected hidden layer and a linear layer giving the logits. This is the
    convolutional network that Tripathi et al. [1]_ trained on 99 statistical
    features per channel of the DEAP dataset.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels, the height of the image.
    n_times : int
        Length of the last input axis, the width of the image. Named so for the
        signature shared by all skeeg models; in the paper it is the number of
        features per channel (99).
    n_classes : int
        Number of classes, at least 2.
    activation : str, default="relu"
        Non-linearity after each convolution and the hidden layer: ``"elu"``,
        ``"relu"`` or ``"leaky_relu"``, case-insensitive.
    conv_filters : sequence of int, default=(20, 40)
        Number of filters of each convolution.
    kernel_size : int, default=3
        Height and width of the square kernels, zero-padded by
        ``kernel_size // 2`` on each side.
    pool_size : int, default=2
        Height, width and stride of the max pooling.
    hidden_size : int, default=128
        Number of units of the hidden layer.
    input_dropout : float, default=0.25
        Dropout rate on the input.
    conv_dropout : float, default=0.15
        Rate of the channel-wise dropout (:class:`~torch.nn.Dropout2d`) after
        each convolution.
    dropout : float, default=0.5
        Dropout rate on the flattened output of the pooling.
    hidden_dropout : float, default=0.25
        Dropout rate after the hidden layer.

    Attributes
    ----------
    n_outputs : int
        Number of output logits: 1 for two classes, to be used with a binary
        cross-entropy loss, else ``n_classes``.
    features : torch.nn.Sequential
        Everything but the last layer: ``input_dropout``, ``conv1``,
        ``conv2``, ..., ``pool``, ``flatten``, ``dropout`` and ``hidden``.
    classifier : torch.nn.Linear
        The layer giving the logits.

    Raises
    ------
    ValueError
        If an argument is invalid, or if ``n_channels`` or ``n_times`` is too
        small for the kernels and pooling; the message then gives the minimum.

    References
    ----------
    .. [1] S. Tripathi, S. Acharya, R. D. Sharma, S. Mittal and
       S. Bhattacharya, "Using deep and convolutional neural networks for
       accurate emotion classification on DEAP dataset", Proceedings of the
       Thirty-First AAAI Conference on Artificial Intelligence, 2017.

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import CNN
    >>> model = CNN(n_channels=32, n_times=99, n_classes=2)
    >>> model(torch.randn(8, 32, 99)).shape
    torch.Size([8, 1])
    >>> sum(p.numel() for p in model.parameters())
    4021777
    """

    # Each argument and what it may be: checked here and by the classifier.
    _parameter_constraints = {
        "activation": names(*ACTIVATIONS),
        "conv_filters": POSITIVES,
        "kernel_size": POSITIVE,
        "pool_size": POSITIVE,
        "hidden_size": POSITIVE,
        "input_dropout": DROPOUT,
        "conv_dropout": DROPOUT,
        "dropout": DROPOUT,
        "hidden_dropout": DROPOUT,
    }

    def __init__(
        self,
        n_channels,
        n_times,
        n_classes,
        *,
        activation="relu",
        conv_filters=(20, 40),
        kernel_size=3,
        pool_size=2,
        hidden_size=128,
        input_dropout=0.25,
        conv_dropout=0.15,
        dropout=0.5,
        hidden_dropout=0.25,
    ):
        super().__init__()
        validate_arguments(self, locals())
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        conv_filters = tuple(int(v) for v in conv_filters)
        kernel_size = int(kernel_size)
        pool_size = int(pool_size)
        hidden_size = int(hidden_size)
        input_dropout = float(input_dropout)
        conv_dropout = float(conv_dropout)
        dropout = float(dropout)
        hidden_dropout = float(hidden_dropout)

        # Both image axes go through the same convolutions and pooling.
        def output_length(length):
            for _ in conv_filters:
                length = conv_output_length(length, kernel_size, kernel_size // 2)
            return pool_output_length(length, pool_size)

        description = (
            f"CNN with {len(conv_filters)} convolutions, kernel_size={kernel_size}, "
            f"pool_size={pool_size}"
        )
        check_input_length(n_channels, output_length, "n_channels", description)
        check_input_length(n_times, output_length, "n_times", description)

        self.n_channels = n_channels
        self.n_times = n_times
        self.n_classes = n_classes
        self.n_outputs = 1 if n_classes == 2 else n_classes

        layers = OrderedDict(input_dropout=nn.Dropout(input_dropout))
        filters = (1, *conv_filters)
        for index, (n_in, n_out) in enumerate(zip(filters, filters[1:]), start=1):
            layers[f"conv{index}"] = nn.Sequential(
                OrderedDict(
                    conv=nn.Conv2d(n_in, n_out, kernel_size, padding=kernel_size // 2),
                    activation=get_activation(activation),
                    dropout=nn.Dropout2d(conv_dropout),
                )
            )
        n_flat = conv_filters[-1] * output_length(n_channels) * output_length(n_times)
        layers.update(
            pool=nn.MaxPool2d(pool_size),
            flatten=nn.Flatten(),
            dropout=nn.Dropout(dropout),
            hidden=nn.Sequential(
                OrderedDict(
                    linear=nn.Linear(n_flat, hidden_size),
                    activation=get_activation(activation),
                    dropout=nn.Dropout(hidden_dropout),
                )
            ),
        )
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(hidden_size, self.n_outputs)

    def forward(self, x):
        """Compute the logits.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_channels, n_times)
            The trials.

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_outputs)
        """
        return self.classifier(self.features(x.unsqueeze(1)))

    def apply_max_norm(self):
        """Do nothing: this model has no max-norm constraint.

        Present so that every skeeg model can be trained the same way.
        """
