"""ATCNet, the attention temporal convolutional network (Altaheri et al., 2023)."""

import math
from collections import OrderedDict

import torch
from torch import nn

from ._checks import (
    BOOLEAN,
    DROPOUT,
    POSITIVE,
    TCN_DEPTH,
    check_input_length,
    check_shape,
    validate_arguments,
)
from ._init import apply_max_norm_limits
from ._layers import pool_output_length

# Dropout on the attention block's output before the skip connection: a
# constant of the authors' code, kept by braindecode.
ATTENTION_SKIP_DROPOUT = 0.3
# Max-norm limit of the dense layers (the authors' code and braindecode).
CLASSIFIER_MAX_NORM = 0.25


class ATCNet(nn.Module):
    """ATCNet, attention and temporal convolutions over sliding windows.

    Three blocks [1]_. A convolutional block, EEGNet's first two blocks,
    turns the trial into a short sequence of ``F1 * D`` features: a temporal
    convolution (``F1`` filters), ``D`` depthwise spatial filters per
    temporal filter, then a temporal convolution over all maps, each with
    batch normalisation, the last two with ELU, average pooling and dropout.
    Windows slide over that sequence (``n_windows`` of them, one step
    apart); in each, a multi-head self-attention block and a temporal
    convolutional network (TCN) of dilated causal convolutions summarise the
    window by the TCN's last step, and a dense layer maps it to class
    logits. The logits of the windows are averaged.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels (electrodes).
    n_times : int
        Number of time samples per trial.
    n_classes : int
        Number of classes, at least 2.
    temporal_filters : int, default=16
        Number of temporal filters, ``F1`` in the paper.
    depth_multiplier : int, default=2
        Number of spatial filters per temporal filter, ``D`` in the paper.
    kernel_length : int, default=64
        Length of the first temporal kernels, in samples (``Kc`` in the
        paper: 0.256 s at its 250 Hz).
    separable_kernel_length : int, default=16
        Length of the kernels of the convolution over all ``F1 * D`` maps,
        in samples (0.064 s at 250 Hz). Named as in :class:`EEGNet`; here,
        as in its ``separable="full"`` variant, it is an ordinary
        convolution. Both temporal convolutions are zero-padded to keep the
        length ("same"; an even kernel gets one more zero on the right).
    pool_length : int, default=8
        Width and stride of the first average pooling, in samples (32 ms at
        250 Hz).
    separable_pool_length : int, default=7
        Width and stride of the second average pooling, in samples (``P2``
        in the paper). After both poolings one step of the sequence spans
        ``pool_length * separable_pool_length`` samples (0.224 s at 250 Hz).
    dropout : float, default=0.3
        Dropout rate of the convolutional block (``pc`` in the paper); it
        drops whole feature maps.
    n_windows : int, default=5
        Number of sliding windows (``n`` in the paper).
    attention_heads : int, default=2
        Number of attention heads (``H`` in the paper).
    attention_head_dim : int, default=8
        Size of the queries, keys and values of each head (``dh`` in the
        paper).
    attention_dropout : float, default=0.5
        Dropout rate on the attention output (``pa`` in the paper).
    tcn_depth : int, default=2
        Number of residual blocks of each TCN (``L`` in the paper); block
        ``i`` is dilated by ``2 ** i``.
    tcn_kernel_length : int, default=4
        Length of the TCN kernels (``Kt`` in the paper).
    tcn_filters : int, default=32
        Number of filters of the TCN convolutions (``Ft`` in the paper).
    tcn_dropout : float, default=0.3
        Dropout rate in the TCN (``pt`` in the paper).
    concat : bool, default=False
        False: one dense layer per window, logits averaged (the authors'
        code and braindecode). True: the windows' summaries concatenated
        into one dense layer, the paper's description according to
        braindecode's documentation.
    max_norm : bool, default=True
        Whether :meth:`apply_max_norm` limits the L2 norm of each output
        unit's weights of the dense layers to 0.25, as the authors' code and
        braindecode do.

    Attributes
    ----------
    n_outputs : int
        Number of output logits, equal to ``n_classes``.
    n_steps : int
        Length of the sequence out of the convolutional block.
    window_length : int
        Steps per sliding window, ``n_steps - n_windows + 1``.
    max_norm_limits : dict of str to float
        Maps the name of each constrained layer to its limit:
        ``{"classifier.0": 0.25, ...}`` with ``max_norm=True``, empty
        otherwise.
    conv_block : torch.nn.Sequential
        The blocks ``temporal``, ``spatial`` and ``separable``; maps
        ``(batch, 1, n_channels, n_times)`` to ``(batch, F1 * D, 1,
        n_steps)``.
    windows : torch.nn.ModuleList
        One :class:`SlidingWindow` (attention, then TCN) per window.
    classifier : torch.nn.ModuleList
        The dense layers giving the logits: one per window, or one with
        ``concat=True``.

    Raises
    ------
    ValueError
        If an argument is invalid, or if ``n_times`` is too short for the
        pooling and the windows; the message then gives the minimum
        ``n_times``.

    Notes
    -----
    The defaults are those of braindecode 0.8.1's ``ATCNet``, which its
    documentation gives as the paper's (Table 1); with them the two have the same number of parameters
    (113,732 for 22 channels x 1,000 samples and 4 classes). braindecode
    0.8.1 takes ``sfreq`` and ``input_window_seconds`` but uses them only
    to derive ``n_times``: its kernel and pooling lengths are sample counts,
    whatever the sampling rate. This module therefore takes sample counts
    only (no ``sfreq``); the durations quoted above hold at 250 Hz, and at
    another rate the same counts span other durations, as in braindecode.
    Scale them (``round(64 * sfreq / 250)``...) to keep the durations.

    As in braindecode 0.8.1, the convolutional block's dropout drops whole
    feature maps (the authors' code drops single values). As in both, the
    attention block's output goes through a dropout of 0.3 before its skip
    connection and the TCN convolutions start from He-uniform weights.
    In three places where braindecode 0.8.1 departs from the authors' code,
    this module follows the code: the max-norm limit applies to each output unit's
    weights (braindecode's to each input's), after each optimiser step
    (braindecode renormalises before every forward pass, prediction
    included), and a TCN whose ``tcn_filters`` differs from ``F1 * D`` gets
    a 1x1 convolution on its first skip connection (braindecode 0.8.1 cannot
    build that case). The authors' code also limits the depthwise spatial
    filters to a norm of 1; neither braindecode 0.8.1 nor this module does.

    References
    ----------
    .. [1] H. Altaheri, G. Muhammad and M. Alsulaiman, "Physics-informed
       attention temporal convolutional network for EEG-based motor imagery
       classification", IEEE Transactions on Industrial Informatics, 19(2),
       2249-2258, 2023.
    .. [2] https://github.com/Altaheri/EEG-ATCNet

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import ATCNet
    >>> model = ATCNet(n_channels=22, n_times=1000, n_classes=4)
    >>> model(torch.randn(8, 22, 1000)).shape
    torch.Size([8, 4])
    >>> model.n_steps, model.window_length
    (17, 13)
    """

    # Each argument and what it may be: checked here and by the classifier.
    _parameter_constraints = {
        "temporal_filters": POSITIVE,
        "depth_multiplier": POSITIVE,
        "kernel_length": POSITIVE,
        "separable_kernel_length": POSITIVE,
        "pool_length": POSITIVE,
        "separable_pool_length": POSITIVE,
        "dropout": DROPOUT,
        "n_windows": POSITIVE,
        "attention_heads": POSITIVE,
        "attention_head_dim": POSITIVE,
        "attention_dropout": DROPOUT,
        "tcn_depth": TCN_DEPTH,
        "tcn_kernel_length": POSITIVE,
        "tcn_filters": POSITIVE,
        "tcn_dropout": DROPOUT,
        "concat": BOOLEAN,
        "max_norm": BOOLEAN,
    }

    def __init__(
        self,
        n_channels,
        n_times,
        n_classes,
        *,
        temporal_filters=16,
        depth_multiplier=2,
        kernel_length=64,
        separable_kernel_length=16,
        pool_length=8,
        separable_pool_length=7,
        dropout=0.3,
        n_windows=5,
        attention_heads=2,
        attention_head_dim=8,
        attention_dropout=0.5,
        tcn_depth=2,
        tcn_kernel_length=4,
        tcn_filters=32,
        tcn_dropout=0.3,
        concat=False,
        max_norm=True,
    ):
        super().__init__()
        validate_arguments(self, locals())
        n_channels, n_times, n_classes = check_shape(n_channels, n_times, n_classes)
        f1 = int(temporal_filters)
        d = int(depth_multiplier)
        kernel_length = int(kernel_length)
        separable_kernel_length = int(separable_kernel_length)
        pool_length = int(pool_length)
        separable_pool_length = int(separable_pool_length)
        dropout = float(dropout)
        n_windows = int(n_windows)
        attention_heads = int(attention_heads)
        attention_head_dim = int(attention_head_dim)
        attention_dropout = float(attention_dropout)
        tcn_depth = int(tcn_depth)
        tcn_kernel_length = int(tcn_kernel_length)
        tcn_filters = int(tcn_filters)
        tcn_dropout = float(tcn_dropout)
        concat = bool(concat)
        max_norm = bool(max_norm)

        def output_steps(length):
            # "same" convolutions keep the length; the poolings divide it.
            length = pool_output_length(length, pool_length)
            return pool_output_length(length, separable_pool_length)

        check_input_length(
            n_times,
            lambda length: output_steps(length) - n_windows + 1,
            "n_times",
            f"ATCNet with pool_length={pool_length}, "
            f"separable_pool_length={separable_pool_length}, n_windows={n_windows}",
        )

        self.n_channels = n_channels
        self.n_times = n_times
        self.n_classes = n_classes
        self.n_outputs = n_classes
        self.n_steps = output_steps(n_times)
        self.window_length = self.n_steps - n_windows + 1
        f2 = f1 * d

        self.conv_block = nn.Sequential(
            OrderedDict(
                temporal=nn.Sequential(
                    OrderedDict(
                        pad=nn.ZeroPad2d(same_padding(kernel_length)),
                        conv=nn.Conv2d(1, f1, (1, kernel_length), bias=False),
                        batch_norm=nn.BatchNorm2d(f1, eps=1e-4),
                    )
                ),
                spatial=nn.Sequential(
                    OrderedDict(
                        conv=nn.Conv2d(f1, f2, (n_channels, 1), groups=f1, bias=False),
                        batch_norm=nn.BatchNorm2d(f2, eps=1e-4),
                        activation=nn.ELU(),
                        pool=nn.AvgPool2d((1, pool_length)),
                        dropout=nn.Dropout2d(dropout),
                    )
                ),
                separable=nn.Sequential(
                    OrderedDict(
                        pad=nn.ZeroPad2d(same_padding(separable_kernel_length)),
                        conv=nn.Conv2d(f2, f2, (1, separable_kernel_length), bias=False),
                        batch_norm=nn.BatchNorm2d(f2, eps=1e-4),
                        activation=nn.ELU(),
                        pool=nn.AvgPool2d((1, separable_pool_length)),
                        dropout=nn.Dropout2d(dropout),
                    )
                ),
            )
        )
        self.windows = nn.ModuleList(
            SlidingWindow(
                f2,
                attention_heads,
                attention_head_dim,
                attention_dropout,
                tcn_depth,
                tcn_kernel_length,
                tcn_filters,
                tcn_dropout,
            )
            for _ in range(n_windows)
        )
        self.concat = concat
        if concat:
            self.classifier = nn.ModuleList([nn.Linear(n_windows * tcn_filters, self.n_outputs)])
        else:
            self.classifier = nn.ModuleList(
                nn.Linear(tcn_filters, self.n_outputs) for _ in range(n_windows)
            )
        self.max_norm_limits = (
            {f"classifier.{index}": CLASSIFIER_MAX_NORM for index in range(len(self.classifier))}
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
        # squeeze, not flatten: a flatten exports as a reshape to -1, which
        # ONNX runtimes cannot resolve for an empty batch.
        sequence = self.conv_block(x.unsqueeze(1)).squeeze(2)  # (batch, F1 * D, n_steps)
        length = self.window_length
        # Plain loops rather than comprehensions, so that TorchScript compiles them.
        summaries = []
        for start, window in enumerate(self.windows):
            summaries.append(window(sequence[:, :, start : start + length]))
        if self.concat:
            return self.classifier[0](torch.cat(summaries, dim=1))
        logits = []
        for index, dense in enumerate(self.classifier):
            logits.append(dense(summaries[index]))
        return torch.stack(logits).mean(dim=0)

    def apply_max_norm(self):
        """Rescale in place the weights listed in ``max_norm_limits``.

        Call it after each optimiser step; it does nothing when the model was
        built with ``max_norm=False``.
        """
        apply_max_norm_limits(self, self.max_norm_limits)


class SlidingWindow(nn.Module):
    """One window's branch: self-attention, then a TCN, summarised by its last step.

    Parameters
    ----------
    size : int
        Features per step of the input sequence.
    heads, head_dim, attention_dropout
        As ``attention_heads``, ``attention_head_dim`` and
        ``attention_dropout`` of :class:`ATCNet`.
    depth, kernel_length, filters, tcn_dropout
        As ``tcn_depth``, ``tcn_kernel_length``, ``tcn_filters`` and
        ``tcn_dropout`` of :class:`ATCNet`.
    """

    def __init__(
        self, size, heads, head_dim, attention_dropout, depth, kernel_length, filters, tcn_dropout
    ):
        super().__init__()
        self.attention = AttentionBlock(size, heads, head_dim, attention_dropout)
        self.tcn = nn.Sequential(
            *(
                TCNBlock(size if level == 0 else filters, filters, kernel_length, 2**level,
                         tcn_dropout)
                for level in range(depth)
            )
        )

    def forward(self, window):
        """``window`` of shape ``(batch, size, length)`` to ``(batch, filters)``."""
        return self.tcn(self.attention(window))[..., -1]


class AttentionBlock(nn.Module):
    """Layer norm, multi-head self-attention, dropout, and a skip connection.

    Parameters
    ----------
    size : int
        Features per step; the output has as many.
    heads : int
        Number of attention heads.
    head_dim : int
        Size of the queries, keys and values of each head.
    dropout : float
        Dropout rate on the attention output.
    """

    def __init__(self, size, heads, head_dim, dropout):
        super().__init__()
        self.norm = nn.LayerNorm(size, eps=1e-6)
        self.attention = MultiHeadSelfAttention(size, heads, head_dim, dropout)
        self.dropout = nn.Dropout(ATTENTION_SKIP_DROPOUT)

    def forward(self, sequence):
        """``sequence`` of shape ``(batch, size, length)`` to the same shape."""
        steps = sequence.transpose(1, 2)  # (batch, length, size)
        steps = steps + self.dropout(self.attention(self.norm(steps)))
        return steps.transpose(1, 2)


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention whose heads may be narrower than the input.

    Each head projects the steps to queries, keys and values of
    ``head_dim`` features and weights the values by the softmax of the
    query-key products divided by ``sqrt(head_dim)``; the heads are joined
    and projected back to ``size`` features, then dropped out.

    Parameters
    ----------
    size : int
        Features per step, in and out.
    heads : int
        Number of heads.
    head_dim : int
        Size of each head's queries, keys and values.
    dropout : float
        Dropout rate on the output.
    """

    def __init__(self, size, heads, head_dim, dropout):
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(head_dim)
        self.queries = nn.Linear(size, heads * head_dim)
        self.keys = nn.Linear(size, heads * head_dim)
        self.values = nn.Linear(size, heads * head_dim)
        self.projection = nn.Linear(heads * head_dim, size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, steps):
        """``steps`` of shape ``(batch, length, size)`` to the same shape."""
        queries = self._split_heads(self.queries(steps))
        keys = self._split_heads(self.keys(steps))
        values = self._split_heads(self.values(steps))
        weights = torch.softmax(queries @ keys.transpose(-2, -1) * self.scale, dim=-1)
        attended = torch.cat((weights @ values).unbind(1), dim=-1)  # heads side by side
        return self.dropout(self.projection(attended))

    def _split_heads(self, projected):
        """``(batch, length, heads * head_dim)`` to ``(batch, heads, length, head_dim)``."""
        # Split and stacked rather than viewed: an exported reshape to (batch,
        # length, heads, -1) cannot be resolved by ONNX runtimes for an empty batch.
        return torch.stack(projected.chunk(self.heads, dim=-1), dim=1)

    def extra_repr(self):
        return f"heads={self.heads}"


class TCNBlock(nn.Module):
    """Residual block of a temporal convolutional network.

    Two dilated causal convolutions, each followed by batch normalisation,
    ELU and dropout; the input is added back (through a 1x1 convolution
    when the widths differ) and the sum goes through ELU.

    Parameters
    ----------
    in_channels : int
        Features per step of the input.
    filters : int
        Number of filters of both convolutions.
    kernel_length : int
        Length of the kernels.
    dilation : int
        Dilation of both convolutions.
    dropout : float
        Dropout rate after each convolution.
    """

    def __init__(self, in_channels, filters, kernel_length, dilation, dropout):
        super().__init__()
        self.conv1 = CausalConv1d(in_channels, filters, kernel_length, dilation)
        self.batch_norm1 = nn.BatchNorm1d(filters)
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = CausalConv1d(filters, filters, kernel_length, dilation)
        self.batch_norm2 = nn.BatchNorm1d(filters)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = nn.ELU()
        self.skip = (
            nn.Identity() if in_channels == filters else nn.Conv1d(in_channels, filters, 1)
        )
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_uniform_(conv.weight)  # He-uniform, as the authors' code

    def forward(self, sequence):
        """``sequence`` of shape ``(batch, in_channels, length)`` to ``(batch, filters, length)``."""
        h = self.dropout1(self.activation(self.batch_norm1(self.conv1(sequence))))
        h = self.dropout2(self.activation(self.batch_norm2(self.conv2(h))))
        return self.activation(h + self.skip(sequence))


class CausalConv1d(nn.Conv1d):
    """1-D convolution whose output at step ``t`` sees only steps ``<= t``.

    The input is zero-padded on the left by ``(kernel_size - 1) * dilation``
    samples, so the output has the input's length.
    """

    def __init__(self, in_channels, out_channels, kernel_size, dilation=1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_padding = (kernel_size - 1) * dilation

    def forward(self, sequence):
        padded = nn.functional.pad(sequence, (self.left_padding, 0))
        return self._conv_forward(padded, self.weight, self.bias)  # Conv1d.forward, scriptable


def same_padding(kernel_length):
    """``(left, right, 0, 0)`` zeros that keep the length through a stride-1 convolution.

    An even kernel gets the extra zero on the right, as Keras and PyTorch's
    ``padding="same"`` do.
    """
    return ((kernel_length - 1) // 2, kernel_length // 2, 0, 0)
