"""The base class of the transforms: parameters checked once, trials drawn per batch."""

import torch
from sklearn.base import BaseEstimator

from .._constraints import RealRange
from ._checks import check_batch, check_output


def work_dtype(X):
    """The dtype to compute in: X's for float32 and float64, else float32.

    FFTs and trigonometry need at least float32; half types are cast back after.
    """
    return X.dtype if X.dtype in (torch.float32, torch.float64) else torch.float32


class Transform(BaseEstimator):
    """Base class of skeeg's augmentation transforms.

    A subclass stores its constructor arguments unchanged, declares them in
    ``_parameter_constraints`` (scikit-learn's table), puts any rule that
    ties parameters together in :meth:`_check_cross_params`, and implements
    :meth:`_transform`, which transforms every trial of a batch; the base
    class draws which trials keep the result.

    The parameters are checked once per use, not per batch:
    :func:`~skeeg.augmentation.check_augmentation` (which a classifier's
    ``fit`` calls) checks them, and a transform called without that check
    checks them at its first call. :meth:`set_params` makes the next use
    check them again; attributes assigned directly are not re-checked.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that the transform is applied to a given
        trial, drawn independently per trial. 0 leaves every trial unchanged,
        1 transforms all of them.
    """

    _parameter_constraints = {"probability": [RealRange(0, 1, closed="both")]}

    def __init__(self, *, probability=0.5):
        self.probability = probability

    def _check(self):
        """Validate the parameters: the table, then the rules between parameters.

        Returns
        -------
        self : Transform

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            A ``ValueError`` (and ``TypeError``) if a parameter is of the
            wrong type or out of range; the message names the parameter, the
            transform, the accepted values and the value given.
        """
        self._validate_params()
        self._check_cross_params()
        self._params_checked = True
        return self

    def _check_cross_params(self):
        """Check the rules that tie parameters together (none here); raise ``refuse``'s error."""

    def set_params(self, **params):
        """Set parameters, to be checked again at the next use.

        Parameters
        ----------
        **params : dict
            Parameter names and values.

        Returns
        -------
        self : Transform
        """
        self.__dict__.pop("_params_checked", None)
        return super().set_params(**params)

    def _transform(self, X, y, generator):
        """Transform every trial of ``X`` (and ``y`` where the transform changes targets).

        Parameters
        ----------
        X : torch.Tensor of shape (batch, n_channels, n_times)
        y : torch.Tensor of shape (batch, n_classes) or None
        generator : torch.Generator
            The source of all randomness.

        Returns
        -------
        X_t : torch.Tensor of shape (batch, n_channels, n_times)
            A new tensor, with ``X``'s dtype and device.
        y_t : torch.Tensor of shape (batch, n_classes) or None
            ``y`` itself for transforms that keep the labels.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement _transform.")

    def __call__(self, X, y, generator):
        """Transform a random subset of the trials of a batch.

        Parameters
        ----------
        X : torch.Tensor of shape (batch, n_channels, n_times)
            Floating-point trials, on any device. Not modified.
        y : torch.Tensor of shape (batch, n_classes) or None
            Soft targets (one-hot rows for ordinary labels) on X's device, or
            None. Not modified.
        generator : torch.Generator
            Generator on X's device; every random draw comes from it.

        Returns
        -------
        X_new : torch.Tensor of shape (batch, n_channels, n_times)
            A new tensor: the transformed trials where drawn, the others
            unchanged.
        y_new : torch.Tensor of shape (batch, n_classes) or None
            The targets: ``y`` itself (not a copy) for transforms that keep
            the labels, new mixed targets for :class:`Mixup`; None when ``y``
            is None.

        Raises
        ------
        TypeError
            If X, y or generator is not a tensor / generator.
        ValueError
            If a parameter is invalid (checked at the first call only, unless
            already checked), X is not a 3-D floating-point tensor, y's shape
            or device does not match X, or the generator is on another device.
        """
        if not getattr(self, "_params_checked", False):
            self._check()
        check_batch(X, y, generator, type(self).__name__)
        # One draw per trial, first, so that which trials change does not
        # depend on the transform's own draws.
        draws = torch.rand(X.shape[0], generator=generator, device=X.device)
        apply = draws < float(self.probability)
        out = self._transform(X, y, generator)
        check_output(type(self).__name__, out, X, y)  # before unpacking: None is named too
        X_t, y_t = out
        X_new = torch.where(apply[:, None, None], X_t, X)
        if y is None or y_t is y:
            return X_new, y
        return X_new, torch.where(apply[:, None], y_t, y)
