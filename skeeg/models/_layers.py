"""Helpers shared by the skeeg architectures.

Activations and weight initialisation by name, the length arithmetic of
stride-1 convolutions and non-overlapping pooling, the max-norm constraint,
the validation of constructor arguments, and the fused code that EEGNet and
DeepConvNet run on the CPU (training and prediction).
"""

import math
import numbers
from functools import partial

import torch
from torch import nn
from torch.autograd.function import once_differentiable

ACTIVATIONS = ("elu", "relu", "leaky_relu")
INITIALIZATIONS = (
    "default",
    "xavier_normal",
    "xavier_uniform",
    "kaiming_normal",
    "kaiming_uniform",
)

# Keyed by the name without case or underscores, so "LeakyReLU" matches too.
_ACTIVATION_CLASSES = {"elu": nn.ELU, "relu": nn.ReLU, "leakyrelu": nn.LeakyReLU}

_INITIALIZERS = {
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "kaiming_normal": partial(nn.init.kaiming_normal_, nonlinearity="relu"),
    "kaiming_uniform": partial(nn.init.kaiming_uniform_, nonlinearity="relu"),
}

_WEIGHTED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def get_activation(name):
    """Build a new activation module from its name.

    Parameters
    ----------
    name : str
        ``"elu"``, ``"relu"`` or ``"leaky_relu"``. Case and underscores are
        ignored, so ``"ELU"``, ``"LEAKY_RELU"``, ``"LeakyReLU"`` and
        ``"leakyrelu"`` are accepted as well.

    Returns
    -------
    activation : torch.nn.Module
        A fresh :class:`~torch.nn.ELU`, :class:`~torch.nn.ReLU` or
        :class:`~torch.nn.LeakyReLU` (PyTorch's default negative slope of
        0.01).

    Raises
    ------
    ValueError
        If ``name`` is not one of the valid names.

    Examples
    --------
    >>> from skeeg.models import get_activation
    >>> get_activation("Leaky_ReLU")
    LeakyReLU(negative_slope=0.01)
    """
    key = name.replace("_", "").lower() if isinstance(name, str) else None
    if key not in _ACTIVATION_CLASSES:
        raise ValueError(
            f"activation must be one of {_quoted(ACTIVATIONS)} (case-insensitive), "
            f"got {name!r}."
        )
    return _ACTIVATION_CLASSES[key]()


