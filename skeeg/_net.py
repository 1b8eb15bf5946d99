"""The skorch net that skeeg's classifiers train: mixed precision and CUDA graphs.

On a GPU these networks are too small to keep it busy: an EEGNet step is a
hundred or so kernels of a few microseconds each, and launching them from
Python costs more than running them. Capturing the whole step (forward, loss,
backward, optimiser step) once in a CUDA graph and replaying it per batch
launches all of them at the cost of one. The loop, callbacks and history stay
skorch's.
"""

import inspect

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping

# Compute dtypes of the forward passes; None means no autocast.
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}

# Eager steps of a batch shape before its capture: they create the
# optimiser's state and let cuDNN and cuBLAS set up their workspaces, which
# must happen outside a capture.
WARMUP_STEPS = 3
# Batch shapes captured per fit: the full batches and the epoch's last one.
MAX_GRAPHS = 2


def capture_kwargs(optimizer_class):
    """Optimiser arguments that make its ``step`` capturable, or None if it cannot be.

    Adam, AdamW and RMSprop keep their step count on the GPU only with
    ``capturable=True``; SGD keeps none and needs nothing. Others (Adagrad's
    step count lives on the CPU) train eagerly.
    """
    if "capturable" in inspect.signature(optimizer_class.__init__).parameters:
        return {"capturable": True}
    if optimizer_class is torch.optim.SGD:
        return {}
    return None


def acts_on_gradients(callbacks):
    """Whether a callback hooks ``on_grad_computed``, which a captured step would skip."""
    return any(
        type(callback).on_grad_computed is not Callback.on_grad_computed
        for _, callback in callbacks
    )


class CapturedStep:
    """A training step recorded in a CUDA graph, with the tensors it reads and writes.

    Replaying the graph reruns the recorded kernels on the same memory: copy a
    batch into ``X`` and ``y``, replay, and read ``loss`` and ``y_pred``.
    """

    def __init__(self, net, X, y):
        self.X, self.y = X.clone(), y.clone()
        # Gradients are created inside the capture, in the graph's own
        # memory, so that each replay writes them afresh (no zeroing needed).
        net.optimizer_.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            y_pred = net.infer(self.X)
            loss = net.get_loss(y_pred, self.y, X=self.X, training=True)
            loss.backward()
            net.optimizer_.step()
        # Detached, so that the recorded autograd graph is freed: kept alive,
        # eager steps would reuse its gradient nodes from the capture's stream.
        self.y_pred, self.loss = y_pred.detach(), loss.detach()

    def __call__(self, X, y):
        self.X.copy_(X)
        self.y.copy_(y)
        self.graph.replay()
        # The outputs are overwritten by the next replay; callbacks keep them.
        return {"loss": self.loss.clone(), "y_pred": self.y_pred.clone()}


