"""Prediction: standardise, run the network, average crops, give probabilities.

One module for every path that evaluates a fitted network, so that they
cannot drift: ``predict_proba`` and ``predict``, the validation scores of
training (``SkeegNet.infer`` uses :func:`network_logits`), ``embed``
(:meth:`Evaluation.batches`) and both exports (:class:`ProbabilityModel`,
traced). The fitted state is read from the estimator (``channel_mean_``,
``scale_``, the network the net holds and the crops it was trained on).
Trials are evaluated in bounded chunks everywhere: batches of trials here,
batches of crops in :func:`skeeg._training.average_crops`, inside exported
graphs too.
"""

import contextlib
from typing import List

import numpy as np
import torch
from scipy.special import expit, softmax

from ._fast import folded_forward
from ._memory import named_allocation_failures
from ._training import PRECISIONS, Standardizer, as_tensor, average_crops, crop_starts
from ._training import float32_defaults

# Trials per forward pass at prediction time: large enough to keep the
# arithmetic efficient, small enough that memory stays bounded. Larger
# batches are slower, not faster, on the CPU: intermediates of tens of MB
# are fresh memory from the system at every batch (page faults), whereas a
# few MB are reused (1024 trials ran 1.8x slower per trial than 64).
PREDICT_BATCH_SIZE = 64
# A GPU needs larger batches to be kept busy.
GPU_PREDICT_BATCH_SIZE = 1024
# Smaller batches predict on one thread: their operations are too small to
# share, and waiting for a busy second core costs more than the work.
SINGLE_THREAD_TRIALS = 8
# Crop positions per pass of an exported graph, whose batch size is free:
# its peak memory is that of ``batch * EXPORT_CROPS_PER_PASS`` crops, not of
# every crop of every trial at once.
EXPORT_CROPS_PER_PASS = 16


def fitted_standardizer(est):
    """The input scaling learned in ``fit``, or None where it is the identity.

    ``standardize=False`` fits record ``channel_mean_ = 0`` and ``scale_ =
    1``; read from the fitted attributes, a later ``set_params(standardize=
    ...)`` cannot change what a fitted network is fed.
    """
    mean, scale = est.channel_mean_, est.scale_
    if scale == 1.0 and not np.any(mean):
        return None
    return Standardizer(mean, scale)


def fitted_crops(est):
    """``(crop_length, crop_stride)`` the fitted network predicts whole trials with, or None."""
    length = getattr(est.net_, "crop_length", None)
    if length is None or length >= est.n_times_:
        return None
    return int(length), int(est.net_.crop_stride)


def network_logits(forward, trials, crops, max_crops=None, crops_per_pass=None):
    """Logits of standardised trials: the network's, or those of its crops' mean probabilities.

    Parameters
    ----------
    forward : callable
        The network: ``(n, n_channels, length) -> (n, n_outputs)`` logits.
    trials : torch.Tensor of shape (batch, n_channels, n_times)
    crops : tuple (crop_length, crop_stride) or None
        See :func:`fitted_crops`; None runs ``forward`` on whole trials.
    max_crops, crops_per_pass : int or None
        Bound of one pass over crops (see
        :func:`skeeg._training.average_crops`).
    """
    if crops is None or trials.shape[-1] <= crops[0]:
        return forward(trials)
    return average_crops(forward, trials, crops[0], crops[1], max_crops or 1,
                         crops_per_pass=crops_per_pass)


def logits_to_proba(logits):
    """Class probabilities from logits: sigmoid for one logit, else softmax.

    Works on torch tensors (skorch calls it during training to score
    accuracy; the exports run it in their graphs) and returns ``(n,
    n_classes)`` in both cases.
    """
    if logits.shape[1] == 1:
        positive = torch.sigmoid(logits)
        return torch.cat([1 - positive, positive], dim=1)
    return torch.softmax(logits, dim=1)


