"""Data augmentation for EEG: random transforms of batches of trials.

Each transform is a small scikit-learn-style object: its parameters are set in
the constructor (keyword-only), read and changed with ``get_params`` and
``set_params``, copied with :func:`sklearn.base.clone`, and pickled. Calling
it on a training batch returns a new, randomly transformed batch::

    X_new, y_new = transform(X, y, generator)

with ``X`` a float tensor ``(batch, n_channels, n_times)``, ``y`` the soft
targets ``(batch, n_classes)`` (one-hot rows for ordinary labels) or None, and
``generator`` a :class:`torch.Generator` on the device of ``X``.

How a transform draws
---------------------
``probability`` is the chance that a transform changes a given trial: one
uniform draw per trial decides it, as in braindecode. The transform is then
computed for the whole batch and kept only for the trials that were drawn, so
that the number and kind of random draws depend on the batch's shape alone,
never on its values: the same generator state gives the same output (bitwise
on the CPU), nothing waits for the device (no ``.item()``, no data-dependent
shapes), and the work stays on the device the batch lives on. Inputs are
never modified in place.

Units
-----
The transforms work in the units of the trials they are given. skeeg's
classifiers standardise the trials to unit standard deviation before the
network and apply the augmentation to those standardised trials, so that a
:class:`GaussianNoise` ``std`` of 0.1 there is a tenth of the signal's
standard deviation, whatever the recording's units (volts or microvolts).

Each transform's docstring gives its sources; Rommel et al. (Journal of Neural
Engineering 19, 066020, 2022) compare most of them on EEG tasks.
"""

import math
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator

__all__ = [
    "AmplitudeScale",
    "ChannelsDropout",
    "FrequencyShift",
    "GaussianNoise",
    "Mixup",
    "SignFlip",
    "SmoothTimeMask",
    "TimeReverse",
    "TimeShift",
    "Transform",
    "apply_augmentation",
    "check_augmentation",
]

TIME_SHIFT_MODES = ("zeros", "circular")


# ----------------------------------------------------------------------
# Parameter checks
def _is_real(value):
    # bool is a numbers.Real, but True as a probability or a std is a mistake.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_real(owner, name, value, low=None, high=None, low_open=False, high_open=False):
    """Raise a ValueError naming ``owner.name`` unless ``value`` is a real number in range."""
    if not _is_real(value) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite real number, got {value!r}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        low_s = "-inf" if low is None else f"{low:g}"
        high_s = "inf" if high is None else f"{high:g}"
        raise ValueError(
            f"{owner}: {name} must be in {left}{low_s}, {high_s}{right}, got {value!r}."
        )


