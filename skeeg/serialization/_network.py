"""The network, loss and optimiser of a loaded model, each checked against the file."""

import contextlib
import math
import warnings

import torch
from torch.nn.parameter import is_lazy

from .._fitted import FITTED, check_fitted_state
from .._fitting import make_net
from .._members import Members
from .._training import module_n_times, resolve_device
from ._codec import _InvalidFile


def _check_fitted(clf):
    """Check the fitted attributes against their declaration; return the number of classes."""
    try:
        check_fitted_state(clf)
    except ValueError as error:
        raise _InvalidFile(f"{error} The file was edited, or not written by skeeg.save.") from None
    return len(clf.classes_)


def _network_of(clf, n_classes):
    """The classifier's network, unfitted: its module, or ``n_members`` of them.

    Lazy layers (``nn.LazyLinear``...) take their shapes as in ``fit``: from
    one forward pass, here on one trial of zeros in evaluation mode (on the
    meta device for the skeleton).
    """
    if clf.n_members == 1:
        module = clf._build_module(n_classes)
    else:
        module = Members([clf._build_module(n_classes) for _ in range(clf.n_members)])
    if any(is_lazy(p) for p in module.parameters()):
        device = next(p.device for p in module.parameters())
        trial = torch.zeros(1, clf.n_channels_, module_n_times(clf), device=device)
        with torch.no_grad():
            module.eval()(trial)
    return module


def _load_module(clf, n_classes, tensors):
    """The network built from the parameters, with the file's weights.

    Built first on the meta device (no memory) to compare every shape and
    dtype with the file's, so that parameters declaring a huge network are
    refused before anything is allocated.
    """
    saved = [t for n, t in tensors.items() if n.startswith("module.")]
    saved_bytes = sum(t.numel() * t.element_size() for t in saved)
    # The skeleton too is bounded by the file's own tensors, in bytes and in
    # count: parameters declaring thousands of layers are refused after a few
    # more tensors than the file holds, not built (minutes and gigabytes of
    # module objects even on the meta device).
    skeleton_budget = _AllocationBudget(
        BUILD_BUDGET_FACTOR * saved_bytes + BUILD_BUDGET_FLOOR,
        tensors=BUILD_TENSORS_FACTOR * len(saved) + BUILD_TENSORS_FLOOR,
    )
    try:
        with torch.device("meta"), skeleton_budget:
            skeleton = _network_of(clf, n_classes)
    except _InvalidFile:
        raise
    except (TypeError, ValueError) as error:
        raise _InvalidFile(f"its parameters do not build a network: {error}") from None
    except (RuntimeError, NotImplementedError):
        # A trusted module class that computes in its constructor (braindecode's
        # EEGNetv4 renormalises its weights) cannot be built without memory; its
        # shapes are then compared on the real network, built below.
        skeleton = None
    if skeleton is not None:
        _check_tensors(skeleton.state_dict(), "module", tensors)
    # Without a skeleton the shapes are unknown until the network exists: its
    # allocations are bounded by what the file's own weights take.
    budget = _AllocationBudget(BUILD_BUDGET_FACTOR * saved_bytes + BUILD_BUDGET_FLOOR)
    with torch.random.fork_rng(devices=[]), (
        contextlib.nullcontext() if skeleton is not None else budget
    ):
        try:
            module = _network_of(clf, n_classes)
        except _InvalidFile:
            raise
        except (TypeError, ValueError) as error:
            raise _InvalidFile(f"its parameters do not build a network: {error}") from None
        except (RuntimeError, NotImplementedError) as error:  # the module's own code
            raise _InvalidFile(
                f"its network cannot be built from its parameters: {type(error).__name__}: "
                f"{error}"
            ) from None
    if skeleton is None:
        _check_tensors(module.state_dict(), "module", tensors)
    _load_state(module, "module", tensors)
    return module


# A network built without a meta skeleton may allocate this many times the
# bytes of the file's weights, plus the floor (temporaries of its constructor).
BUILD_BUDGET_FACTOR, BUILD_BUDGET_FLOOR = 4, 64 << 20
# ... and create at most this many tensors per tensor of the file, plus the floor.
BUILD_TENSORS_FACTOR, BUILD_TENSORS_FLOOR = 4, 256
_FACTORIES = {
    torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn, torch.randint,
    torch.empty_strided,
}


