"""Transform that mixes trials and their targets: mixup."""

import torch

from .._constraints import RealRange
from ._base import Transform

# Largest alpha: Beta(alpha, alpha) has standard deviation 1 / (2 sqrt(2 alpha + 1)),
# 3.5e-7 at 1e12, a few float32 steps around 0.5: lam is then 0.5 to float32's
# precision, and near 1e308 the sum of the gamma draws overflows.
MAX_ALPHA = 1e12


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
        Parameter, in (0, 1e12], of the symmetric Beta distribution of
        ``lam``. Small values keep ``lam`` near 0 or 1 (mild mixing), 1
        makes it uniform. Zhang et al. found 0.1 to 0.4 best on ImageNet.
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

    _parameter_constraints = {
        **Transform._parameter_constraints,
        "alpha": [RealRange(0, MAX_ALPHA, closed="right")],
        "beta_per_sample": ["boolean"],
    }

    def __init__(self, *, probability=1.0, alpha=0.2, beta_per_sample=False):
        self.probability = probability
        self.alpha = alpha
        self.beta_per_sample = beta_per_sample

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