def initialize_weights(module, init):
    """Initialise the weights of every convolution and linear layer in place.

    Biases of those layers are set to zero; batch-normalisation layers keep
    their own initialisation. Random values are drawn from PyTorch's global
    generator, so seed it with :func:`torch.manual_seed` for reproducibility.

    Parameters
    ----------
    module : torch.nn.Module
        The model, or any module, whose sub-modules are initialised.
    init : str
        ``"default"`` leaves PyTorch's initialisation untouched.
        ``"xavier_normal"`` and ``"xavier_uniform"`` use Glorot
        initialisation; ``"kaiming_normal"`` and ``"kaiming_uniform"`` use He
        initialisation with the gain for ReLU.

    Returns
    -------
    module : torch.nn.Module
        The same module, for chaining.

    Raises
    ------
    ValueError
        If ``init`` is not one of the valid names.

    Examples
    --------
    >>> import torch
    >>> from skeeg.models import EEGNet, initialize_weights
    >>> _ = torch.manual_seed(0)
    >>> model = initialize_weights(EEGNet(2, 750, 2), "xavier_uniform")
    >>> bool((model.classifier.bias == 0).all())
    True
    """
    if init not in INITIALIZATIONS:
        raise ValueError(
            f"init must be one of {_quoted(INITIALIZATIONS)}, got {init!r}."
        )
    if init == "default":
        return module
    initializer = _INITIALIZERS[init]
    for layer in module.modules():
        if isinstance(layer, _WEIGHTED_LAYERS):
            initializer(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def conv_output_length(length, kernel_size, padding=0):
    """Length of the output of a stride-1 convolution along one axis.

    Parameters
    ----------
    length : int
        Input length; a length below 1 means an earlier layer could not run.
    kernel_size : int
        Kernel size along the axis.
    padding : int, default=0
        Zero padding added on each side.

    Returns
    -------
    length : int
        ``length + 2 * padding - kernel_size + 1``, or 0 if the layer cannot
        run. With ``padding = kernel_size // 2`` an odd kernel keeps the
        length and an even one adds 1.
    """
    if length < 1:
        return 0
    return max(length + 2 * padding - kernel_size + 1, 0)


def pool_output_length(length, pool_size):
    """Length of the output of pooling with stride equal to the window.

    Parameters
    ----------
    length : int
        Input length; a length below 1 means an earlier layer could not run.
    pool_size : int
        Window and stride of the pooling.

    Returns
    -------
    length : int
        ``length // pool_size``: a trailing incomplete window is dropped, and
        an input shorter than the window gives 0.
    """
    return max(length, 0) // pool_size


def minimum_input_length(output_length):
    """Smallest input length for which a stack of layers gives any output.

    Parameters
    ----------
    output_length : callable
        Maps an input length to the output length of the stack, built from
        :func:`conv_output_length` and :func:`pool_output_length`.

    Returns
    -------
    length : int
        The smallest positive input length whose output length is at least 1.

    Examples
    --------
    >>> from skeeg.models import minimum_input_length, pool_output_length
    >>> minimum_input_length(lambda n: pool_output_length(n, 8))
    8
    """
    # Output lengths never decrease as the input grows: double, then bisect,
    # so even long pooling windows cost only a few evaluations.
    high = 1
    while output_length(high) < 1:
        high *= 2
    low = high // 2  # too short, or 0 when high == 1
    while high - low > 1:
        middle = (low + high) // 2
        if output_length(middle) < 1:
            low = middle
        else:
            high = middle
    return high


def check_input_length(length, output_length, name, description):
    """Raise a ``ValueError`` naming the minimum when ``length`` is too short.

    Parameters
    ----------
    length : int
        The input length to check, e.g. ``n_times``.
    output_length : callable
        As in :func:`minimum_input_length`.
    name : str
        Name of the argument, used in the message.
    description : str
        The model and its settings, used in the message.
    """
    if output_length(length) < 1:
        minimum = minimum_input_length(output_length)
        raise ValueError(
            f"{name}={length} is too short for {description}; "
            f"it needs at least {name}={minimum}."
        )


def apply_max_norm_limits(module, limits):
    """Renormalise constrained weights in place, as Keras' ``max_norm`` does.

    Each output unit's (or filter's) incoming weights whose L2 norm exceeds
    the limit are rescaled onto it; the others are left as they are. Biases
    are never constrained.

    Parameters
    ----------
    module : torch.nn.Module
        The model holding the layers.
    limits : dict of str to float
        Maps the dotted name of a sub-module with a ``weight`` to its limit.
    """
    with torch.no_grad():
        for name, limit in limits.items():
            module.get_submodule(name).weight.renorm_(p=2, dim=0, maxnorm=limit)


def check_positive_int(value, name):
    """Return ``value`` as an int, or raise if it is not a positive integer."""
    if not _is_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_positive_ints(values, name):
    """Return ``values`` as a tuple of ints, or raise if it is not a
    non-empty sequence of positive integers."""
    is_sequence = hasattr(values, "__iter__") and not isinstance(values, (str, bytes))
    items = tuple(values) if is_sequence else ()
    if not items or not all(_is_int(item) for item in items):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers, got {values!r}."
        )
    return tuple(int(item) for item in items)


def check_dropout(value, name):
    """Return ``value`` as a float, or raise if it is not in [0, 1)."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (is_number and 0 <= value < 1):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}.")
    return float(value)


def check_bool(value, name):
    """Return ``value``, or raise if it is not True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return value


