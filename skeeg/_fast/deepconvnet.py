"""DeepConvNet's fast paths: its forward in fewer passes, and its folded prediction."""

import torch
from torch import nn

from ..models import DeepConvNet, conv_output_length
from ._applies import fusable, fusable_layers, pool_window
from ._kernels import batch_norm_affine, composed_conv, norm_act_pool
from .folded import FoldedConvNet


def _deepconvnet_blocks(model):
    return [block for name, block in model.features.named_children() if name != "flatten"]


def deepconvnet_forward(model, x):
    """DeepConvNet's logits, as its plain layers give them, in fewer passes.

    Block 1's temporal and spatial convolutions run as one
    (:func:`composed_conv`); every block ends in :func:`norm_act_pool`.
    Only where :func:`skeeg._fast._applies.fusable` holds.
    """
    blocks = _deepconvnet_blocks(model)
    weight, bias = composed_conv(blocks[0].temporal_conv, blocks[0].spatial_conv)
    return _after_first_conv(model, nn.functional.conv2d(x.unsqueeze(1), weight, bias))


def _after_first_conv(model, h):
    """The rest of DeepConvNet from its first (composed) convolution's output."""
    blocks = _deepconvnet_blocks(model)
    # Channels-last between blocks: oneDNN's convolutions run faster on it.
    h = norm_act_pool(h, blocks[0], channels_last=len(blocks) > 1)
    for index, block in enumerate(blocks[1:], start=2):
        h = norm_act_pool(block.conv(h), block, channels_last=index < len(blocks))
    return model.classifier(h.flatten(1))


def fold_deepconvnet(model):
    """DeepConvNet's evaluation-mode function as a :class:`FoldedConvNet` (a snapshot), or None.

    Each block's batch norm (and bias) goes into its convolution, block 1's
    two convolutions compose into one. None where the model has hooks or
    layers this does not reproduce (:func:`skeeg._fast._applies.fusable_layers`).
    """
    if not fusable_layers(model):
        return None
    stages, length = [], model.n_times
    with torch.no_grad():
        for block in _deepconvnet_blocks(model):
            if hasattr(block, "conv"):
                weight, bias = block.conv.weight, block.conv.bias
            else:
                weight, bias = composed_conv(block.temporal_conv, block.spatial_conv)
            scale, shift = batch_norm_affine(block.batch_norm)
            shift = shift if bias is None else shift + scale * bias
            length = conv_output_length(length, weight.shape[-1])
            weight = weight * scale[:, None, None, None]
            stages.append((weight, shift, 0, block.activation, block.pool, length))
            length = length // pool_window(block.pool)
        classifier = model.classifier
        return FoldedConvNet(stages, classifier.weight.clone(), classifier.bias.clone())

