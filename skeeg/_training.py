"""Pieces of the training loop that skorch is configured with.

skorch runs the loop (callbacks, history, validation, early stopping); these
pieces make it fast on whole EEG arrays and give it the losses and optimisers
the studies use.
"""

import warnings

import numpy as np
import torch
from torch import nn

OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
}


def resolve_optimizer(optimizer):
    """Return ``(optimizer_class, extra_kwargs)`` for a name or a class.

    Parameters
    ----------
    optimizer : str or subclass of torch.optim.Optimizer
        One of ``OPTIMIZERS`` (any case), or an optimiser class.
    """
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer, {}
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]
    raise ValueError(
        f"optimizer={optimizer!r} is not supported; use one of "
        f"{sorted(OPTIMIZERS)} or a torch.optim.Optimizer subclass."
    )


def resolve_device(device):
    """Map ``"auto"`` to ``"cuda"`` when a GPU is available, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"device must be 'cpu', 'cuda', 'auto' or a torch.device; got {device!r}."
        )
    try:
        device = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"device={device!r} is not a device torch knows; use 'cpu', 'cuda', 'cuda:N' "
            "or 'auto'."
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested but no CUDA device is available; "
            "use device='cpu' or device='auto'."
        )
    return str(device)


def as_tensor(array):
    """Share an array's memory with a tensor, without copying.

    The data is never written to, so a read-only array (a memory map, say)
    is shared too; torch would otherwise warn that it is not writable.
    """
    if not isinstance(array, np.ndarray) or array.flags.writeable:
        return torch.as_tensor(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(array)


class BatchIterator:
    """Mini-batches cut from whole arrays, for skorch's ``iterator_train``.

    PyTorch's ``DataLoader`` indexes one trial at a time and collates the
    trials into a batch; EEG trials already sit in one array, so slicing it
    (or gathering a shuffled index) is all a batch needs.

    A final batch of a single trial is merged into the one before it:
    batch normalisation cannot train on one trial.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (float32 array or tensor) and ``y`` (int64 array or None).
    batch_size : int
        Trials per batch.
    shuffle : bool
        Draw a new order every epoch, from torch's global generator (which
        the estimator seeds from its ``random_state``).
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.X = as_tensor(dataset.X)
        # Labels and the batch order live where the trials do (on a GPU
        # when the estimator put them there), so batches need no copies.
        self.y = None if dataset.y is None else as_tensor(dataset.y).to(self.X.device)
        self.batch_size = batch_size
        self.shuffle = shuffle

    def _bounds(self):
        n = len(self.X)
        starts = list(range(0, n, self.batch_size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return list(zip(starts, starts[1:] + [n]))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        order = torch.randperm(len(self.X), device=self.X.device) if self.shuffle else None
        for start, stop in self._bounds():
            if order is None:
                Xb = self.X[start:stop]
                yb = None if self.y is None else self.y[start:stop]
            else:
                index = order[start:stop]
                Xb = self.X.index_select(0, index)
                yb = None if self.y is None else self.y.index_select(0, index)
            yield Xb, yb


class WeightedBCEWithLogits(nn.Module):
    """Binary cross-entropy on one logit, with optional class weights.

    Takes the integer class targets that skorch passes (0 or 1) and logits of
    shape ``(batch, 1)``. Class weights give a weighted mean, exactly as
    ``nn.CrossEntropyLoss(weight=...)`` does for several logits, so the two
    losses treat ``class_weight`` alike.

    Parameters
    ----------
    weight : torch.Tensor of shape (2,) or None
        Weight of class 0 and class 1.
    """

    def __init__(self, weight=None):
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, logits, target):
        target = target.to(logits.dtype)
        losses = nn.functional.binary_cross_entropy_with_logits(
            logits[:, 0], target, reduction="none"
        )
        if self.weight is None:
            return losses.mean()
        weights = self.weight.to(logits.dtype)[target.long()]
        return (losses * weights).sum() / weights.sum()


def logits_to_proba(logits):
    """Class probabilities from logits: sigmoid for one logit, else softmax.

    Works on torch tensors (skorch calls it during training to score
    accuracy) and returns ``(n, n_classes)`` in both cases.
    """
    if logits.shape[1] == 1:
        positive = torch.sigmoid(logits)
        return torch.cat([1 - positive, positive], dim=1)
    return torch.softmax(logits, dim=1)


def logits_to_proba_numpy(logits):
    """Float64 version of :func:`logits_to_proba` for numpy logits."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-logits))
        return np.hstack([1.0 - positive, positive])
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