def check_shape(n_channels, n_times, n_classes):
    """Validate the three leading arguments shared by every model."""
    n_channels = check_positive_int(n_channels, "n_channels")
    n_times = check_positive_int(n_times, "n_times")
    if not _is_int(n_classes, minimum=2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    return n_channels, n_times, int(n_classes)


def _is_int(value, minimum=1):
    is_integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return is_integer and value >= minimum


def _quoted(names):
    return ", ".join(f'"{name}"' for name in names)


# ---------------------------------------------------------------------------
# Fused blocks for the CPU.
#
# After each convolution PyTorch runs the activation, pooling and dropout as
# separate kernels and autograd keeps every intermediate; on EEG-sized
# tensors these memory-bound passes (and avg_pool2d, max_pool2d with
# indices and bernoulli_, which are slow on the CPU) cost as much as the
# convolutions. The helpers below compute the same function in fewer
# passes. Tensors between blocks are kept channels-last, the layout in which
# oneDNN's convolutions and ATen's batch norm run fastest. The models use
# these helpers only where ``fusable`` holds and fall back to their plain
# layers otherwise.

_GLOBAL_HOOKS = (
    "_global_forward_hooks",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)


def pool_window(pool):
    """Window of a ``(1, k)`` pooling with stride ``k``, or None for any other pooling."""
    if type(pool) not in (nn.AvgPool2d, nn.MaxPool2d):
        return None
    pair = nn.modules.utils._pair
    kernel, stride = pair(pool.kernel_size), pair(pool.stride)
    plain = kernel[0] == 1 and stride == kernel and not pool.ceil_mode
    plain = plain and pair(pool.padding) == (0, 0)
    if isinstance(pool, nn.MaxPool2d):
        plain = plain and pair(pool.dilation) == (1, 1) and not pool.return_indices
    else:
        plain = plain and pool.divisor_override is None
    return kernel[1] if plain else None


def _has_hooks(module):
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
    )


def _reproducible(module):
    """Whether the fused code computes what ``module`` would (and no hook is skipped)."""
    if _has_hooks(module):
        return False
    kind = type(module)
    if kind is nn.BatchNorm2d:
        return module.affine and module.track_running_stats
    if kind in (nn.AvgPool2d, nn.MaxPool2d):
        return pool_window(module) is not None
    if kind is nn.ELU:
        return module.alpha >= 0  # monotonic, and its gradient follows from its output
    if kind is nn.LeakyReLU:
        return module.negative_slope >= 0
    if kind is nn.Sequential:
        return all(_reproducible(child) for child in module.children())
    return kind in (nn.Conv2d, nn.ReLU, nn.Dropout, nn.Flatten, nn.Linear)


def fusable(model, x):
    """Whether ``model`` may run its fused CPU code on ``x``.

    The fused code needs a float CPU tensor in eager mode (no tracing,
    scripting, autocast or global hooks; see :func:`eager_cpu`) and layers
    it reproduces (see :func:`fusable_layers`).
    """
    return eager_cpu(x.device, x.dtype) and fusable_layers(model)


def eager_cpu(device, dtype):
    """Whether float CPU tensors run in plain eager mode, with no global module hooks."""
    return (
        device.type == "cpu"
        and dtype in (torch.float32, torch.float64)
        and not torch.jit.is_scripting()
        and not torch.jit.is_tracing()
        and not torch.is_autocast_enabled("cpu")
        and not any(getattr(nn.modules.module, name, None) for name in _GLOBAL_HOOKS)
    )


def fusable_layers(model):
    """Whether ``model`` has no hooks and only the layer types its fused code reproduces."""
    return not _has_hooks(model) and all(_reproducible(module) for module in model.children())


def batch_norm_affine(batch_norm):
    """``(scale, shift)`` of a batch norm in evaluation mode: ``y = x * scale + shift``."""
    scale = batch_norm.weight * torch.rsqrt(batch_norm.running_var + batch_norm.eps)
    return scale, batch_norm.bias - batch_norm.running_mean * scale


def update_running_stats(batch_norm, mean, var, count):
    """Update a batch norm's running statistics as its own forward would.

    ``var`` is the biased batch variance over ``count`` values per channel.
    """
    with torch.no_grad():
        batch_norm.num_batches_tracked.add_(1)
        if batch_norm.momentum is None:  # cumulative average
            momentum = 1.0 / float(batch_norm.num_batches_tracked)
        else:
            momentum = batch_norm.momentum
        batch_norm.running_mean.lerp_(mean.to(batch_norm.running_mean.dtype), momentum)
        unbiased = var * (count / (count - 1))
        batch_norm.running_var.lerp_(unbiased.to(batch_norm.running_var.dtype), momentum)


def check_batch_size(shape):
    """Raise, as ``torch.nn.functional.batch_norm`` does, when a channel has one value."""
    if math.prod(shape) // shape[1] <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {shape}"
        )


