"""The skorch net that skeeg's classifiers train: mixed precision, CUDA graphs, crops and augmentation.

On a GPU these networks are too small to keep it busy: an EEGNet step is a
hundred or so kernels of a few microseconds each, and launching them from
Python costs more than running them. Capturing the whole step (forward, loss,
backward, optimiser step) once in a CUDA graph and replaying it per batch
launches all of them at the cost of one. The loop, callbacks and history stay
skorch's.

Training batches are cropped and augmented in :meth:`SkeegNet.train_step`,
eagerly, before the step (or the captured graph's input copy): the random
draws then come from skeeg's own generators, never from inside a graph.
Whole trials given to a net trained on crops are predicted by averaging
their crops (:meth:`SkeegNet.infer`), in validation as in ``predict``. On
the CPU, batches of a model with registered speed kernels (EEGNet,
DeepConvNet, ShallowFBCSPNet) run through them
(:func:`skeeg._fast.training_forward`): the module's function in fewer passes.
"""

import inspect

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._fast import training_forward
from .augmentation import apply_augmentation
from ._members import n_members, vote
from ._predict import network_logits
from ._training import PRECISIONS, random_crops

# Eager steps of a batch shape before its capture: they create the
# optimiser's state and let cuDNN and cuBLAS set up their workspaces, which
# must happen outside a capture.
WARMUP_STEPS = 3
# Batch shapes captured per fit: the full batches and the epoch's last one.
MAX_GRAPHS = 2
# Crops per forward pass when whole trials are predicted from crops: the
# trials-per-pass of prediction (see skeeg.base), on the CPU and on a GPU.
CPU_CROPS_PER_PASS = 64
GPU_CROPS_PER_PASS = 1024
# Streams of random numbers drawn from a net's seed, one per use, so that
# turning augmentation on or off changes neither the crops nor the batch order.
_STREAMS = {"crop": 1, "augmentation": 2}


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


def _fresh_scheduler(net, policy, **kwargs):
    """skorch's scheduler for ``net``'s optimiser as at the start of a fit."""
    # skorch's LRScheduler passes its instance attributes, this override included.
    kwargs = {k: v for k, v in kwargs.items() if k != "last_epoch" and not k.startswith("_")}
    return policy(net.optimizer_, **kwargs)


