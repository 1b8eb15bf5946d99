"""The optimiser state of a loaded model, checked against the optimiser its parameters name.

A file's optimiser state is read into ``net_.optimizer_`` for further
training (``partial_fit``, ``warm_start``). What it may hold is learnt from
the optimiser itself rather than listed per class: a fresh optimiser of the
class the parameters name, built with the file's settings, validates them
(torch's own range checks: a negative ``lr``, ``betas`` outside [0, 1)) and
takes one step on a probe parameter, which shows the state entries it keeps
per parameter, their dtypes, and which are scalars and which have the
parameter's shape.
"""

import inspect
import math
import numbers

import torch

from ._codec import _InvalidFile

FLOAT32_MAX = 3.4028234663852886e38
# Keys of the optimiser's parameter groups that depend on the device the
# optimiser runs on, not on the training: taken from the rebuilt optimiser.
DEVICE_OPTIONS = ("capturable", "foreach", "fused", "differentiable")
# Keys torch's learning-rate schedulers add to a group (a fit with skorch's
# LRScheduler callback): every scheduler's initial_lr, the cyclic ones' bounds.
SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "base_lr", "base_momentum", "max_momentum")
# Settings a learning-rate scheduler moves (cyclic policies move momentum and betas too).
SCHEDULER_MOVES = ("lr", "momentum", "betas")
# Settings that are not the parameters' at all: device options, the scheduler's own.
SCHEDULED = DEVICE_OPTIONS + SCHEDULER_KEYS
# State entries that torch's optimisers keep as step counts, second moments,
# sums of squares or step sizes: never negative (Adam-family exp_avg_sq,
# RMSprop and Adadelta square_avg, Adagrad sum, Adamax exp_inf, Rprop, ASGD).
NON_NEGATIVE_STATE = ("step", "exp_avg_sq", "max_exp_avg_sq", "square_avg", "acc_delta", "sum",
                      "exp_inf", "step_size", "eta", "mu_product")
# ... of which these count steps: whole numbers.
COUNTS = ("step",)


def load_optimizer(net, saved):
    """Restore the optimiser's state into ``net.optimizer_``, every value checked.

    Raises
    ------
    _InvalidFile
        Naming the setting or state entry and the rule it breaks.
    """
    optimizer = net.optimizer_
    current = optimizer.state_dict()
    if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"}:
        raise _InvalidFile("its optimizer state is not an optimizer's state_dict.")
    groups, state = saved["param_groups"], saved["state"]
    if (
        not isinstance(groups, list)
        or len(groups) != len(current["param_groups"])
        or not all(isinstance(g, dict) and "params" in g for g in groups)
        or [g["params"] for g in groups] != [g["params"] for g in current["param_groups"]]
    ):
        raise _InvalidFile(
            "its optimizer state does not cover the network's parameters as the optimizer "
            "built from its parameters does."
        )
    if not isinstance(state, dict):
        raise _InvalidFile("its optimizer state is not a dict.")
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    group_of = {index: g for g in groups for index in g["params"]}
    probes = [_check_group(type(optimizer), group, fresh)
              for group, fresh in zip(groups, current["param_groups"])]
    probe_of = {index: probe for g, probe in zip(groups, probes) for index in g["params"]}
    for index, entry in state.items():
        known = isinstance(index, int) and not isinstance(index, bool) and index in group_of
        if not known or not isinstance(entry, dict):
            raise _InvalidFile(f"its optimizer state has an entry {index!r:.40} for no parameter.")
        _check_entry(entry, parameters[index], probe_of[index], f"of parameter {index}")
    try:
        optimizer.load_state_dict(saved)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise _InvalidFile(f"its optimizer state cannot be restored ({error}).") from None


