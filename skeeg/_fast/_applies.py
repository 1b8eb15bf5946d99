"""When a fast kernel computes what a model's own layers would.

A kernel may replace a model's forward only on float CPU tensors in plain
eager mode (:func:`eager_cpu`) and only over layers it reproduces, none of
them hooked (:func:`fusable_layers`): anywhere else the model runs its
layers, which is always right.
"""

import torch
from torch import nn

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


def has_hooks(module):
    """Whether ``module`` itself (not its children) has a forward or backward hook."""
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
    )


def _reproducible(module):
    """Whether the kernels compute what ``module`` would (and no hook is skipped)."""
    if has_hooks(module):
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
    """Whether ``model``'s kernel may replace its forward on ``x``.

    The kernels need a float CPU tensor in eager mode (no tracing,
    scripting, exporting, autocast or global hooks; see :func:`eager_cpu`)
    and layers they reproduce (see :func:`fusable_layers`).
    """
    return eager_cpu(x.device, x.dtype) and fusable_layers(model)


def eager_cpu(device, dtype):
    """Whether float CPU tensors run in plain eager mode, with no global module hooks.

    Not while scripting, tracing or exporting (:func:`torch.export.export`),
    nor under autocast.
    """
    return (
        device.type == "cpu"
        and dtype in (torch.float32, torch.float64)
        and not torch.jit.is_scripting()
        and not torch.jit.is_tracing()
        # torch.export traces the plain layers: custom autograd functions and
        # out= kernels do not export.
        and not getattr(torch.compiler, "is_exporting", lambda: False)()
        and not torch.is_autocast_enabled("cpu")
        and not any(getattr(nn.modules.module, name, None) for name in _GLOBAL_HOOKS)
    )


def fusable_layers(model):
    """Whether ``model`` has no hooks and only the layer types the kernels reproduce."""
    return not has_hooks(model) and all(_reproducible(module) for module in model.children())

