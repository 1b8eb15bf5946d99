"""EEG Conformer (Song et al., 2023)."""

import math
from collections import OrderedDict

import torch
from torch import nn

from ._checks import (
    DROPOUT,
    DEPTH,
    POSITIVE,
    check_input_length,
    check_shape,
    validate_arguments,
)
from ._layers import conv_output_length
from .shallow_fbcsp import strided_pool_length

# The classification head of the authors' code and braindecode: two hidden
# layers with their dropout rates, then the logits.
HEAD_SIZES = (256, 32)
HEAD_DROPOUTS = (0.5, 0.3)
# The feed-forward layer of each encoder block is this many times wider than the tokens.
FEED_FORWARD_EXPANSION = 4


class EEGConformer(nn.Module):
    """EEG Conformer, a convolutional transformer for EEG decoding.

    Three modules [1]_: a convolutional patch embedding (a temporal and a
    spatial convolution, batch normalisation, ELU, average pooling over
    time and dropout, as in Shallow ConvNet, then a 1x1 convolution) turns
    the trial into a sequence of tokens, one per pooling window; a
    transformer encoder of ``attention_depth`` blocks relates the tokens to
    each other; a classification head of fully connected layers reads the
    whole sequence and gives the class logits.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels (electrodes).
    n_times : int
        Number of time samples per trial.
    n_classes : int
        Number of classes, at least 2.
    n_filters : int, default=40
        Number of temporal and spatial filters, which is also the size of
        each token (``k`` in the paper).
    kernel_length : int, default=25
        Length of the temporal kernels, in samples (0.1 s at 250 Hz, the rate
        the network was designed for). The convolutions are not padded.
    pool_length : int, default=75
        Width of the average pooling, in samples: the span of one token.
    pool_stride : int, default=15
        Stride of the average pooling, in samples.
    dropout : float, default=0.5
        Dropout rate at the end of the patch embedding.
    attention_depth : int, default=6
        Number of transformer encoder blocks.
    attention_heads : int, default=10
        Number of attention heads; it must divide ``n_filters``.
    attention_dropout : float, default=0.5
        Dropout rate on the attention weights, in the feed-forward layers
        and on each block's two residual branches.

    Attributes
    ----------
    n_outputs : int
        Number of output logits, equal to ``n_classes``.
    n_tokens : int
        Length of the token sequence (pooling windows per trial).
    max_norm_limits : dict
        Empty: no weight of this network is constrained.
    patch_embedding : torch.nn.Sequential
        ``temporal_conv``, ``spatial_conv``, ``batch_norm``, ``activation``,
        ``pool``, ``dropout`` and ``projection``; maps ``(batch, 1,
        n_channels, n_times)`` to ``(batch, n_filters, 1, n_tokens)``.
    encoder : torch.nn.Sequential
        The transformer blocks (:class:`TransformerBlock`), on tokens of
        shape ``(batch, n_tokens, n_filters)``.
    head : torch.nn.Sequential
        Flattens the sequence, then two fully connected layers of 256 and 32
        units, each followed by ELU and dropout (0.5, then 0.3).
    classifier : torch.nn.Linear
        The layer giving the logits.

    Raises
    ------
    ValueError
        If an argument is invalid, if ``attention_heads`` does not divide
        ``n_filters``, or if ``n_times`` is too short for the kernel and
        pooling; the message then gives the minimum ``n_times``.

    Notes
    -----
    The defaults and the layer sizes are those of braindecode 0.8.1's
    ``EEGConformer``, which follows the authors' code [2]_; the first fully
    connected layer's width is computed from ``n_times`` (braindecode's
    ``final_fc_length="auto"``; its default of 2,440 fits only 1,000-sample
    trials with these defaults). With them the two have the same number of
    parameters (789,572 for 22 channels x 1,000 samples and 4 classes).
    Most of them are in the first layer of the head, which grows with
    ``n_times``.

    As in the authors' code and braindecode, the attention scores are
    divided by the square root of the token size (``n_filters``), not of
    the size of one head as in the original transformer; the encoder
    blocks normalise before attention and before the feed-forward layers;
    there is no positional encoding (the convolutions place each token in
    time). The authors trained with Adam (learning rate 2e-4, betas 0.5 and
    0.999), batches of 72 trials, 2,000 epochs, and augmented each batch by
    segmentation and recombination of the trials of each class; the
    classifier's defaults are the other skeeg classifiers' and do not
    augment.

    References
    ----------
    .. [1] Y. Song, Q. Zheng, B. Liu and X. Gao, "EEG Conformer:
       convolutional transformer for EEG decoding and visualization", IEEE
       Transactions on Neural Systems and Rehabilitation Engineering, 31,
       710-719, 2023.
    .. [2] https://github.com/eeyhsong/EEG-Conformer

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import EEGConformer
    >>> model = EEGConformer(n_channels=22, n_times=1000, n_classes=4)
    >>> model(torch.randn(8, 22, 1000)).shape
    torch.Size([8, 4])
    >>> model.n_tokens
    61
    """

    # Each argument and what it may be: checked here and by the classifier.
    _parameter_constraints = {
        "n_filters": POSITIVE,
        "kernel_length": POSITIVE,
        "pool_length": POSITIVE,
        "pool_stride": POSITIVE,
        "dropout": DROPOUT,
        "attention_depth": DEPTH,
        "attention_heads": POSITIVE,
        "attention_dropout": DROPOUT,
    }

    def __init__(
        self,
        n_channels,
        n_times,
        n_classes,
        *,
        n_filters=40,
        kernel_length=25,
        pool_length=75,
        pool_stride=15,
        dropout=0.5,
        attention_depth=6,
        attention_heads=10,
        attention_dropout=0.5,
    ):
        super().__init__()
        validate_arguments(self, locals())
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        n_filters = int(n_filters)
        kernel_length = int(kernel_length)
        pool_length = int(pool_length)
        pool_stride = int(pool_stride)
        dropout = float(dropout)
        attention_depth = int(attention_depth)
        attention_heads = int(attention_heads)
        attention_dropout = float(attention_dropout)
        if n_filters % attention_heads:
            raise ValueError(
                f"attention_heads={attention_heads} must divide n_filters={n_filters}: "
                "each head attends over an equal share of the token."
            )

        def output_times(length):
            length = conv_output_length(length, kernel_length)
            return strided_pool_length(length, pool_length, pool_stride)

        check_input_length(
            n_times,
            output_times,
            "n_times",
            f"EEGConformer with kernel_length={kernel_length}, "
            f"pool_length={pool_length}, pool_stride={pool_stride}",
        )

        self.n_channels = n_channels
        self.n_times = n_times
        self.n_classes = n_classes
        self.n_outputs = n_classes
        self.n_tokens = output_times(n_times)
        self.max_norm_limits = {}

        self.patch_embedding = nn.Sequential(
            OrderedDict(
                temporal_conv=nn.Conv2d(1, n_filters, (1, kernel_length)),
                spatial_conv=nn.Conv2d(n_filters, n_filters, (n_channels, 1)),
                batch_norm=nn.BatchNorm2d(n_filters),
                activation=nn.ELU(),
                pool=nn.AvgPool2d((1, pool_length), stride=(1, pool_stride)),
                dropout=nn.Dropout(dropout),
                projection=nn.Conv2d(n_filters, n_filters, 1),
            )
        )
        self.encoder = nn.Sequential(
            *(
                TransformerBlock(n_filters, attention_heads, attention_dropout)
                for _ in range(attention_depth)
            )
        )
        hidden1, hidden2 = HEAD_SIZES
        dropout1, dropout2 = HEAD_DROPOUTS
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.n_tokens * n_filters, hidden1),
            nn.ELU(),
            nn.Dropout(dropout1),
            nn.Linear(hidden1, hidden2),
            nn.ELU(),
            nn.Dropout(dropout2),
        )
        self.classifier = nn.Linear(hidden2, self.n_outputs)

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
        patches = self.patch_embedding(x.unsqueeze(1))  # (batch, n_filters, 1, n_tokens)
        # squeeze, not flatten: a flatten exports as a reshape to -1, which
        # ONNX runtimes cannot resolve for an empty batch.
        tokens = patches.squeeze(2).transpose(1, 2)  # (batch, n_tokens, n_filters)
        return self.classifier(self.head(self.encoder(tokens)))

    def apply_max_norm(self):
        """Do nothing: no weight of this network has a max-norm limit.

        Neither braindecode 0.8.1 nor the authors' code constrains one; the
        method exists so that every skeeg network can be trained alike.
        """


