"""Fully connected network of Tripathi et al. (2017)."""

from collections import OrderedDict

from torch import nn

from ._checks import (
    DROPOUT,
    POSITIVES,
    check_shape,
    names,
    validate_arguments,
)
from ._layers import ACTIVATIONS, get_activation


class DNN(nn.Module):
    """Fully connected network on per-channel EEG features.

    The ``(n_channels, n_times)`` input is flattened and fed, after input
    dropout, through fully connected hidden layers, each followed by the
    activation and dropout, then to a linear layer giving the logits. This is
    the deep neural network that Tripathi et al. [1]_ trained on 99
    statistical features per channel of the DEAP dataset.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels.
    n_times : int
        Length of the last input axis. Named so for the signature shared by
        all skeeg models; here it is the number of features per channel (99
        in the paper).
    n_classes : int
        Number of classes, at least 2.
    activation : str, default="relu"
        Non-linearity of the hidden layers: ``"elu"``, ``"relu"`` or
        ``"leaky_relu"``, case-insensitive.
    hidden_sizes : sequence of int, default=(5000, 500, 1000)
        Number of units of each hidden layer.
    input_dropout : float, default=0.25
        Dropout rate on the flattened input.
    dropout : float, default=0.5
        Dropout rate after each hidden layer.

    Attributes
    ----------
    n_outputs : int
        Number of output logits: 1 for two classes, to be used with a binary
        cross-entropy loss, else ``n_classes``.
    features : torch.nn.Sequential
        Flattening, input dropout and the hidden layers ``hidden1``,
        ``hidden2``, ...
    classifier : torch.nn.Linear
        The layer giving the logits.

    Raises
    ------
    ValueError
        If an argument is invalid.

    References
    ----------
    .. [1] S. Tripathi, S. Acharya, R. D. Sharma, S. Mittal and
       S. Bhattacharya, "Using deep and convolutional neural networks for
       accurate emotion classification on DEAP dataset", Proceedings of the
       Thirty-First AAAI Conference on Artificial Intelligence, 2017.

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import DNN
    >>> model = DNN(n_channels=32, n_times=99, n_classes=2)
    >>> model(torch.randn(8, 32, 99)).shape
    torch.Size([8, 1])
    >>> sum(p.numel() for p in model.parameters())
    18847501
    """

    # Each argument and what it may be: checked here and by the classifier.
    _parameter_constraints = {
        "activation": names(*ACTIVATIONS),
        "hidden_sizes": POSITIVES,
        "input_dropout": DROPOUT,
        "dropout": DROPOUT,
    }

    def __init__(
        self,
        n_channels,
        n_times,
        n_classes,
        *,
        activation="relu",
        hidden_sizes=(5000, 500, 1000),
        input_dropout=0.25,
        dropout=0.5,
    ):
        super().__init__()
        validate_arguments(self, locals())
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        hidden_sizes = tuple(int(v) for v in hidden_sizes)
        input_dropout = float(input_dropout)
        dropout = float(dropout)

        self.n_channels = n_channels
        self.n_times = n_times
        self.n_classes = n_classes
        self.n_outputs = 1 if n_classes == 2 else n_classes

        layers = OrderedDict(
            flatten=nn.Flatten(), input_dropout=nn.Dropout(input_dropout)
        )
        sizes = (n_channels * n_times, *hidden_sizes)
        for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
            layers[f"hidden{index}"] = nn.Sequential(
                OrderedDict(
                    linear=nn.Linear(n_in, n_out),
                    activation=get_activation(activation),
                    dropout=nn.Dropout(dropout),
                )
            )
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(hidden_sizes[-1], self.n_outputs)

    def forward(self, x):
        """Compute the logits.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_channels, n_times)
            The per-channel features.

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_outputs)
        """
        return self.classifier(self.features(x))

    def apply_max_norm(self):
        """Do nothing: this model has no max-norm constraint.

        Present so that every skeeg model can be trained the same way.
        """