class _OneChannelConv(torch.autograd.Function):
    """Stride-1 convolution of one input channel by ``(1, k)`` kernels, faster weight gradient.

    oneDNN's weight-gradient kernel is slow with a single input channel. The
    same sums run as an ordinary convolution of the input, with batch and
    electrodes as its channels, by the output gradient as the kernel.
    """

    @staticmethod
    def forward(ctx, x, weight, padding):
        ctx.padding = padding
        ctx.save_for_backward(x, weight)
        return nn.functional.conv2d(x, weight, padding=padding)

    @staticmethod
    @once_differentiable  # saved intermediates: no higher-order gradients
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad, x, weight, None, (1, 1), ctx.padding, (1, 1), False, (0, 0), 1,
                (True, False, False),
            )[0]
        if ctx.needs_input_grad[1]:
            batch, _, height, length = x.shape
            kernels = grad.transpose(0, 1).reshape(grad.shape[1], batch * height, 1, -1)
            grad_weight = nn.functional.conv2d(
                x.reshape(1, batch * height, 1, length), kernels, padding=ctx.padding
            ).transpose(0, 1)
        return grad_x, grad_weight, None


def temporal_conv(x, conv):
    """``conv(x)``; through ``_OneChannelConv`` for a bias-free ``(1, k)`` one-channel conv."""
    plain = conv.in_channels == 1 and conv.kernel_size[0] == 1 and conv.bias is None
    plain = plain and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
    plain = plain and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
    if not plain:
        return conv(x)
    return _OneChannelConv.apply(x, conv.weight, conv.padding)


def _activate(activation, y, inplace=False):
    """``activation`` applied to ``y``; in place when ``y`` is a temporary."""
    if isinstance(activation, nn.ELU):
        return nn.functional.elu(y, activation.alpha, inplace=inplace)
    if isinstance(activation, nn.LeakyReLU):
        return nn.functional.leaky_relu(y, activation.negative_slope, inplace=inplace)
    return nn.functional.relu(y, inplace=inplace)


def _activation_backward(activation, grad, result):
    """Gradient through ``activation`` from its output (no exp to recompute)."""
    if isinstance(activation, nn.ELU):
        return torch.ops.aten.elu_backward(grad, activation.alpha, 1, 1, True, result)
    if isinstance(activation, nn.LeakyReLU):
        return torch.ops.aten.leaky_relu_backward(grad, result, activation.negative_slope, True)
    return torch.ops.aten.threshold_backward(grad, result, 0)


def is_channels_last(x):
    """Whether a ``(batch, channels, time)`` tensor is stored time-major."""
    return not x.is_contiguous() and x.transpose(1, 2).is_contiguous()


def _to_layout(x, channels_last):
    """``x`` stored channels-last or contiguous, copied only if it is not already."""
    if channels_last:
        return x if is_channels_last(x) else x.transpose(1, 2).contiguous().transpose(1, 2)
    return x.contiguous()


def _empty(shape, channels_last, like):
    """An empty ``(batch, channels, time)`` tensor, stored time-major if ``channels_last``."""
    if not channels_last:
        return like.new_empty(shape)
    return like.new_empty((shape[0], shape[2], shape[1])).transpose(1, 2)


