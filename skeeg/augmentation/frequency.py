"""Transform of frequency: a shift of the whole spectrum."""

import math

import torch

from .._constraints import SFREQ_RANGE, RealRange, refuse
from ._base import Transform, work_dtype


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
    dtype = work_dtype(X)
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
        Sampling frequency of the trials in Hz, in [1e-3, 1e6]. Required.
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

    _parameter_constraints = {
        **Transform._parameter_constraints,
        "sfreq": [RealRange(*SFREQ_RANGE, closed="both")],
        "max_delta_freq": [RealRange(0, None, closed="left")],
    }

    def __init__(self, *, sfreq, probability=0.5, max_delta_freq=2.0):
        self.sfreq = sfreq
        self.probability = probability
        self.max_delta_freq = max_delta_freq

    def _check_cross_params(self):
        """``max_delta_freq`` below the Nyquist frequency ``sfreq / 2``."""
        nyquist = float(self.sfreq) / 2
        if not float(self.max_delta_freq) < nyquist:
            refuse(self, "max_delta_freq", f"below the Nyquist frequency sfreq / 2 = "
                   f"{nyquist:g} Hz (sfreq={self.sfreq!r})", self.max_delta_freq)

    def _transform(self, X, y, generator):
        if X.shape[0] == 0:  # no trial: nothing to shift (FFTs refuse empty batches)
            return X, y
        dtype = work_dtype(X)
        u = torch.rand(X.shape[0], generator=generator, device=X.device, dtype=dtype)
        shift = (2 * u - 1) * float(self.max_delta_freq)
        return _frequency_shift(X, shift, float(self.sfreq)), y
