"""The ``augmentation`` parameter: which values it takes, and applying it to a batch."""

from ._base import Transform
from ._checks import check_finite, check_output

_ACCEPTED = (
    "None, a transform from skeeg.augmentation (an instance, e.g. TimeReverse()), "
    "or a list or tuple of them"
)


def check_augmentation(augmentation):
    """Validate an ``augmentation`` parameter and return its transforms.

    Parameters
    ----------
    augmentation : None, Transform, or list or tuple of Transform
        The transforms to apply, in order. None means no augmentation.

    Returns
    -------
    transforms : tuple of Transform
        The given transforms themselves (not copies), each with valid
        parameters; empty for None or an empty list.

    Raises
    ------
    TypeError
        If ``augmentation`` or one of its items is not a Transform instance
        (a string, a class instead of an instance, another object).
    ValueError
        If a transform's parameters are invalid: scikit-learn's
        ``InvalidParameterError``, naming the parameter, the transform, the
        accepted values and the value given.

    Notes
    -----
    This is the check of the transforms' parameters, made once per use (a
    classifier's ``fit``); :func:`apply_augmentation`, called per batch,
    does not repeat it.
    """
    transforms = _as_transforms(augmentation)
    for transform in transforms:
        transform._check()
    return transforms


def _as_transforms(augmentation):
    """The transforms of an ``augmentation`` value as a tuple; types only, no parameters."""
    if augmentation is None:
        return ()
    if isinstance(augmentation, Transform):
        return (augmentation,)
    _refuse_class(augmentation, "augmentation")
    if isinstance(augmentation, (list, tuple)):
        for i, transform in enumerate(augmentation):
            _refuse_class(transform, f"augmentation[{i}]")
            if not isinstance(transform, Transform):
                raise TypeError(
                    f"augmentation[{i}] = {_describe(transform)} is not accepted: each "
                    "item must be a transform from skeeg.augmentation (an instance, "
                    "e.g. TimeReverse())."
                )
        return tuple(augmentation)
    raise TypeError(f"augmentation = {_describe(augmentation)} is not accepted: pass {_ACCEPTED}.")


def _refuse_class(value, where):
    """A transform's class where an instance belongs: say which instance to pass."""
    if isinstance(value, type) and issubclass(value, Transform):
        raise TypeError(
            f"{where} = the class {value.__name__}, not a transform: pass an instance, "
            f"{value.__name__}() (with its parameters)."
        )


def _describe(value):
    if isinstance(value, type):
        return f"the class {value.__name__}"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (type {type(value).__name__})"


def apply_augmentation(transforms, X, y, generator):
    """Apply transforms to a batch, one after the other.

    Parameters
    ----------
    transforms : None, Transform, or list or tuple of Transform
        Anything :func:`check_augmentation` accepts.
    X : torch.Tensor of shape (batch, n_channels, n_times)
        Floating-point trials. Not modified.
    y : torch.Tensor of shape (batch, n_classes) or None
        Soft targets on X's device, or None. Not modified.
    generator : torch.Generator
        Generator on X's device; every random draw comes from it.

    Returns
    -------
    X_new : torch.Tensor of shape (batch, n_channels, n_times)
        ``X`` itself when there is no transform, else a new tensor.
    y_new : torch.Tensor of shape (batch, n_classes) or None
        The targets after the transforms (``y`` itself unless one of them
        mixes targets).

    Raises
    ------
    TypeError, ValueError
        As :func:`check_augmentation` and the transforms' calls; a
        ValueError naming the transform that returned something other than
        a pair (X, y) of the batch's shape, dtype and device, or that
        returned NaN or infinity for finite trials.

    Notes
    -----
    Meant to be called per batch: it checks the batch and the types of the
    transforms, not their parameters, which :func:`check_augmentation`
    checks once per use (a transform never checked checks its own at its
    first call). What each transform returns is checked as it returns it
    (metadata only); finiteness once per batch, by the sum of the result,
    the only point where it waits for the device: 0.15 ms on one CPU thread
    for a batch of 64 trials x 22 channels x 1000 samples, against 6 ms for
    SignFlip and 460 ms for an EEGNet training step on it.
    """
    steps = [(None, X, y)]
    for transform in _as_transforms(transforms):
        name = type(transform).__name__
        out = transform(X, y, generator)
        check_output(name, out, X, y)  # a __call__ of the user's own
        X, y = out
        steps.append((name, X, y))
    if len(steps) > 1:
        check_finite(steps)
    return X, y