def dropout_mask(shape, p, value, like, channels_last=False):
    """Dropout mask of ``shape``: 0 with probability ``p``, else ``value / (1 - p)``.

    Draws from torch's global generator, like ``nn.Dropout``. When ``256 p``
    is a whole number (the usual 0.25 and 0.5), one random byte per element
    decides exactly, and a 64-bit draw gives 8 bytes: 8 times fewer draws
    than ``bernoulli_``, which takes a double per element. ``like`` gives
    the dtype and device.
    """
    if (p * 256).is_integer():
        count = math.prod(shape)
        words = torch.empty((count + 7) // 8, dtype=torch.int64).random_(-(2**63), 2**63 - 1)
        # Keep a byte >= 256 p: clamping to {256 p - 1, 256 p} and subtracting 256 p - 1
        # gives 0 or 1 in place, much faster than a comparison.
        low = int(p * 256) - 1
        keep = words.view(torch.uint8)[:count].view(shape).clamp_(low, low + 1).sub_(low)
    else:
        keep = (torch.rand(shape) >= p).view(torch.uint8)  # uint8 multiplies faster than bool
    return torch.mul(keep, value / (1 - p), out=_empty(shape, channels_last, like))


def block_dropout_mask(block, batch, channels, length, like, channels_last):
    """The dropout mask of ``block``'s pooled output, or None.

    ``length`` is the time before pooling; average pooling's ``1 / window``
    is folded into the mask.
    """
    dropout, window = block.dropout, pool_window(block.pool)
    if not (dropout.training and dropout.p > 0):
        return None
    shape = (batch, channels, length // window)
    average = isinstance(block.pool, nn.AvgPool2d)
    return dropout_mask(shape, dropout.p, 1 / window if average else 1.0, like, channels_last)


def _pool_windows(x, window):
    """``x[..., :pooled * window]`` viewed as ``(..., pooled, window)`` along time."""
    pooled = x.shape[-1] // window
    return x[..., : pooled * window].unflatten(-1, (pooled, window))


def _max_pool(x, window, positions=True):
    """Max over time windows, and the position of each maximum (first on ties) or None.

    Strided maxima: ``max_pool2d`` with indices is several times slower on the CPU.
    """
    windows = _pool_windows(x, window)
    best, where = windows[..., 0], None
    for position in range(1, window):
        candidate = windows[..., position]
        if positions:
            later = candidate > best
            where = later.to(torch.uint8) if where is None else where.masked_fill_(later, position)
        best = torch.maximum(best, candidate)
    return best, where


def _avg_pool_sum(x, window):
    """Sum over time windows (the caller divides): strided adds beat avg_pool2d."""
    windows = _pool_windows(x, window)
    if window == 1:
        return windows[..., 0]
    total = windows[..., 0] + windows[..., 1]
    for position in range(2, window):
        total += windows[..., position]
    return total


def _scale_into(x, factor, channels_last):
    """``x * factor``, stored channels-last (``(batch, time, channels)``) if asked."""
    return torch.mul(x, factor, out=_empty(x.shape, channels_last, x))


def act_pool_forward(y, activation, pool, mask, channels_last):
    """Activation, pooling and dropout of ``y``, ``(batch, channels, time)`` in any layout.

    Not differentiable itself: see :class:`ActPool`.

    Max pooling runs first: it commutes with the monotonic activations,
    which then touch the pooled values only. ``mask`` has ``y``'s layout;
    ``channels_last`` sets the output's. Returns the output and, for
    :func:`act_pool_backward`, the activation's result and the positions
    of the maxima (None for average pooling or a window of 1).
    """
    window = pool_window(pool)
    if isinstance(pool, nn.MaxPool2d):
        pooled, where = _max_pool(y, window)
        result = _activate(activation, pooled)
        return _scale_into(result, 1.0 if mask is None else mask, channels_last), result, where
    result = _activate(activation, y)
    pooled = _avg_pool_sum(result, window)
    return _scale_into(pooled, 1 / window if mask is None else mask, channels_last), result, None


def act_pool_backward(grad, activation, window, result, where, mask, shape, channels_last):
    """Gradient w.r.t. ``y`` for :func:`act_pool_forward`.

    ``y`` had ``shape`` and was channels-last or not, as was ``mask``; the
    work is done in that layout, whatever the layout of ``grad``.
    """
    grad = _to_layout(grad, channels_last)
    if mask is not None:
        grad = grad * mask
    elif where is None:
        grad = grad / window
    covered = grad.shape[-1] * window
    if where is None:  # each input of a window gets the window's gradient
        grad_result = torch.empty_like(result)
        _pool_windows(grad_result, window).copy_(grad.unsqueeze(-1))
        grad_result[..., covered:] = 0
        return _activation_backward(activation, grad_result, result)
    grad_pooled = _activation_backward(activation, grad, result)  # the maxima get it
    grad_y = _empty(shape, channels_last, grad)
    windows = _pool_windows(grad_y, window)
    for position in range(1, window):  # a uint8 factor multiplies much faster than a bool one
        hit = where if window == 2 else (where == position).to(torch.uint8)
        torch.mul(grad_pooled, hit, out=windows[..., position])
    first = torch.sub(grad_pooled, windows[..., 1], out=windows[..., 0])
    for position in range(2, window):
        first -= windows[..., position]
    grad_y[..., covered:] = 0
    return grad_y


class ActPool(torch.autograd.Function):
    """Activation, pooling and dropout (a precomputed ``mask``) as one autograd node.

    Saves the activation's output and the positions of the maxima; the
    activation's gradient follows from its output, so no exp is recomputed.
    """

    @staticmethod
    def forward(ctx, y, activation, pool, mask, channels_last):
        out, result, where = act_pool_forward(y, activation, pool, mask, channels_last)
        ctx.activation, ctx.window = activation, pool_window(pool)
        ctx.shape, ctx.channels_last = y.shape, is_channels_last(y)
        ctx.save_for_backward(result, where, mask)
        return out

    @staticmethod
    @once_differentiable  # saved intermediates: no higher-order gradients
    def backward(ctx, grad):
        result, where, mask = ctx.saved_tensors
        grad_y = act_pool_backward(
            grad, ctx.activation, ctx.window, result, where, mask, ctx.shape, ctx.channels_last
        )
        return grad_y, None, None, None, None


def norm_act_pool(x, block, channels_last=False):
    """``block.batch_norm``, ``activation``, ``pool`` and ``dropout`` applied to ``x``.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, channels, 1, time)
        A convolution's output, in any memory layout (channels-last is fastest).
    block : torch.nn.Module
        Holds the four layers under those names.
    channels_last : bool, default=False
        Store the result channels-last, for a following convolution.

    Returns
    -------
    out : torch.Tensor of shape (batch, channels, 1, time // window)
    """
    y = block.batch_norm(x).squeeze(2)
    mask = block_dropout_mask(block, *y.shape, y, is_channels_last(y))
    return ActPool.apply(y, block.activation, block.pool, mask, channels_last).unsqueeze(2)


class FoldedConvNet:
    """A convolutional model's evaluation-mode function, folded for fast prediction.

    Each stage is one convolution, into whose weights and bias the batch
    norms and linear layers around it are composed, then the activation and
    pooling along time: the model's function in fewer operations, which
    matters most for a few trials. Average pooling's ``1 / window`` moves into the next
    layer's weights, and the last stage's average pooling into the
    classifier. Max pooling runs before the (monotonic) activation. The
    tensors are detached copies, made when the model is folded: later
    changes to the model are not seen.

    Parameters
    ----------
    stages : list of tuple
        ``(weight, bias, padding, activation, pool, length)`` per stage:
        convolution weight and bias (or None) and padding, the activation
        and pooling modules, and the time length of the convolution's output.
    weight, bias : torch.Tensor
        The classifier's, taking the flattened output of the last stage.
    """

    def __init__(self, stages, weight, bias):
        stages, self.stages = list(stages), []
        for index, stage in enumerate(stages):
            conv_weight, conv_bias, padding, activation, pool, length = stage
            window = pool_window(pool)
            average = isinstance(pool, nn.AvgPool2d)
            if average and index + 1 < len(stages):  # divide in the next convolution
                following = stages[index + 1]
                stages[index + 1] = (following[0] / window, *following[1:])
            elif average:  # pool inside the classifier: the same weight on each window
                pooled = weight.unflatten(1, (conv_weight.shape[0], -1))
                spread = pooled.repeat_interleave(window, dim=2) / window
                weight = nn.functional.pad(spread, (0, length - spread.shape[2])).flatten(1)
                window = None
            kind = "avg" if average else "max"
            self.stages.append((conv_weight, conv_bias, padding, activation, kind, window))
        self.weight, self.bias = weight, bias

    def __call__(self, x):
        """Logits of ``x``, ``(batch, n_channels, n_times)``."""
        h = x.unsqueeze(1)
        for weight, bias, padding, activation, kind, window in self.stages:
            h = nn.functional.conv2d(h, weight, bias, padding=padding)
            if kind == "max":
                h = _activate(activation, _max_pool(h, window, positions=False)[0], inplace=True)
            else:
                h = _activate(activation, h, inplace=True)
                h = h if window is None else _avg_pool_sum(h, window)
        return nn.functional.linear(h.flatten(1), self.weight, self.bias)