def _check_group(cls, group, fresh):
    """Check one saved parameter group against the fresh optimiser's; return the probe's state.

    Device options are taken from the fresh group, keys a newer torch added
    are filled from it; any other key must be the fresh group's or a scheduler's.
    """
    extra = sorted(set(group) - set(fresh) - set(SCHEDULER_KEYS), key=str)
    if extra:
        raise _InvalidFile(
            f"its optimizer settings hold {extra[:5]!r:.80}, which {cls.__name__} does not have."
        )
    for key, value in fresh.items():
        if key in DEVICE_OPTIONS or key not in group:
            group[key] = value
        elif not _same_kind(group[key], value):
            raise _InvalidFile(
                f"its optimizer setting {key!r} is {group[key]!r:.40}, where the optimizer "
                f"built from its parameters has {value!r:.40}."
            )
        elif (isinstance(value, bool) or value is None) and group[key] != value:
            # Flags (maximize, amsgrad, nesterov...) come from the parameters alone: no
            # fit or scheduler changes them.
            raise _InvalidFile(
                f"its optimizer setting {key!r} is {group[key]!r:.40}, where the optimizer "
                f"built from its parameters has {value!r:.40}; no fit changes it."
            )

    for key, value in group.items():
        if key != "params" and not _finite(value):
            raise _InvalidFile(
                f"its optimizer setting {key!r} is {value!r:.40}; it must be finite."
            )
        if key != "params" and not _within_float32(value):
            raise _InvalidFile(
                f"its optimizer setting {key!r} is {value!r:.40}; the optimizer multiplies "
                "float32 weights by it, so it must be within float32's range (3.4e38)."
            )
    if "initial_lr" in group and not (_real(group["initial_lr"]) and group["initial_lr"] >= 0):
        raise _InvalidFile(
            f"its optimizer setting 'initial_lr' is {group['initial_lr']!r:.40}; it must be a "
            "learning rate, >= 0."
        )
    settings = {k: v for k, v in group.items() if k in fresh and k != "params"}
    # Not every key of a group is an argument of its class (AdamW's groups
    # hold Adam's decoupled_weight_decay): those are set on the probe's group.
    signature = inspect.signature(cls).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.values())
    arguments = {k: v for k, v in settings.items() if takes_any or k in signature}
    probe = torch.zeros(2, requires_grad=True)
    try:
        optimizer = cls([probe], **arguments)
    except (TypeError, ValueError) as error:  # torch's range checks name the setting
        raise _InvalidFile(f"its optimizer settings are invalid for {cls.__name__} "
                           f"({str(error):.200}).") from None
    _check_from_parameters(group, fresh)
    optimizer.param_groups[0].update(settings)
    probe.grad = torch.zeros_like(probe)
    try:
        optimizer.step()
    except Exception:  # noqa: BLE001 - a trusted class that needs a closure: no probe
        return None
    return optimizer.state[probe]


def _check_entry(entry, parameter, probe, where):
    """One parameter's state: the probe's keys, shapes and dtypes; finite; ranges."""
    if probe is not None and set(entry) != set(probe):
        raise _InvalidFile(
            f"its optimizer state {where} holds {sorted(map(str, entry))[:6]}, where the "
            f"optimizer keeps {sorted(probe)}."
        )
    for key, value in entry.items():
        name = f"its optimizer state {key!r:.40} {where}"
        expected = None if probe is None else probe[key]
        if torch.is_tensor(value):
            scalar = torch.is_tensor(expected) and expected.ndim == 0
            shape = () if scalar or (expected is None and value.ndim == 0) else tuple(
                parameter.shape)
            if tuple(value.shape) != shape:
                raise _InvalidFile(f"{name} has shape {tuple(value.shape)}; it must have "
                                   f"shape {shape}.")
            # Moments take their parameter's dtype; counts the optimiser's own.
            dtype = parameter.dtype if shape and expected is not None else getattr(
                expected, "dtype", None)
            if dtype is not None and value.dtype != dtype:
                raise _InvalidFile(f"{name} has dtype {value.dtype}; the optimizer keeps "
                                   f"{dtype}.")
            if value.dtype.is_complex or value.dtype == torch.bool:
                raise _InvalidFile(f"{name} has dtype {value.dtype}; it must be real.")
        elif not (value is None and expected is None) and not _real(value):
            raise _InvalidFile(f"{name} is {value!r:.40}; it must be a tensor or a number.")
        if value is None:
            continue
        values = torch.as_tensor(value, dtype=torch.float64)
        if not bool(torch.isfinite(values).all()):
            raise _InvalidFile(f"{name} holds NaN or infinite values, which no fit leaves.")
        if key in NON_NEGATIVE_STATE and bool((values < 0).any()):
            raise _InvalidFile(f"{name} holds negative values; it must be >= 0.")
        if key in COUNTS and not bool((values == values.round()).all()):
            raise _InvalidFile(f"{name} is {values.flatten()[0].item()!r}; it must be a whole "
                               "number of steps.")


