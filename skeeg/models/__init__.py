"""PyTorch architectures for EEG classification.

Every model takes ``(n_channels, n_times, n_classes)`` followed by keyword
arguments, maps a float tensor of shape ``(batch, n_channels, n_times)`` to
logits of shape ``(batch, n_outputs)`` and has an ``apply_max_norm`` method,
to be called after each optimiser step.
"""

from ._layers import (
    ACTIVATIONS,
    INITIALIZATIONS,
    conv_output_length,
    get_activation,
    initialize_weights,
    minimum_input_length,
    pool_output_length,
)
from .atcnet import ATCNet
from .cnn import CNN
from .deepconvnet import DeepConvNet
from .dnn import DNN
from .eegconformer import EEGConformer
from .eegnet import EEGNet
from .shallow_fbcsp import ShallowFBCSPNet

__all__ = [
    "ACTIVATIONS",
    "ATCNet",
    "CNN",
    "DNN",
    "DeepConvNet",
    "EEGConformer",
    "EEGNet",
    "INITIALIZATIONS",
    "ShallowFBCSPNet",
    "conv_output_length",
    "get_activation",
    "initialize_weights",
    "minimum_input_length",
    "pool_output_length",
]
