"""Transforms of amplitude: sign flip, noise, gain and dropped channels."""

import torch

from .._constraints import RealPair, RealRange
from ._base import Transform

# Largest noise std and gain: the transforms see trials of unit standard
# deviation (skeeg's classifiers standardise them first), and noise a million
# times larger leaves the signal about one of float32's 7 significant digits;
# a larger gain only brings float32's overflow (3.4e38) nearer.
MAX_NOISE_STD = 1e6
MAX_GAIN = 1e6


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
        Standard deviation of the noise, in [0, 1e6], in the units of X: absolute,
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

    _parameter_constraints = {
        **Transform._parameter_constraints,
        "std": [RealRange(0, MAX_NOISE_STD, closed="both")],
    }

    def __init__(self, *, probability=0.5, std=0.1):
        self.probability = probability
        self.std = std

    def _transform(self, X, y, generator):
        noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
        return X + float(self.std) * noise, y


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

    _parameter_constraints = {
        **Transform._parameter_constraints,
        "p_drop": [RealRange(0, 1, closed="both")],
    }

    def __init__(self, *, probability=0.5, p_drop=0.2):
        self.probability = probability
        self.p_drop = p_drop

    def _transform(self, X, y, generator):
        batch, n_channels, _ = X.shape
        draws = torch.rand(batch, n_channels, 1, generator=generator, device=X.device)
        drop = draws < float(self.p_drop)
        return X.masked_fill(drop, 0.0), y


class AmplitudeScale(Transform):
    """Multiply trials by a random gain.

    Each trial drawn is multiplied by one gain, the same for all its channels
    and samples, drawn uniformly in ``interval``.

    Parameters
    ----------
    probability : float, default=0.5
        Probability, in [0, 1], that a trial is rescaled.
    interval : tuple of two floats, default=(0.5, 2.0)
        ``(low, high)``, with ``0 < low <= high <= 1e6``: the range of the
        gain (braindecode's default range). A list or a 1-D array of two
        numbers is taken too.

    References
    ----------
    .. [1] Mohsenvand, M. N., Izadi, M. R., & Maes, P. (2020). Contrastive
       representation learning for electroencephalogram classification.
       ML4H, PMLR 136, 238-253.
    """

    _parameter_constraints = {
        **Transform._parameter_constraints,
        "interval": [RealPair(0, MAX_GAIN, closed="right")],
    }

    def __init__(self, *, probability=0.5, interval=(0.5, 2.0)):
        self.probability = probability
        self.interval = interval

    def _transform(self, X, y, generator):
        low, high = (float(v) for v in self.interval)
        u = torch.rand(X.shape[0], 1, 1, generator=generator, device=X.device, dtype=X.dtype)
        return X * (low + (high - low) * u), y