def _real(value):
    return ((isinstance(value, numbers.Real) and not isinstance(value, bool))
            or torch.is_tensor(value) and value.ndim == 0 and not value.dtype.is_complex)


def _finite(value):
    """Whether every number in a setting (a number, a tuple of them, a 0-d tensor) is finite."""
    if isinstance(value, (tuple, list)):
        return all(_finite(item) for item in value)
    if torch.is_tensor(value):
        return not value.is_floating_point() or bool(torch.isfinite(value).all())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return math.isfinite(value)
    return True


def _check_from_parameters(group, fresh):
    """Numbers come from the parameters too (lr, weight_decay, eps...).

    Only a scheduler moves some of them (lr; momentum and betas for cyclic
    policies), and it leaves its ``initial_lr`` in the group, except
    ``ReduceLROnPlateau``, which only ever lowers ``lr``. Checked after
    the finiteness and torch's own range checks, which name more precisely
    what is wrong with a value no fit could leave.
    """
    scheduled = "initial_lr" in group
    for key, value in fresh.items():
        if key == "params" or key in SCHEDULED or isinstance(value, bool) or value is None:
            continue
        if _equal(group[key], value) or (scheduled and key in SCHEDULER_MOVES):
            continue
        if key == "lr" and float(group[key]) <= float(value):
            continue  # ReduceLROnPlateau lowers lr and leaves no initial_lr
        raise _InvalidFile(
            f"its optimizer setting {key!r} is {group[key]!r:.40}, where the optimizer "
            f"built from its parameters has {value!r:.40}"
            + (" (a scheduler without initial_lr only lowers lr)" if key == "lr" else
               " (no scheduler changes it)")
            + ": continued training would use a value the classifier does not report."
        )


def _equal(value, reference):
    """Whether a setting read from a file is the one the parameters build (numbers, tuples)."""
    if isinstance(reference, (tuple, list)):
        return (isinstance(value, (tuple, list)) and len(value) == len(reference)
                and all(_equal(v, r) for v, r in zip(value, reference)))
    if torch.is_tensor(value) or torch.is_tensor(reference):
        return float(value) == float(reference)
    return value == reference


def _within_float32(value):
    """Whether every number in a setting is at most float32's largest in magnitude."""
    if isinstance(value, (tuple, list)):
        return all(_within_float32(item) for item in value)
    if torch.is_tensor(value):
        return not value.is_floating_point() or bool((value.abs() <= FLOAT32_MAX).all())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return abs(value) <= FLOAT32_MAX
    return True


def _same_kind(value, reference):
    """Whether an optimiser setting read from a file is of the kind torch's own is."""
    if isinstance(reference, bool) or reference is None:
        return isinstance(value, bool) or value is None
    if isinstance(reference, (int, float)) or torch.is_tensor(reference):
        return (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            or torch.is_tensor(value) and value.ndim == 0
        )
    if isinstance(reference, (tuple, list)):
        return (
            isinstance(value, (tuple, list))
            and len(value) == len(reference)
            and all(_same_kind(v, r) for v, r in zip(value, reference))
        )
    return isinstance(value, type(reference))