def _check_int(owner, name, value, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be an integer, got {value!r}.")
    if value < low:
        raise ValueError(f"{owner}: {name} must be at least {low}, got {value!r}.")


def _check_batch(X, y, generator, owner):
    """Validate the arguments of a transform's call; shapes and devices only (no sync)."""
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


def _work_dtype(X):
    # FFTs and trigonometry need at least float32; half types are cast back after.
    return X.dtype if X.dtype in (torch.float32, torch.float64) else torch.float32


# ----------------------------------------------------------------------
# Base class
class Transform(BaseEstimator):
    """Base class of skeeg's augmentation transforms.

    A subclass stores its constructor arguments unchanged, extends
    :meth:`_check` to validate them and implements :meth:`_transform`, which
    transforms every trial of a batch; the base class draws which trials keep
    the result.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that the transform is applied to a given
        trial, drawn independently per trial. 0 leaves every trial unchanged,
        1 transforms all of them.
    """

    def __init__(self, *, probability=0.5):
        self.probability = probability

    def _check(self):
        """Validate the parameters.

        Returns
        -------
        self : Transform

        Raises
        ------
        ValueError
            If a parameter is of the wrong type or out of range; the message
            names the transform and the parameter.
        """
        _check_real(type(self).__name__, "probability", self.probability, 0.0, 1.0)
        return self

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
            If a parameter is invalid, X is not a 3-D floating-point tensor,
            y's shape or device does not match X, or the generator is on
            another device.
        """
        name = type(self).__name__
        self._check()
        _check_batch(X, y, generator, name)
        # One draw per trial, first, so that which trials change does not
        # depend on the transform's own draws.
        apply = (
            torch.rand(X.shape[0], generator=generator, device=X.device) < self.probability
        )
        X_t, y_t = self._transform(X, y, generator)
        X_new = torch.where(apply[:, None, None], X_t, X)
        if y is None or y_t is y:
            return X_new, y
        return X_new, torch.where(apply[:, None], y_t, y)


# ----------------------------------------------------------------------
# Transforms
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


class SignFlip(Transform):
    """Negate trials.

    Each trial drawn becomes ``-X``: all channels change sign together.
    Evaluated on EEG by Rommel et al. [1]_ [2]_.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that a trial is negated.

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
        return -X, y


class GaussianNoise(Transform):
    """Add white Gaussian noise to every channel and sample.

    Each trial drawn becomes ``X + std * N(0, 1)``, with independent noise
    per channel and sample.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that noise is added to a trial.
    std : float, default=0.1
        Standard deviation of the noise (>= 0), in the units of X: absolute,
        as in braindecode. skeeg's classifiers give the transforms trials
        standardised to unit standard deviation, so that there 0.1 is a tenth
        of the signal's standard deviation (a signal-to-noise ratio of 20 dB).

    References
    ----------
    .. [1] Wang, F., Zhong, S., Peng, J., Jiang, J., & Liu, Y. (2018). Data
       augmentation for EEG-based emotion recognition with deep convolutional
       neural networks. MultiMedia Modeling (MMM 2018), 82-93.
    .. [2] Cheng, J. Y., Goh, H., Dogrusoz, K., Tuzel, O., & Azemi, E. (2020).
       Subject-aware contrastive learning for biosignals. arXiv:2007.04871.
    .. [3] Mohsenvand, M. N., Izadi, M. R., & Maes, P. (2020). Contrastive
       representation learning for electroencephalogram classification.
       ML4H, PMLR 136, 238-253.
    .. [4] Rommel, C., Paillard, J., Moreau, T., & Gramfort, A. (2022). Data
       augmentation for learning predictive models on EEG: a systematic
       comparison. Journal of Neural Engineering, 19(6), 066020.
    """

    def __init__(self, *, probability=0.5, std=0.1):
        self.probability = probability
        self.std = std

    def _check(self):
        super()._check()
        _check_real(type(self).__name__, "std", self.std, low=0.0)
        return self

    def _transform(self, X, y, generator):
        noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
        return X + self.std * noise, y


class ChannelsDropout(Transform):
    """Set randomly chosen channels to zero.

    In each trial drawn, every channel is zeroed independently with
    probability ``p_drop``, so that about ``p_drop`` of the channels are
    flat. The others are kept as they are (not rescaled, unlike
    ``torch.nn.Dropout``).

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that a trial has channels dropped.
    p_drop : float, default=0.2
        Probability, in [0, 1], that a channel of such a trial is zeroed.

    References
    ----------
    .. [1] Saeed, A., Grangier, D., Pietquin, O., & Zeghidour, N. (2021).
       Learning from heterogeneous EEG signals with differentiable channel
       reordering. ICASSP 2021. arXiv:2010.13694.
    .. [2] Rommel, C., Paillard, J., Moreau, T., & Gramfort, A. (2022). Data
       augmentation for learning predictive models on EEG: a systematic
       comparison. Journal of Neural Engineering, 19(6), 066020.
    """

    def __init__(self, *, probability=0.5, p_drop=0.2):
        self.probability = probability
        self.p_drop = p_drop

    def _check(self):
        super()._check()
        _check_real(type(self).__name__, "p_drop", self.p_drop, 0.0, 1.0)
        return self

    def _transform(self, X, y, generator):
        batch, n_channels, _ = X.shape
        drop = torch.rand(batch, n_channels, 1, generator=generator, device=X.device) < self.p_drop
        return X.masked_fill(drop, 0.0), y


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

    def __init__(self, *, probability=0.5, mask_len_samples=100):
        self.probability = probability
        self.mask_len_samples = mask_len_samples

    def _check(self):
        super()._check()
        _check_int(type(self).__name__, "mask_len_samples", self.mask_len_samples, 1)
        return self

    def _transform(self, X, y, generator):
        batch, _, n_times = X.shape
        length = int(self.mask_len_samples)
        if length > n_times:
            raise ValueError(
                f"SmoothTimeMask: mask_len_samples={length} is longer than the "
                f"trials ({n_times} samples)."
            )
        dtype = _work_dtype(X)
        start = torch.rand(batch, 1, 1, generator=generator, device=X.device, dtype=dtype)
        start = start * (n_times - length)
        t = torch.arange(n_times, device=X.device, dtype=dtype)
        mask = torch.sigmoid(start - t) + torch.sigmoid(t - start - length)
        return (X * mask).to(X.dtype), y


def _frequency_shift(X, shift_hz, sfreq):
    """Shift the spectrum of every channel by ``shift_hz`` Hz (one value per trial).

    The real signal is turned into its analytic signal (negative frequencies
    removed, positive doubled: its real part is the signal), multiplied by
    ``exp(2j pi shift t)`` and its real part kept. The trials are zero-padded
    to at least twice their length first, so that the analytic signal of one
    end does not wrap around onto the other.

    Parameters
    ----------
    X : torch.Tensor of shape (batch, n_channels, n_times)
    shift_hz : torch.Tensor of shape (batch,)
        Shift of each trial in Hz, on X's device.
    sfreq : float
        Sampling frequency in Hz.

    Returns
    -------
    torch.Tensor of shape (batch, n_channels, n_times), X's dtype.
    """
    n_times = X.shape[-1]
    dtype = _work_dtype(X)
    n_fft = 1 << (2 * n_times - 1).bit_length()  # a power of two >= 2 n_times
    spectrum = torch.fft.rfft(X.to(dtype), n=n_fft, dim=-1)
    gain = torch.full((spectrum.shape[-1],), 2.0, dtype=dtype, device=X.device)
    gain[0] = gain[-1] = 1.0  # DC and Nyquist appear once in a real spectrum
    negative = spectrum.new_zeros(spectrum.shape[:-1] + (n_fft - spectrum.shape[-1],))
    analytic = torch.fft.ifft(torch.cat([spectrum * gain, negative], dim=-1), dim=-1)
    analytic = analytic[..., :n_times]
    t = torch.arange(n_times, device=X.device, dtype=dtype) / sfreq
    phase = 2 * math.pi * shift_hz.to(dtype)[:, None, None] * t
    shifted = analytic * torch.polar(torch.ones_like(phase), phase)
    return shifted.real.to(X.dtype)


class FrequencyShift(Transform):
    """Shift the whole spectrum of trials by a random frequency.

    Each trial drawn has all its channels' frequencies moved by the same
    shift, drawn uniformly in ``[-max_delta_freq, max_delta_freq]`` Hz: a
    10 Hz rhythm shifted by 2 Hz becomes a 12 Hz rhythm. The shift multiplies
    the analytic signal (computed with ``torch.fft``, the trials zero-padded
    to at least twice their length) by ``exp(2j pi shift t)`` and keeps the
    real part. Content shifted below 0 Hz folds back to positive
    frequencies.

    Parameters
    ----------
    sfreq : float
        Sampling frequency of the trials in Hz (> 0). Required.
    probability : float, default=0.5
        Probability, in [0, 1], that a trial is shifted.
    max_delta_freq : float, default=2.0
        Largest shift in Hz, in absolute value (>= 0 and below the Nyquist
        frequency ``sfreq / 2``).

    References
    ----------
    .. [1] Rommel, C., Moreau, T., Paillard, J., & Gramfort, A. (2022).
       CADDA: Class-wise automatic differentiable data augmentation for EEG
       signals. ICLR 2022. arXiv:2106.13695.
    .. [2] Rommel, C., Paillard, J., Moreau, T., & Gramfort, A. (2022). Data
       augmentation for learning predictive models on EEG: a systematic
       comparison. Journal of Neural Engineering, 19(6), 066020.
    """

    def __init__(self, *, sfreq, probability=0.5, max_delta_freq=2.0):
        self.sfreq = sfreq
        self.probability = probability
        self.max_delta_freq = max_delta_freq

    def _check(self):
        super()._check()
        name = type(self).__name__
        _check_real(name, "sfreq", self.sfreq, low=0.0, low_open=True)
        _check_real(
            name, "max_delta_freq", self.max_delta_freq, 0.0, self.sfreq / 2, high_open=True
        )
        return self

    def _transform(self, X, y, generator):
        if X.shape[0] == 0:  # no trial: nothing to shift (FFTs refuse empty batches)
            return X, y
        dtype = _work_dtype(X)
        u = torch.rand(X.shape[0], generator=generator, device=X.device, dtype=dtype)
        shift = (2 * u - 1) * self.max_delta_freq
        return _frequency_shift(X, shift, float(self.sfreq)), y


class AmplitudeScale(Transform):
    """Multiply trials by a random gain.

    Each trial drawn is multiplied by one gain, the same for all its channels
    and samples, drawn uniformly in ``interval``.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that a trial is rescaled.
    interval : tuple of two floats, default=(0.5, 2.0)
        ``(low, high)``, with ``0 < low <= high``: the range of the gain
        (braindecode's default range).

    References
    ----------
    .. [1] Mohsenvand, M. N., Izadi, M. R., & Maes, P. (2020). Contrastive
       representation learning for electroencephalogram classification.
       ML4H, PMLR 136, 238-253.
    """

    def __init__(self, *, probability=0.5, interval=(0.5, 2.0)):
        self.probability = probability
        self.interval = interval

    def _check(self):
        super()._check()
        name = type(self).__name__
        interval = self.interval
        if not isinstance(interval, (tuple, list, np.ndarray)) or np.ndim(interval) != 1 \
                or len(interval) != 2:
            raise ValueError(
                f"{name}: interval must be a pair (low, high) of gains, got {interval!r}."
            )
        low, high = interval
        _check_real(name, "interval[0]", low, low=0.0, low_open=True)
        _check_real(name, "interval[1]", high, low=low)
        return self

    def _transform(self, X, y, generator):
        low, high = (float(v) for v in self.interval)
        u = torch.rand(X.shape[0], 1, 1, generator=generator, device=X.device, dtype=X.dtype)
        return X * (low + (high - low) * u), y


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

    def __init__(self, *, probability=0.5, max_shift=25, mode="zeros"):
        self.probability = probability
        self.max_shift = max_shift
        self.mode = mode

    def _check(self):
        super()._check()
        name = type(self).__name__
        _check_int(name, "max_shift", self.max_shift, 0)
        if not isinstance(self.mode, str) or self.mode not in TIME_SHIFT_MODES:
            raise ValueError(
                f"{name}: mode must be one of {TIME_SHIFT_MODES}, got {self.mode!r}."
            )
        return self

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


def _beta(alpha, shape, generator, device):
    """Draw Beta(alpha, alpha) in float64 from ``generator``.

    torch's public distributions draw from the global generator only;
    ``torch._standard_gamma``, the sampler behind
    ``torch.distributions.Gamma``, takes a generator. Beta(a, a) is
    G1 / (G1 + G2) with G1, G2 ~ Gamma(a) independent.
    """
    concentration = torch.full(
        (2,) + tuple(shape), float(alpha), dtype=torch.float64, device=device
    )
    gamma = torch._standard_gamma(concentration, generator=generator)
    total = gamma[0] + gamma[1]
    # With a small alpha both draws can underflow to 0: any lambda is then
    # as likely as the other, take 1/2.
    return torch.where(total > 0, gamma[0] / total, torch.full_like(total, 0.5))


class Mixup(Transform):
    """Mix pairs of trials of a batch, and their targets (mixup).

    Each trial ``i`` drawn becomes ``lam * X[i] + (1 - lam) * X[j]`` and its
    targets ``lam * y[i] + (1 - lam) * y[j]``, with ``j = perm[i]`` for a
    random permutation ``perm`` of the batch (``j`` may be ``i``) and ``lam``
    drawn from Beta(alpha, alpha), once per batch (Zhang et al.'s recipe) or
    once per trial. The mixed targets are soft: rows that summed to 1 still
    do, so the loss must accept soft targets. Trials not drawn keep their
    trial and targets.

    Parameters
    ----------
    probability : float, default=1.0
        Probability, in [0, 1], that a trial is mixed. 1 mixes the whole
        batch, as in Zhang et al. and braindecode.
    alpha : float, default=0.2
        Parameter (> 0) of the symmetric Beta distribution of ``lam``. Small
        values keep ``lam`` near 0 or 1 (mild mixing), 1 makes it uniform.
        Zhang et al. found 0.1 to 0.4 best on ImageNet.
    beta_per_sample : bool, default=False
        Draw one ``lam`` per trial instead of one per batch.

    Raises
    ------
    ValueError
        When called with ``y=None``: mixup needs the targets to mix.

    References
    ----------
    .. [1] Zhang, H., Cisse, M., Dauphin, Y. N., & Lopez-Paz, D. (2018).
       mixup: Beyond empirical risk minimization. International Conference
       on Learning Representations (ICLR). arXiv:1710.09412.
    .. [2] Rommel, C., Paillard, J., Moreau, T., & Gramfort, A. (2022). Data
       augmentation for learning predictive models on EEG: a systematic
       comparison. Journal of Neural Engineering, 19(6), 066020.
    """

    def __init__(self, *, probability=1.0, alpha=0.2, beta_per_sample=False):
        self.probability = probability
        self.alpha = alpha
        self.beta_per_sample = beta_per_sample

    def _check(self):
        super()._check()
        name = type(self).__name__
        _check_real(name, "alpha", self.alpha, low=0.0, low_open=True)
        if not isinstance(self.beta_per_sample, bool):
            raise ValueError(
                f"{name}: beta_per_sample must be True or False, got {self.beta_per_sample!r}."
            )
        return self

    def _transform(self, X, y, generator):
        if y is None:
            raise ValueError(
                "Mixup mixes the targets as well as the trials: call it with y, the "
                "(batch, n_classes) soft targets (one-hot rows for ordinary labels)."
            )
        batch = X.shape[0]
        perm = torch.randperm(batch, generator=generator, device=X.device)
        lam = _beta(self.alpha, (batch if self.beta_per_sample else 1,), generator, X.device)
        lam = lam.expand(batch)
        lam_X = lam.to(X.dtype)[:, None, None]
        lam_y = lam.to(y.dtype)[:, None]
        return lam_X * X + (1 - lam_X) * X[perm], lam_y * y + (1 - lam_y) * y[perm]


# ----------------------------------------------------------------------
# Lists of transforms
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
        If a transform's parameters are invalid.
    """
    if augmentation is None:
        return ()
    if isinstance(augmentation, Transform):
        return (augmentation._check(),)
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
            transform._check()
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
        As :func:`check_augmentation` and the transforms' calls.
    """
    for transform in check_augmentation(transforms):
        X, y = transform(X, y, generator)
    return X, y