def _returns(value):
    """A function of any arguments that returns ``value``."""
    return lambda *args, **kwargs: value


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
        # Members' own losses (skeeg._members.MemberLoss) are written by the
        # replays into the tensor the capture recorded; the loss shows it again.
        self.criterion = net.criterion_
        self.member_losses = getattr(net.criterion_, "last_", None)

    def __call__(self, X, y):
        self.X.copy_(X)
        self.y.copy_(y)
        self.graph.replay()
        if self.member_losses is not None:
            self.criterion.last_ = self.member_losses.clone()
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
    augmentation : tuple of skeeg.augmentation.Transform, default=()
        Applied, in order, to every training batch after cropping, on the
        batch's device, outside any CUDA graph. A transform that mixes
        targets (Mixup) turns the batch's integer labels into soft targets
        ``(batch, n_classes)`` for the loss.
    crop_length : int or None, default=None
        Samples per training crop (the length the module was built for):
        each training trial is replaced by one random crop of it per epoch,
        and longer inputs to :meth:`infer` are predicted by averaging the
        probabilities of their crops. None trains and predicts whole trials.
    crop_stride : int or None, default=None
        Samples between the crops averaged for a prediction (the last crop
        ends at the trial's end). Needed with ``crop_length``.
    random_seed : int or None, default=None
        Seeds the generators of the crops and the augmentation (each its
        own stream). None draws one from torch's global generator.

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

    def __init__(self, *args, precision="float32", cuda_graph=False, augmentation=(),
                 crop_length=None, crop_stride=None, random_seed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.cuda_graph = cuda_graph
        self.augmentation = augmentation
        self.crop_length = crop_length
        self.crop_stride = crop_stride
        self.random_seed = random_seed

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
    # Inference: crops and mixed precision
    def infer(self, x, **fit_params):
        """The module's logits; for trials longer than its crops, those of their crops' mean.

        Training batches arrive already cropped; validation and prediction
        batches hold whole trials, which are scored as ``predict`` scores
        them (:func:`skeeg._predict.network_logits`).
        """
        length = getattr(self, "crop_length", None)  # absent from nets pickled before crops
        if length is not None and not fit_params and torch.is_tensor(x) and x.shape[-1] > length:
            x = to_tensor(x, device=self.device)
            per_pass = CPU_CROPS_PER_PASS if x.device.type == "cpu" else GPU_CROPS_PER_PASS
            return network_logits(self._infer_crops, x, (length, self.crop_stride), per_pass)
        return self._infer_crops(x, **fit_params)

    def _infer_crops(self, x, **fit_params):
        """The module's float32 logits for inputs of its own length, in the net's precision."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return self._forward(x, **fit_params)
        # No weight-cast cache: each weight is used once per pass, and a
        # cache would hold tensors from outside a graph capture.
        with torch.autocast(torch.device(self.device).type, dtype=dtype, cache_enabled=False):
            return self._forward(x, **fit_params).float()

    def _forward(self, x, **fit_params):
        """skorch's inference step, a tensor batch going through skeeg's CPU kernels.

        The module's output as skorch computes it (``module_(x,
        **fit_params)``), but a tensor batch without fit parameters runs
        through :func:`skeeg._fast.training_forward`: the same function, in
        fewer passes where a kernel is registered for the module's class.
        """
        if fit_params:
            return super().infer(x, **fit_params)
        x = to_tensor(x, device=self.device)
        if not torch.is_tensor(x):
            return super().infer(x)
        return training_forward(self.module_, x)

    def notify(self, method_name, **cb_kwargs):
        """skorch's notification; a continued ``partial_fit`` keeps its schedulers.

        skorch's ``LRScheduler`` builds a new torch scheduler at every
        ``on_train_begin``, from the epochs in the history: on an optimiser
        that is continued (``keep_schedulers_``, set by the fit routine for
        ``partial_fit``) that steps it once more per call, and restarts
        schedulers with state of their own (``CosineAnnealingLR``,
        ``ReduceLROnPlateau``). The schedulers of the last call go on instead.
        """
        keep = getattr(self, "keep_schedulers_", False)
        restart = getattr(self, "restart_schedulers_", False)
        if method_name != "on_train_begin" or not (keep or restart):
            return super().notify(method_name, **cb_kwargs)
        schedulers = [c for _, c in self.callbacks_ if isinstance(c, LRScheduler)]
        for callback in schedulers:
            if restart:
                # A fresh optimiser (warm_start fit): a fresh schedule, from its lr,
                # not one resumed at the epochs run (torch refuses that, lacking
                # the optimiser's initial_lr).
                callback._get_scheduler = _fresh_scheduler
            elif getattr(callback, "lr_scheduler_", None) is not None:
                # Building a torch scheduler steps it (and the optimiser's lr): the
                # callback gets its own scheduler back instead of a new one.
                callback._get_scheduler = _returns(callback.lr_scheduler_)
        try:
            super().notify(method_name, **cb_kwargs)
        finally:
            for callback in schedulers:
                vars(callback).pop("_get_scheduler", None)
        return None

    # ------------------------------------------------------------------
    # CUDA graph
    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.captured_steps_, self.warmup_steps_, self.graph_replays_ = {}, {}, 0
        self.generators_ = {}
        self.capture_ = (
            self.cuda_graph
            and torch.device(self.device).type == "cuda"
            and not acts_on_gradients(self.callbacks_)
        )

    def on_train_end(self, net, **kwargs):
        # A graph holds memory and cannot be pickled; it is rebuilt by the next fit.
        self.captured_steps_ = {}
        # Generators are training state; the next fit seeds new ones.
        self.generators_ = {}
        self.optimizer_.zero_grad(set_to_none=True)
        super().on_train_end(net, **kwargs)

    def _generator(self, stream, device, member=0):
        """The generator of one stream of random numbers on ``device``, seeded on first use.

        Seeded from this call's seed (``stream_seed_``, set by the fit
        routine: the fit's seed for its first call, another for each later
        one), else from ``random_seed``.
        """
        generators = self.__dict__.setdefault("generators_", {})
        key = (stream, str(device), member)
        if key not in generators:
            seed = getattr(self, "stream_seed_", None)
            if seed is None:
                seed = self.random_seed
            if seed is None:
                seed = int(torch.randint(2**31 - 1, ()))
            # Distinct, well-mixed seeds per stream: torch's global generator
            # (batch order, dropout) is seeded with ``seed`` itself.
            # Member 0's draws are a single network's; the others' their own.
            entropy = [int(seed), _STREAMS[stream]] + ([member] if member else [])
            state = np.random.SeedSequence(entropy).generate_state(2)
            generators[key] = torch.Generator(device=device).manual_seed(
                int(state[0]) << 32 | int(state[1])
            )
        return generators[key]

    def training_batch(self, X, y):
        """A training batch as the step sees it: cropped, then augmented.

        Parameters
        ----------
        X : torch.Tensor of shape (batch, n_channels, n_times)
            Standardised trials.
        y : torch.Tensor of shape (batch,)
            Encoded labels.

        Returns
        -------
        X : torch.Tensor of shape (batch, n_channels, crop_length or n_times)
        y : torch.Tensor of shape (batch,) or (batch, n_classes)
            ``y`` itself, or soft targets where a transform mixed the labels.
        """
        length = getattr(self, "crop_length", None)
        if length is not None and X.shape[-1] > length:
            X = random_crops(X, length, self._generator("crop", X.device))
        transforms = getattr(self, "augmentation", ())
        if not transforms:
            return X, y
        one_hot = torch.nn.functional.one_hot(y, len(self.classes)).to(X.dtype)
        members = n_members(self.module_)
        if members == 1:
            X, targets = apply_augmentation(
                transforms, X, one_hot, self._generator("augmentation", X.device)
            )
            return X, (y if targets is one_hot else targets)
        # Each member its own draws: (n_members, batch, ...) trials, and targets
        # per member where a transform mixed them.
        drawn = [apply_augmentation(transforms, X, one_hot,
                                    self._generator("augmentation", X.device, member))
                 for member in range(members)]
        X = torch.stack([trials for trials, _ in drawn])
        if all(targets is one_hot for _, targets in drawn):
            return X, y
        return X, torch.stack([targets for _, targets in drawn])

    def train_step(self, batch, **fit_params):
        """One optimiser step (see :meth:`step`), reported as one network's.

        With members, callbacks get the vote's logits and the mean of the
        members' losses; each member's loss is in ``criterion_.last_``.
        """
        step = self.step(batch, **fit_params)
        members = n_members(self.module_)
        if members == 1:
            return step
        return {**step, "loss": step["loss"] / members, "y_pred": vote(step["y_pred"])}

    def validation_step(self, batch, **fit_params):
        """skorch's validation step; with members, the vote's loss and each member's.

        Each member's logits are computed as a single network's would be
        (crops averaged per member), its loss kept in ``criterion_.last_``
        for its own early stopping; the step's loss and logits are the
        vote's.
        """
        members = n_members(self.module_)
        if members == 1:
            return super().validation_step(batch, **fit_params)
        self._set_training(False)
        X, y = unpack_data(batch)
        length = getattr(self, "crop_length", None)
        with torch.no_grad():
            if length is None or X.shape[-1] <= length:
                with self.module_.stacked():  # one pass: members may share the trials' work
                    stacked = self.infer(X, **fit_params)
            else:  # crops averaged per member, as a single network's are
                outputs = []
                for member in range(members):
                    with self.module_.selected(member):
                        outputs.append(self.infer(X, **fit_params))
                stacked = torch.stack(outputs)
            y = to_tensor(y, device=self.device)
            self.criterion_(stacked, y)  # the members' own losses
            logits = vote(stacked)
            loss = self.get_loss(logits, y, X=X, training=False)
        return {"loss": loss, "y_pred": logits}

    def step(self, batch, **fit_params):
        """One optimiser step: eager, a warm-up before a capture, or a graph replay.

        The batch is cropped and augmented first (:meth:`training_batch`),
        outside any graph; callbacks still receive the batch as the iterator
        gave it (``train_acc`` counts against its labels).
        """
        X, y = batch = self.training_batch(*batch)
        # Trials per batch; members with their own augmentation get (n_members, batch, ...).
        size = len(X) if X.dim() != 4 else tuple(X.shape[:2])
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
            "from unit size; keep standardize=True)"
            + ("; with augmentation, check that the transforms return trials of the "
               "batch's scale." if getattr(self, "augmentation", None) else ".")
        )