class TransformerBlock(nn.Module):
    """One encoder block: self-attention, then a feed-forward layer.

    Each sub-layer reads the layer-normalised tokens and is added back to
    them, after dropout.

    Parameters
    ----------
    size : int
        Size of each token.
    heads : int
        Number of attention heads; it must divide ``size``.
    dropout : float
        Dropout rate on the attention weights, inside the feed-forward layer
        and on both residual branches.
    """

    def __init__(self, size, heads, dropout):
        super().__init__()
        self.attention_norm = nn.LayerNorm(size)
        self.attention = MultiHeadSelfAttention(size, heads, dropout)
        self.attention_dropout = nn.Dropout(dropout)
        self.feed_forward_norm = nn.LayerNorm(size)
        self.feed_forward = nn.Sequential(
            nn.Linear(size, FEED_FORWARD_EXPANSION * size),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(FEED_FORWARD_EXPANSION * size, size),
        )
        self.feed_forward_dropout = nn.Dropout(dropout)

    def forward(self, tokens):
        """``tokens`` of shape ``(batch, n_tokens, size)`` to the same shape."""
        tokens = tokens + self.attention_dropout(self.attention(self.attention_norm(tokens)))
        return tokens + self.feed_forward_dropout(
            self.feed_forward(self.feed_forward_norm(tokens))
        )


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence of tokens.

    Queries, keys and values are linear maps of the tokens, split into
    ``heads`` equal parts; each head weights the values by the softmax of
    the scaled query-key products; the heads are joined and projected back.

    Parameters
    ----------
    size : int
        Size of each token, and of the queries, keys and values.
    heads : int
        Number of heads; it must divide ``size``.
    dropout : float
        Dropout rate on the attention weights.

    Notes
    -----
    The scores are divided by ``sqrt(size)``, as in EEG Conformer's code,
    rather than by ``sqrt(size // heads)``.
    """

    def __init__(self, size, heads, dropout):
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(size)
        self.queries = nn.Linear(size, size)
        self.keys = nn.Linear(size, size)
        self.values = nn.Linear(size, size)
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(size, size)

    def forward(self, tokens):
        """``tokens`` of shape ``(batch, n_tokens, size)`` to the same shape."""
        queries = self._split_heads(self.queries(tokens))
        keys = self._split_heads(self.keys(tokens))
        values = self._split_heads(self.values(tokens))
        weights = torch.softmax(queries @ keys.transpose(-2, -1) * self.scale, dim=-1)
        attended = self.dropout(weights) @ values
        return self.projection(torch.cat(attended.unbind(1), dim=-1))  # heads side by side

    def _split_heads(self, projected):
        """``(batch, n_tokens, size)`` to ``(batch, heads, n_tokens, size // heads)``."""
        # Split and stacked rather than viewed: an exported reshape to (batch,
        # length, heads, -1) cannot be resolved by ONNX runtimes for an empty batch.
        return torch.stack(projected.chunk(self.heads, dim=-1), dim=1)

    def extra_repr(self):
        return f"heads={self.heads}"