class _AllocationBudget(torch.overrides.TorchFunctionMode):
    """Refuses tensor allocations beyond a byte budget (and a count), checked before each one."""

    def __init__(self, budget, tensors=None):
        super().__init__()
        self.left = budget
        self.tensors_left = tensors

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _FACTORIES:
            if self.tensors_left is not None:
                self.tensors_left -= 1
                if self.tensors_left < 0:
                    self._spend(float("inf"))
            shape = args[0] if args and isinstance(args[0], (tuple, list, torch.Size)) else [
                a for a in args if isinstance(a, int) and not isinstance(a, bool)]
            if func in (torch.full, torch.randint):
                shape = next((a for a in args if isinstance(a, (tuple, list, torch.Size))),
                             kwargs.get("size", ()))
            shape = kwargs.get("size", shape)
            dtype = kwargs.get("dtype") or torch.get_default_dtype()
            self._spend(math.prod(int(n) for n in shape) * torch.empty((), dtype=dtype,
                                                                       device="meta").element_size())
        return func(*args, **kwargs)

    def _spend(self, size):
        self.left -= size
        if self.left < 0:
            raise _InvalidFile(
                "its parameters build a network larger than the weights it holds (its "
                "constructor asked for more memory than the file's tensors justify): the "
                "file's parameters were edited, or it is not a model written by save."
            )


def _check_tensors(expected, prefix, tensors):
    start = len(prefix) + 1
    found = {name[start:]: t for name, t in tensors.items() if name.startswith(prefix + ".")}
    for name in [*expected, *sorted(set(found) - set(expected))]:
        if name not in found:
            raise _InvalidFile(f"it lacks the tensor {prefix}.{name} that the network has.")
        if name not in expected:
            raise _InvalidFile(
                f"it holds the tensor {prefix}.{name}, which the network built from its "
                "parameters does not have."
            )
        want, got = expected[name], found[name]
        if tuple(got.shape) != tuple(want.shape) or got.dtype != want.dtype:
            raise _InvalidFile(
                f"its tensor {prefix}.{name} has shape {tuple(got.shape)} and dtype "
                f"{got.dtype}, but the network built from its parameters needs shape "
                f"{tuple(want.shape)} and dtype {want.dtype}."
            )
    return found


def _load_state(module, prefix, tensors):
    found = _check_tensors(module.state_dict(), prefix, tensors)
    # A fit stops when any floating tensor of the network (weights, batch-norm
    # statistics, other buffers) stops being finite: no fitted model holds one.
    for name in sorted(found):
        tensor = found[name]
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise _InvalidFile(
                f"its tensor {prefix}.{name} holds NaN or infinite values, which no fit "
                "leaves: the file was edited or damaged."
            )
    _check_statistics(module, prefix, found)
    module.load_state_dict(found, strict=True)


# Tensors that are counts or variances wherever they appear: in every
# normalisation layer with running statistics (batch, instance norm), and in
# the loss (class weights are non-negative, not all zero, as fit checks them).
_NON_NEGATIVE = ("running_var", "num_batches_tracked")


def _check_statistics(module, prefix, found):
    """Refuse statistics no training leaves: negative variances, counts or class weights."""
    names = [
        f"{layer}.{buffer}".lstrip(".")
        for layer, child in module.named_modules()
        if isinstance(child, torch.nn.modules.batchnorm._NormBase)
        for buffer in _NON_NEGATIVE
    ]
    if prefix == "criterion" and "weight" in found:
        names.append("weight")
        if not bool(found["weight"].any()):
            raise _InvalidFile(f"its tensor {prefix}.weight (class weights) is all zero.")
    for name in names:
        tensor = found.get(name)
        if tensor is not None and bool((tensor < 0).any()):
            raise _InvalidFile(
                f"its tensor {prefix}.{name} holds negative values; it must be >= 0 (a "
                "variance, count or class weight): the file was edited or damaged."
            )


def _check_device_parameter(clf):
    """The ``device`` parameter names a device skeeg trains on (here or not): fit's rule."""
    name = str(clf.device) if isinstance(clf.device, (str, torch.device)) else None
    if name != "auto" and not FITTED["device_"][0](name):
        raise _InvalidFile(
            f"its parameter device={clf.device!r:.40} is not 'cpu', 'cuda', 'cuda:N' or "
            "'auto', the devices skeeg trains on."
        )


def _target_device(clf, device):
    if device is None:
        device = clf.device_ if isinstance(getattr(clf, "device_", None), str) else "cpu"
        try:
            return resolve_device(device)
        except (TypeError, ValueError):
            warnings.warn(
                f"The network was trained on {device!r}, which this machine does not have; "
                "it is loaded on the CPU. Call set_params(device='cpu') before refitting here.",
                UserWarning,
                stacklevel=4,
            )
            return "cpu"
    return resolve_device(device)


def _build_net(clf, module, criterion, device):
    """The skorch net, as ``BaseEEGClassifier.fit`` builds it, around the loaded module."""
    return make_net(clf, module, criterion, device).initialize()
