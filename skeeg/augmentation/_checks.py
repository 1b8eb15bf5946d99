"""The checks made of each batch: types, shapes, dtypes and devices, then finiteness.

Parameters are not checked here: they are checked once per use, by
:func:`skeeg.augmentation.check_augmentation` (see ``_base.Transform._check``).
Only :func:`check_finite` reads a tensor's values: one fused test per batch,
the one point where augmentation waits for the device.
"""

import torch


def check_batch(X, y, generator, owner):
    """Validate the arguments of a transform's call.

    Parameters
    ----------
    X : torch.Tensor of shape (batch, n_channels, n_times)
    y : torch.Tensor of shape (batch, n_classes) or None
    generator : torch.Generator
    owner : str
        The transform's name, for the messages.

    Raises
    ------
    TypeError
        If X or y is not a tensor, or generator not a torch.Generator.
    ValueError
        If X is not 3-D floating point, y not (batch, n_classes) floating
        point on X's device, or the generator on another device than X.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(
            f"{owner}: X must be a torch.Tensor (batch, n_channels, n_times), "
            f"got {type(X).__name__}."
        )
    if X.ndim != 3:
        raise ValueError(
            f"{owner}: X must be 3-D (batch, n_channels, n_times), got shape {tuple(X.shape)}."
        )
    if not X.is_floating_point():
        raise ValueError(f"{owner}: X must be a floating-point tensor, got {X.dtype}.")
    if y is not None:
        _check_targets(X, y, owner)
    _check_generator(X, generator, owner)


def _check_targets(X, y, owner):
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{owner}: y must be None or a torch.Tensor (batch, n_classes), "
            f"got {type(y).__name__}."
        )
    if y.ndim != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{owner}: y must be soft targets of shape (batch, n_classes) with "
            f"batch={X.shape[0]} as in X, got shape {tuple(y.shape)}."
        )
    if not y.is_floating_point():
        raise ValueError(
            f"{owner}: y must be floating-point soft targets (one-hot rows for "
            f"ordinary labels), got {y.dtype}."
        )
    if y.device != X.device:
        raise ValueError(f"{owner}: y is on {y.device} but X is on {X.device}.")


def _check_generator(X, generator, owner):
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{owner}: generator must be a torch.Generator on X's device "
            f"({X.device}), got {type(generator).__name__}."
        )
    gen_device = generator.device
    same_index = gen_device.index is None or X.device.index is None or (
        gen_device.index == X.device.index
    )
    if gen_device.type != X.device.type or not same_index:
        raise ValueError(
            f"{owner}: the generator is on {gen_device} but X is on {X.device}; "
            "use a torch.Generator created on X's device."
        )


def check_output(name, out, X, y):
    """Refuse what a transform returns unless it is a batch of the same trials' shape.

    Metadata only (shape, dtype, device): nothing waits for the device. A
    user's ``Transform`` that returned one channel or one trial would
    otherwise be broadcast back by later arithmetic, and training go on.
    """
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"augmentation: {name} returned {type(out).__name__}; a transform "
                        "returns a pair (X, y) of tensors.")
    new_X, new_y = out
    if not torch.is_tensor(new_X):
        raise TypeError(f"augmentation: {name} returned X as {type(new_X).__name__}; it must "
                        "return a torch.Tensor.")
    if new_X.shape != X.shape or new_X.dtype != X.dtype or new_X.device != X.device:
        raise ValueError(
            f"augmentation: {name} returned X of shape {tuple(new_X.shape)}, {new_X.dtype} on "
            f"{new_X.device}, for a batch of shape {tuple(X.shape)}, {X.dtype} on {X.device}: "
            "a transform returns trials of the batch's shape, dtype and device."
        )
    if y is None:
        return
    if not torch.is_tensor(new_y) or new_y.shape != y.shape:
        got = tuple(new_y.shape) if torch.is_tensor(new_y) else type(new_y).__name__
        raise ValueError(f"augmentation: {name} returned targets {got} for targets of shape "
                         f"{tuple(y.shape)}: a transform keeps one row of targets per trial.")
    if new_y.dtype != y.dtype or new_y.device != y.device:
        raise ValueError(
            f"augmentation: {name} returned targets {new_y.dtype} on {new_y.device} for "
            f"targets {y.dtype} on {y.device}: a transform keeps the targets' dtype and device."
        )


def check_finite(steps):
    """Refuse a batch left with NaN, infinity or targets that are no probabilities, naming why.

    Parameters
    ----------
    steps : list of (str or None, torch.Tensor, torch.Tensor or None)
        ``(name, X, y)``: the batch as given (name None), then as each
        transform returned it, in order. Trials ``(batch, n_channels,
        n_times)``, targets ``(batch, n_classes)`` or None.

    Raises
    ------
    ValueError
        Naming the first transform whose output holds NaN or infinity where
        its input did not (or saying that the batch given held them), and
        the first trial concerned.

    Notes
    -----
    One sum of the last output (trials and targets), one test that the
    targets are probabilities (>= 0, rows summing to 1), and one read of
    the device per batch; the earlier outputs are looked at only when that
    fails. A NaN
    would otherwise reach the loss and be reported as a divergence of
    training ("lower the learning rate").
    """
    _, X, y = steps[-1]
    total = X.sum() if y is None else X.sum() + y.sum()
    fine = torch.isfinite(total)
    if y is not None:
        fine = fine & _distributions(y)
    if bool(fine):  # the one read of the device per batch
        return
    if _all_finite(X, y):  # a sum that overflowed, or targets that are no probabilities
        if y is not None:
            _check_distributions(steps)
        return
    for (_, X_in, y_in), (name, X_out, y_out) in zip(steps, steps[1:]):
        if _all_finite(X_in, y_in) and not _all_finite(X_out, y_out):
            raise ValueError(
                f"augmentation: {name} returned NaN or infinity ({_where(X_out, y_out)}) for "
                "finite trials: a transform must return finite trials and targets. Check its "
                "arithmetic (an overflow, a division by a flat trial's zero standard "
                "deviation) or its parameters."
            )
    _, X, y = steps[0]
    raise ValueError(
        f"augmentation: the batch given to the transforms already holds NaN or infinity "
        f"({_where(X, y)}); the transforms need finite trials and targets."
    )


# Targets are probabilities over the classes: >= 0 and summing to 1 per trial, to this
# tolerance (float32 sums of mixed one-hot rows are 1 within a few 1e-7).
TARGET_TOLERANCE = 1e-4


def _distributions(y):
    """A 0-d bool tensor: whether every row of ``y`` is a probability distribution."""
    if not y.numel():
        return torch.ones((), dtype=torch.bool, device=y.device)
    low = y.amin()
    off = (y.sum(dim=1) - 1).abs().amax()
    return (low >= -TARGET_TOLERANCE) & (off <= TARGET_TOLERANCE)


def _check_distributions(steps):
    """Refuse targets that are not probabilities, naming the transform that made them."""
    if bool(_distributions(steps[-1][2])):
        return
    for (_, _, y_in), (name, _, y_out) in zip(steps, steps[1:]):
        if bool(_distributions(y_in)) and not bool(_distributions(y_out)):
            rows = (y_out < -TARGET_TOLERANCE).any(dim=1) | (
                (y_out.sum(dim=1) - 1).abs() > TARGET_TOLERANCE)
            first = int(rows.nonzero()[0, 0])
            raise ValueError(
                f"augmentation: {name} returned targets that are not probabilities (trial "
                f"{first} of the batch: {[round(v, 4) for v in y_out[first].tolist()][:6]}): "
                "a transform returns soft targets >= 0 that sum to 1 for each trial "
                "(Mixup's convex mixtures of one-hot rows, say)."
            )
    raise ValueError("augmentation: the batch given to the transforms holds targets that are "
                     "not probabilities (rows >= 0 summing to 1).")


def _all_finite(X, y):
    """Whether X and y hold only finite values.

    A finite sum proves it (NaN and infinity propagate through a sum) and
    costs a twentieth of ``isfinite().all()``; only a sum that overflowed,
    or a batch that holds non-finite values, pays for the exact test.
    """
    total = X.sum() if y is None else X.sum() + y.sum()
    if bool(torch.isfinite(total)):
        return True
    return bool(torch.isfinite(X).all()) and (y is None or bool(torch.isfinite(y).all()))


def _where(X, y):
    """The first trial holding a non-finite value, in X, else in y."""
    bad = ~torch.isfinite(X).flatten(1).all(dim=1)
    if bool(bad.any()):
        return f"trial {int(bad.nonzero()[0, 0])} of the batch"
    bad = ~torch.isfinite(y).all(dim=1)
    return f"the targets of trial {int(bad.nonzero()[0, 0])} of the batch"
