"""PyTorch architectures for EEG classification.

Every model takes ``(n_channels, n_times, n_classes)`` followed by keyword
arguments, maps a float tensor of shape ``(batch, n_channels, n_times)`` to
logits of shape ``(batch, n_outputs)`` and has an ``apply_max_norm`` method,
to be called after each optimiser step.

One file per architecture, a plain ``nn.Module`` built from the helpers in
``_checks`` (argument validation), ``_layers`` (activations by name, length
arithmetic) and ``_init`` (initialisation, max-norm); its ``forward`` is the
paper's layers and nothing else. skeeg's CPU speed kernels for EEGNet,
DeepConvNet and ShallowFBCSPNet live apart, in ``skeeg/_fast/``, which
attaches them to these classes from outside (a registry by model class that
skeeg's training loop and prediction consult); a new architecture needs
none of it, and nothing here imports it.
"""

from ._checks import minimum_input_length
from ._init import INITIALIZATIONS, initialize_weights
from ._layers import ACTIVATIONS, conv_output_length, get_activation, pool_output_length
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