def logits_to_proba_numpy(logits):
    """Float64 version of :func:`logits_to_proba` for numpy logits.

    scipy's ``expit`` and ``softmax`` stay finite and silent for logits of
    any size.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape[1] == 1:
        positive = expit(logits)
        return np.hstack([1.0 - positive, positive])
    return softmax(logits, axis=1)


class Evaluation:
    """A fitted classifier's network, ready to evaluate validated trials in bounded batches.

    Parameters
    ----------
    est : skeeg classifier
        Fitted.
    fast : bool, default=True
        Use the module's folded CPU function where it has one
        (:func:`skeeg._fast.folded_forward`); False runs its own forward
        (``embed``, which hooks its layers).
    """

    def __init__(self, est, fast=True):
        self.module = est.net_.module_
        self.dtype = PRECISIONS[est.net_.precision]
        forward, device = (None, None)
        if fast and self.dtype is None:
            forward, device = folded_forward(self.module)
        if forward is None:
            forward = self.module
            device = next(self.module.parameters()).device
        self.forward, self.device = forward, device
        self.standardize = fitted_standardizer(est)
        self.crops = fitted_crops(est)
        self.step = PREDICT_BATCH_SIZE if device.type == "cpu" else GPU_PREDICT_BATCH_SIZE
        self.name, self.trial_shape = type(est).__name__, (est.n_channels_, est.n_times_)

    @contextlib.contextmanager
    def _context(self, n_trials):
        """Evaluation mode, no autograd, the trained precision; one thread for a few trials.

        An allocation failure inside is raised as
        :class:`skeeg._memory.AllocationError`, naming the trials' shape.
        """
        threads = torch.get_num_threads()
        single = n_trials < SINGLE_THREAD_TRIALS and threads > 1
        # The folded function has no training mode; the module's own forward
        # runs in evaluation mode (a walk over its layers: only when needed).
        switch = self.forward is self.module and self.module.training
        precision = (contextlib.nullcontext() if self.dtype is None else
                     torch.autocast(self.device.type, dtype=self.dtype, cache_enabled=False))
        if single:
            torch.set_num_threads(1)
        try:
            if switch:
                self.module.eval()
            memory = named_allocation_failures(
                f"{self.name}'s evaluation", (n_trials, *self.trial_shape),
                f"the evaluation of {self.step} trials per pass on {self.device}",
                advice=(f"Trials are evaluated {self.step} at a time, however many are "
                        "passed: this network does not fit this device's memory at this "
                        "input size. Use a device with more memory, or fit again on fewer "
                        "channels or samples per trial."),
            )
            with memory, float32_defaults(), torch.inference_mode(), precision:
                yield
        finally:
            if switch:
                self.module.train()
            if single:
                torch.set_num_threads(threads)

    def batches(self, X):
        """``(start, standardised batch on the network's device)`` for ``X`` in chunks.

        Iterate inside :meth:`running`.
        """
        for start in range(0, len(X), self.step):
            batch = as_tensor(X[start : start + self.step]).to(self.device)
            if self.standardize is not None:
                batch = self.standardize(batch)
            yield start, batch

    def running(self, n_trials):
        """The context the batches are evaluated in (see :meth:`batches`)."""
        return self._context(n_trials)

    def logits(self, X):
        """Logits ``(n_trials, n_outputs)`` float32 of validated trials."""
        out = np.empty((len(X), self.module.n_outputs), dtype=np.float32)
        with self.running(len(X)):
            for start, batch in self.batches(X):
                logits = network_logits(self.forward, batch, self.crops, self.step)
                out[start : start + len(batch)] = logits.float().cpu().numpy()
        return out


def logits(est, X):
    """Logits of validated float32 trials; refuses non-finite outputs.

    Raises
    ------
    ValueError
        If the network's output is not finite for some trial (trials far
        outside anything seen in fit).
    """
    out = Evaluation(est).logits(X)
    if not np.isfinite(out).all():
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        raise ValueError(
            f"The network's output is not finite for {len(bad)} of {len(X)} trials (the "
            f"first is trial {bad[0]}, whose largest absolute value is "
            f"{np.abs(X[bad[0]]).max():.3g}; the training trials had a spread of "
            f"{est.scale_:.3g} around their channel means). Such values are far outside "
            "anything seen in fit: check the unit and scaling of these trials."
        )
    return out


class ProbabilityModel(torch.nn.Module):
    """Standardisation, a network in evaluation mode, crop averaging and probabilities.

    What ``predict_proba`` computes, as one module that can be traced: raw
    trials float32 ``(batch, n_channels, n_times)`` to probabilities
    ``(batch, n_classes)``. Crops are averaged by
    :func:`skeeg._training.average_crops`, ``EXPORT_CROPS_PER_PASS`` crop
    positions per pass of the network.

    Parameters
    ----------
    network : torch.nn.Module
        Maps float32 ``(batch, n_channels, length)`` to logits ``(batch,
        n_outputs)``.
    offset : ndarray of shape (n_channels,) or None
        Subtracted from each channel; None for no standardisation.
    scale : float or None
        Divides the centred trials (multiplied by ``float32(1 / scale)``, as
        ``predict_proba`` does).
    crops : tuple (crop_length, crop_stride) or None
        The crops of a network trained on crops (:func:`fitted_crops`).
    """

    def __init__(self, network, offset=None, scale=None, crops=None):
        super().__init__()
        self.network = network
        self.standardize = offset is not None
        if self.standardize:
            self.register_buffer("offset", torch.from_numpy(np.array(offset, np.float32))[:, None])
            self.register_buffer("inverse_scale", torch.tensor(np.float32(1.0 / scale)))
        self.crops = crops

    def forward(self, trials):
        """Probabilities ``(batch, n_classes)`` of raw trials ``(batch, n_channels, n_times)``."""
        finite = torch.isfinite(trials).flatten(1).all(dim=1, keepdim=True)
        if self.standardize:
            trials = (trials - self.offset) * self.inverse_scale
        logits = network_logits(self.network, trials, self.crops,
                                crops_per_pass=EXPORT_CROPS_PER_PASS)
        # A trial holding NaN or infinity gets NaN probabilities, whatever the
        # network does with them (max-pooling can drop a NaN), and so does one
        # whose logits are not finite (predict_proba refuses both): exported
        # graphs cannot raise, so their output must show it.
        finite = finite & torch.isfinite(logits).all(dim=1, keepdim=True)
        return torch.where(finite, logits_to_proba(logits), torch.nan)


class TrialChunks(torch.nn.Module):
    """A model evaluated ``step`` trials at a time, for scripting around a traced model.

    A traced graph runs the whole batch it is given in one pass; scripted,
    this loop bounds an exported model's memory to that of ``step`` trials
    whatever the batch, as ``predict_proba`` bounds its own.

    Parameters
    ----------
    model : torch.nn.Module
        Traced: ``(batch, n_channels, n_times) -> (batch, n_classes)``.
    step : int
        Trials per pass.
    """

    def __init__(self, model, step: int):
        super().__init__()
        self.model = model
        self.step = step

    def forward(self, trials: torch.Tensor) -> torch.Tensor:
        if trials.size(0) <= self.step:
            return self.model(trials)
        parts: List[torch.Tensor] = []
        for start in range(0, trials.size(0), self.step):
            parts.append(self.model(trials[start : start + self.step]))
        return torch.cat(parts, 0)


def export_step(est):
    """Trials per pass of an exported model: ``predict_proba``'s crops or trials per pass."""
    if fitted_crops(est) is None:
        return PREDICT_BATCH_SIZE
    return max(1, PREDICT_BATCH_SIZE // EXPORT_CROPS_PER_PASS)


def probability_model(est, network):
    """:class:`ProbabilityModel` of a fitted classifier around ``network`` (a copy of its own)."""
    standardizer = fitted_standardizer(est)
    offset, scale = (None, None) if standardizer is None else (
        standardizer.offset, standardizer.scale
    )
    return ProbabilityModel(network, offset, scale, fitted_crops(est)).eval()


def crop_positions(est):
    """The crops' first samples for the sidecar, or None (see :func:`fitted_crops`)."""
    crops = fitted_crops(est)
    return None if crops is None else crop_starts(int(est.n_times_), *crops)

