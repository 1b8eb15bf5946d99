"""Transforms along time: reversal, shift and a smooth mask."""

import torch
from sklearn.utils._param_validation import StrOptions

from .._constraints import IntRange
from ._base import Transform, work_dtype

TIME_SHIFT_MODES = ("zeros", "circular")


class TimeReverse(Transform):
    """Reverse the time axis of trials.

    Each trial drawn becomes ``X[..., ::-1]``. Evaluated on EEG, with sign
    flip and frequency shift, by Rommel et al. [1]_ [2]_.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that a trial is reversed.

    References
    ----------
    .. [1] Rommel, C., Moreau, T., Paillard, J., & Gramfort, A. (2022).
       CADDA: Class-wise automatic differentiable data augmentation for EEG
       signals. ICLR 2022. arXiv:2106.13695.
    .. [2] Rommel, C., Paillard, J., Moreau, T., & Gramfort, A. (2022). Data
       augmentation for learning predictive models on EEG: a systematic
       comparison. Journal of Neural Engineering, 19(6), 066020.
    """

    def __init__(self, *, probability=0.5):
        self.probability = probability

    def _transform(self, X, y, generator):
        return X.flip(-1), y


class SmoothTimeMask(Transform):
    """Zero a contiguous span of all channels, with smooth edges.

    In each trial drawn, a span of ``mask_len_samples`` samples starting at
    a uniformly drawn (non-integer) position is multiplied by a mask that is
    0 inside, 1 outside and a logistic ramp of scale one sample at each edge
    (0.5 on the edge, within 1 % of its final value 5 samples away), so
    that the mask adds no step to the signal. The ramps overlap in masks of
    fewer than about 10 samples, which then only dip (to about 0.75 in the
    middle for 1 sample, 0.15 for 5, 0.01 for 10) instead of zeroing.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that a trial is masked.
    mask_len_samples : int, default=100
        Length of the masked span, in samples (>= 1, and at most the trials'
        length: a longer span is a ValueError when called).

    References
    ----------
    .. [1] Cheng, J. Y., Goh, H., Dogrusoz, K., Tuzel, O., & Azemi, E. (2020).
       Subject-aware contrastive learning for biosignals. arXiv:2007.04871.
    .. [2] Mohsenvand, M. N., Izadi, M. R., & Maes, P. (2020). Contrastive
       representation learning for electroencephalogram classification.
       ML4H, PMLR 136, 238-253.
    .. [3] Rommel, C., Paillard, J., Moreau, T., & Gramfort, A. (2022). Data
       augmentation for learning predictive models on EEG: a systematic
       comparison. Journal of Neural Engineering, 19(6), 066020.
    """

    _parameter_constraints = {
        **Transform._parameter_constraints,
        "mask_len_samples": [IntRange(1, None, closed="left")],
    }

    def __init__(self, *, probability=0.5, mask_len_samples=100):
        self.probability = probability
        self.mask_len_samples = mask_len_samples

    def _transform(self, X, y, generator):
        batch, _, n_times = X.shape
        length = int(self.mask_len_samples)
        if length > n_times:
            raise ValueError(
                f"SmoothTimeMask: mask_len_samples={length} is longer than the "
                f"trials ({n_times} samples)."
            )
        dtype = work_dtype(X)
        start = torch.rand(batch, 1, 1, generator=generator, device=X.device, dtype=dtype)
        start = start * (n_times - length)
        t = torch.arange(n_times, device=X.device, dtype=dtype)
        mask = torch.sigmoid(start - t) + torch.sigmoid(t - start - length)
        return (X * mask).to(X.dtype), y


def _time_shift(X, shifts, mode):
    """Shift each trial along time by an integer number of samples.

    Parameters
    ----------
    X : torch.Tensor of shape (batch, n_channels, n_times)
    shifts : torch.Tensor of shape (batch,), integer, on X's device
        Positive values delay the trial (its content moves to later samples).
    mode : {"zeros", "circular"}
        Fill the samples uncovered by the shift with zeros, or with the
        samples shifted out at the other end.

    Returns
    -------
    torch.Tensor of shape (batch, n_channels, n_times)
    """
    n_times = X.shape[-1]
    source = torch.arange(n_times, device=X.device) - shifts[:, None]  # (batch, n_times)
    if mode == "circular":
        return X.gather(-1, (source % n_times)[:, None, :].expand_as(X))
    inside = (source >= 0) & (source < n_times)
    index = source.clamp(0, n_times - 1)[:, None, :].expand_as(X)
    return X.gather(-1, index).masked_fill(~inside[:, None, :], 0.0)


class TimeShift(Transform):
    """Shift trials in time by a random whole number of samples.

    Each trial drawn moves by ``s`` samples, drawn uniformly among the
    integers of ``[-max_shift, max_shift]`` (positive: later). With
    ``mode="zeros"`` (the default) the samples uncovered at one end are
    zeros and those pushed past the other end are lost: no part of the trial
    moves to the wrong end, and zero is the standardised trials' mean. With
    ``mode="circular"`` the trial is rolled (``torch.roll``).

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that a trial is shifted.
    max_shift : int, default=25
        Largest shift in samples, in absolute value (>= 0, and shorter than
        the trials: a longer one is a ValueError when called). 25 samples
        are 0.2 s at 128 Hz.
    mode : {"zeros", "circular"}, default="zeros"
        How the samples uncovered by the shift are filled.

    References
    ----------
    .. [1] Mohsenvand, M. N., Izadi, M. R., & Maes, P. (2020). Contrastive
       representation learning for electroencephalogram classification.
       ML4H, PMLR 136, 238-253.
    """

    _parameter_constraints = {
        **Transform._parameter_constraints,
        "max_shift": [IntRange(0, None, closed="left")],
        "mode": [StrOptions(set(TIME_SHIFT_MODES))],
    }

    def __init__(self, *, probability=0.5, max_shift=25, mode="zeros"):
        self.probability = probability
        self.max_shift = max_shift
        self.mode = mode

    def _transform(self, X, y, generator):
        n_times = X.shape[-1]
        max_shift = int(self.max_shift)
        if max_shift >= n_times:
            raise ValueError(
                f"TimeShift: max_shift={max_shift} must be shorter than the trials "
                f"({n_times} samples)."
            )
        shifts = torch.randint(
            -max_shift, max_shift + 1, (X.shape[0],), generator=generator, device=X.device
        )
        return _time_shift(X, shifts, self.mode), y