class SkeegNet(NeuralNetClassifier):
    """skorch's ``NeuralNetClassifier`` with skeeg's training step.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNetClassifier`.
    precision : {"float32", "bfloat16"}, default="float32"
        Compute dtype of the forward passes and the loss; ``"bfloat16"`` runs
        them under ``torch.autocast`` while the weights, gradients and
        optimiser state stay float32.
    cuda_graph : bool, default=False
        On a CUDA device, capture the training step in a CUDA graph per batch
        size (the full batches and the epoch's last, smaller one: at most
        ``MAX_GRAPHS``), each after ``WARMUP_STEPS`` eager steps of that
        size, and replay it. The optimiser must have been built capturable
        (see :func:`capture_kwargs`); fit parameters or ``on_grad_computed``
        callbacks run the eager step.

    Attributes
    ----------
    graph_replays_ : int
        Training steps replayed from the graph in the last ``fit``.
    """

    # skorch pickles these through ``torch.save`` and maps their tensors to the
    # CPU when loaded where there is no GPU. Beyond skorch's own (``module_``,
    # ``criterion_``, ``optimizer_``): the constructor's module and criterion,
    # which are the same objects as the fitted ones, and the callbacks, which
    # may hold tensors of their own.
    cuda_dependent_attributes_ = ["module", "criterion", "callbacks"]

    def __init__(self, *args, precision="float32", cuda_graph=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.cuda_graph = cuda_graph

    def release_training_state(self):
        """Drop what only training needed, so that a fitted net holds no trials.

        The validation split (``train_split`` holds its indices), early
        stopping's copy of the best weights (already restored) and any
        callback's data (callbacks with a ``release`` method) go.
        """
        self.train_split = None
        for _, callback in self.callbacks_:
            if isinstance(callback, EarlyStopping):
                callback.best_model_weights_ = None
            release = getattr(callback, "release", None)
            if callable(release):
                release()

    # ------------------------------------------------------------------
    # Mixed precision
    def infer(self, x, **fit_params):
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return super().infer(x, **fit_params)
        # No weight-cast cache: each weight is used once per pass, and a
        # cache would hold tensors from outside a graph capture.
        with torch.autocast(torch.device(self.device).type, dtype=dtype, cache_enabled=False):
            return super().infer(x, **fit_params).float()

    # ------------------------------------------------------------------
    # CUDA graph
    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.captured_steps_, self.warmup_steps_, self.graph_replays_ = {}, {}, 0
        self.capture_ = (
            self.cuda_graph
            and torch.device(self.device).type == "cuda"
            and not acts_on_gradients(self.callbacks_)
        )

    def on_train_end(self, net, **kwargs):
        # A graph holds memory and cannot be pickled; it is rebuilt by the next fit.
        self.captured_steps_ = {}
        self.optimizer_.zero_grad(set_to_none=True)
        super().on_train_end(net, **kwargs)

    def train_step(self, batch, **fit_params):
        """One optimiser step: eager, a warm-up before a capture, or a graph replay."""
        X, y = batch
        size = len(X)
        captured = getattr(self, "captured_steps_", {})
        if (
            not getattr(self, "capture_", False)
            or fit_params
            or (size not in captured and len(captured) == MAX_GRAPHS)
        ):
            return self._eager_step(batch, **fit_params)
        self._set_training(True)
        if size not in captured and self.warmup_steps_.get(size, 0) < WARMUP_STEPS:
            self.warmup_steps_[size] = self.warmup_steps_.get(size, 0) + 1
            # On a side stream, as the capture will be.
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream):
                step = self._eager_step(batch)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            return step
        if size not in captured:
            captured[size] = CapturedStep(self, X, y)  # records, does not run
        self.graph_replays_ += 1
        return captured[size](X, y)

    def _eager_step(self, batch, **fit_params):
        """skorch's step, with outputs detached from the autograd graph.

        Callbacks keep the outputs until the epoch ends (accuracy is scored
        from them); attached, they would keep every batch's graph alive too.
        """
        step = super().train_step(batch, **fit_params)
        return {key: value.detach() if torch.is_tensor(value) else value
                for key, value in step.items()}

    # ------------------------------------------------------------------
    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's pass over one data split, reading the losses once at its end on a GPU.

        skorch reads each batch's loss (``.item()``) as it goes, which makes
        the CPU wait for the GPU at every batch. On a GPU the batch records
        hold the loss tensor until the pass ends, then its value.
        """
        if iterator is None:
            return
        deferred = torch.device(self.device).type == "cuda"
        records, losses = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            self.history.record_batch(prefix + "_loss", loss if deferred else loss.item())
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            records.append(self.history[-1]["batches"][-1])
            losses.append(loss)
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if deferred and losses:
            for record, value in zip(records, torch.stack(losses).tolist()):
                record[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", len(records))
        self._check_finite(prefix, [record[prefix + "_loss"] for record in records], training)

    def _check_finite(self, prefix, losses, training):
        """Stop a diverging fit with a clear error, as scikit-learn's MLP does.

        A non-finite loss or weight never recovers: every later epoch, early
        stopping's choice of the best one and every prediction would be NaN.
        """
        losses = np.asarray(losses, dtype=np.float64)
        # Batch norm's running statistics are buffers, not parameters, and
        # overflow too: prediction uses them.
        weights_finite = not training or all(
            bool(torch.isfinite(t).all())
            for t in self.module_.state_dict().values()
            if torch.is_floating_point(t)
        )
        if np.isfinite(losses).all() and weights_finite:
            return
        epoch = len(self.history)
        if not np.isfinite(losses).all():
            what = f"the {prefix} loss is {losses[~np.isfinite(losses)][0]}"
        else:
            what = "the network's weights or batch-norm statistics are no longer finite"
        raise ValueError(
            f"Training diverged at epoch {epoch}: {what}. Try a lower learning rate "
            f"(lr={self.lr}), another optimizer, or check the scale of X (values far "
            "from unit size; keep standardize=True)."
        )
