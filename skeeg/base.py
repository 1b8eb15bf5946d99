"""The scikit-learn estimator that every skeeg network classifier shares.

A subclass names its torch module (``_module_class``) and which of its own
constructor arguments are the module's (``_module_params``); this class does
the rest: input validation, label encoding, seeding, the validation split,
building and fitting a skorch ``NeuralNetClassifier`` and batched prediction.
"""

import contextlib
import copy
import numbers
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from sklearn.utils.validation import _check_feature_names
from skorch.callbacks import Callback, EarlyStopping, ProgressBar

from ._training import (
    BatchIterator,
    IndexSplit,
    SoftTargetCrossEntropy,
    Standardizer,
    TrialSubset,
    WeightedBCEWithLogits,
    as_tensor,
    average_crops,
    logits_to_proba,
    logits_to_proba_numpy,
    resolve_device,
    resolve_optimizer,
)
from .augmentation import apply_augmentation, check_augmentation
from ._input import is_epochs_input, labels_from_events, order_channels, read_epochs
from ._net import PRECISIONS, SkeegNet, capture_kwargs
from .callbacks import MaxNormConstraint, TrainingAccuracy
from .models import initialize_weights
from ._fast import folded_forward

# Trials per forward pass at prediction time: large enough to keep the
# arithmetic efficient, small enough that memory stays bounded. Larger
# batches are slower, not faster, on the CPU: intermediates of tens of MB
# are fresh memory from the system at every batch (page faults), whereas a
# few MB are reused (1024 trials ran 1.8x slower per trial than 64).
PREDICT_BATCH_SIZE = 64
# A GPU needs larger batches to be kept busy.
GPU_PREDICT_BATCH_SIZE = 1024
# Trials looked at to warn of a change of unit between fit and predict.
UNIT_CHECK_TRIALS = 64
# Smaller batches predict on one thread: their operations are too small to
# share, and waiting for a busy second core costs more than the work.
SINGLE_THREAD_TRIALS = 8

# Epochs after which a network kept from epoch 1 by early stopping is warned about.
FIRST_EPOCH_WARNING_EPOCHS = 10

# What ``freeze`` may hold: nothing frozen, or everything but the classifier head.
FREEZE = (None, "features")

TRAINING_PARAMS_DOC = """\
    max_epochs : int, default=%(max_epochs)s
        Passes over the training data.
    batch_size : int, default=%(batch_size)s
        Trials per optimiser step.
    lr : float, default=%(lr)s
        Learning rate.
    optimizer : str or torch.optim.Optimizer subclass, default=%(optimizer)r
        ``"adam"``, ``"adamw"``, ``"sgd"``, ``"momentum"`` (SGD with momentum
        0.9), ``"adagrad"``, ``"rmsprop"`` (any case), or an optimiser class.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimiser.
    validation_fraction : float, default=%(validation_fraction)s
        Fraction of the training trials held out, stratified by class, as a
        validation set: the history reports its loss and accuracy and early
        stopping watches its loss. 0 turns it off. The test data you score
        later is never used for any choice. With ``groups`` in ``fit``, the
        validation set is whole groups instead: one fold of
        ``StratifiedGroupKFold`` with ``round(1 / validation_fraction)``
        folds, or one per group when there are fewer groups (with 2 groups,
        half the trials), the first fold in the seeded order that leaves
        every class on both sides; ``validation_groups_`` records which.
    early_stopping : bool, default=%(early_stopping)s
        Stop when the validation loss has not improved for ``patience``
        epochs and restore the weights of the best epoch. Needs
        ``validation_fraction > 0``. When, after 10 or more epochs, the best
        epoch is still the first, ``fit`` gives a
        :class:`~sklearn.exceptions.ConvergenceWarning`.
    patience : int, default=%(patience)s
        Epochs without improvement before early stopping.
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the loss, as in scikit-learn: a dict maps
        labels to weights; "balanced" uses ``n_trials / (n_classes *
        np.bincount(y))``.
    init : str, default=%(init)r
        Weight initialisation of convolutions and linear layers:
        ``"default"`` (PyTorch's), ``"xavier_normal"``, ``"xavier_uniform"``,
        ``"kaiming_normal"`` or ``"kaiming_uniform"`` (biases set to zero).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"`` (or ``"cuda:1"``...) or ``"auto"`` (a GPU when
        there is one). On a GPU the trials are copied to it once per fit.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the forward passes, in training and prediction.
        ``"bfloat16"`` runs them under ``torch.autocast`` (mixed precision:
        weights, gradients and optimiser state stay float32). These networks
        are small, so it gains little speed even on GPUs with bfloat16 units
        (on an H100 it was slower than float32 for EEGNet and slightly faster
        for DeepConvNet); on most CPUs it is slow.
    cuda_graph : bool, default=True
        On a CUDA device, record the training step (forward, loss, backward
        and optimiser step) in a CUDA graph, one per batch size, after a few
        eager steps of that size, and replay it for every later batch: these
        small networks spend most of an eager step launching kernels. It
        needs an optimiser that can be captured (all of the above but
        ``"adagrad"``) and no ``on_grad_computed`` callback; otherwise, and
        on the CPU, steps run eagerly. ``cuda_graph_`` says whether it was
        used.
    standardize : bool, default=True
        Learn in ``fit`` one offset per channel (its mean over all training
        trials and samples) and one scale (the standard deviation of all
        training samples around those offsets), stored as
        ``channel_mean_`` and ``scale_``, and feed the network ``(X -
        offset) / scale`` in training and prediction. The network then
        sees the same numbers whatever the unit of ``X`` (volts as MNE
        gives them, microvolts, amplifier counts with a DC offset): EEG in
        volts (values near 1e-4) otherwise vanishes in batch
        normalisation's epsilon and trains to chance. One scale for all
        channels keeps their relative amplitudes, and each trial keeps its
        own mean (slow cortical potentials live in it). False feeds ``X``
        as given.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted classifier continues from the learned
        weights (as scikit-learn's ``MLPClassifier``): ``max_epochs`` more
        epochs with a fresh optimiser state, the input scaling of the first
        fit, and labels among its ``classes_`` (fine-tuning to a new
        subject). ``partial_fit`` always continues. Either way ``history_``
        continues too: the new epochs are appended, numbered after the
        earlier ones (as ``MLPClassifier.loss_curve_``).
    freeze : {None, "features"}, default=None
        ``"features"`` trains the classifier head only (the layer that maps
        the learned features to the classes); the other weights stay as
        they are. Batch normalisation's running statistics still adapt to
        the new trials.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, the batch order and the
        validation split. An int makes ``fit`` repeatable: on the CPU the
        same data gives identical predictions run after run (with the same
        number of torch threads: the order of float sums depends on it); on
        a GPU, up to the rounding of cuDNN's non-deterministic kernels.
    verbose : int, default=0
        0 is silent, 1 prints a table of the epochs, 2 adds a progress bar.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks (``Callback`` instances or ``(name, Callback)``
        pairs). Each fit works on copies, so the list is unchanged; a
        callback that cannot be deep-copied (one holding a file, a lock or
        a logger) is rebuilt from its parameters, which are then shared
        with the original.
    augmentation : None, Transform or list of Transform, default=None
        Data augmentation of the training batches: transforms from
        :mod:`skeeg.augmentation` (instances, such as ``TimeReverse()`` or
        ``[SignFlip(), Mixup(alpha=0.2)]``), applied in order to every
        training batch, never to validation or prediction. They see the
        trials after standardisation (unit standard deviation: a
        ``GaussianNoise(std=0.1)`` is a tenth of the signal's spread) and
        after cropping (``crop_length`` samples), on the device training
        runs on, with their own random numbers drawn from ``random_state``
        (a fit stays repeatable). ``Mixup`` mixes the labels too: the loss
        then takes soft targets, the cross-entropy against the mixed class
        probabilities; with ``class_weight`` each trial counts as its
        mixture of classes, weighted by ``sum_c w_c y_c`` (for unmixed
        trials, the ordinary weighted loss). ``train_acc`` is counted
        against the trials' own labels. The transforms are checked in
        ``fit`` and kept unchanged (the fit uses copies).
    crop_length : int or None, default=None
        Cropped training (Schirrmeister et al., Hum. Brain Mapp. 38, 2017,
        5391-5420): the network is built
        for inputs of ``crop_length`` samples and, every epoch, each
        training trial is replaced by one crop of that length at a random
        start. Whole trials (``predict``, ``predict_proba``, ``score``, and
        the validation loss and accuracy that early stopping watches) are
        scored by averaging the class probabilities of crops taken every
        ``crop_stride`` samples, the last ending at the trial's end. Between
        the network's minimum input length and the trials' length
        ``n_times_``, which stays the length trials must have. None trains
        and predicts whole trials.
    crop_stride : int or None, default=None
        Samples between the starts of the crops averaged for a prediction
        (>= 1; only with ``crop_length``). None is ``max(1, crop_length //
        2)``: every sample lies in about 2 crops, for about ``2 * n_times /
        crop_length - 1`` forward passes per trial (a cost paid by every
        validation pass too). Denser crops did not predict better on
        synthetic trials (256 samples, crops of 128: stride 1, 129 crops,
        and stride 64, 3 crops, within a point of each other over 3 seeds).
        1 averages every crop, at ``n_times - crop_length + 1`` passes.
"""


def fill_training_doc(extra=None, **defaults):
    """Insert the shared description of the training parameters.

    ``defaults`` fills the defaults quoted in that description; ``extra``
    maps further ``%(name)s`` placeholders of the docstring to their text.
    """
    sections = {"training_params": TRAINING_PARAMS_DOC % defaults, **(extra or {})}

    def decorator(cls):
        doc = cls.__doc__
        for name, text in sections.items():
            doc = doc.replace(f"%({name})s", text.rstrip("\n"))
        cls.__doc__ = doc
        return cls

    return decorator


def _frozen(value):
    """``value`` with lists as tuples and numpy scalars as Python ones, for comparison."""
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


class BaseEEGClassifier(ClassifierMixin, BaseEstimator):
    """Fit, predict and validation shared by skeeg's network classifiers.

    Not used directly: see :class:`skeeg.EEGNetClassifier` and the others.

    Input rule: ``X`` of shape ``(n_trials, n_channels, n_times)``; a 2-D
    ``X`` of shape ``(n_trials, n_features)`` is read as one channel of
    ``n_features`` samples (this is what lets scikit-learn's generic
    estimator checks, which use 2-D data, run on these classifiers).
    """

    _module_class = None
    _module_params = ()

    def __init__(
        self,
        *,
        max_epochs,
        batch_size,
        lr,
        optimizer,
        weight_decay,
        validation_fraction,
        early_stopping,
        patience,
        class_weight,
        init,
        device,
        precision,
        cuda_graph,
        standardize,
        warm_start,
        freeze,
        random_state,
        verbose,
        callbacks,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
    ):
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.class_weight = class_weight
        self.init = init
        self.device = device
        self.precision = precision
        self.cuda_graph = cuda_graph
        self.standardize = standardize
        self.warm_start = warm_start
        self.freeze = freeze
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.augmentation = augmentation
        self.crop_length = crop_length
        self.crop_stride = crop_stride

    def __setstate__(self, state):
        # skorch maps a net trained on a GPU to the CPU when no GPU is
        # available at load time; keep device_ in step with it.
        super().__setstate__(state)
        if "net_" in self.__dict__:
            self.device_ = str(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def __sklearn_clone__(self):
        # scikit-learn's clone deep-copies every parameter; callbacks that
        # cannot be copied (a file, a lock) are rebuilt as for a fit, so that
        # cross-validation and searches work with them too. Everything else
        # (metadata requests, output settings) is scikit-learn's own clone.
        callbacks = self.callbacks
        if not isinstance(callbacks, (list, tuple)):
            return super().__sklearn_clone__()
        copies = [copy_callback(cb, i) for i, cb in enumerate(callbacks)]
        self.callbacks = None
        try:
            fresh = super().__sklearn_clone__()
        finally:
            self.callbacks = callbacks
        fresh.callbacks = copies
        return fresh

    # ------------------------------------------------------------------
    # Validation
    def _check_params(self):
        def positive_int(name):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")

        positive_int("max_epochs")
        positive_int("batch_size")
        positive_int("patience")
        if not isinstance(self.lr, numbers.Real) or not self.lr > 0:
            raise ValueError(f"lr must be a positive number; got {self.lr!r}.")
        if not isinstance(self.weight_decay, numbers.Real) or self.weight_decay < 0:
            raise ValueError(
                f"weight_decay must be a non-negative number; got {self.weight_decay!r}."
            )
        fraction = self.validation_fraction
        if not isinstance(fraction, numbers.Real) or not 0 <= fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1); got {fraction!r}."
            )
        if self.early_stopping and fraction == 0:
            raise ValueError(
                "early_stopping=True watches the validation loss, so it needs "
                "validation_fraction > 0 (for example 0.2), or set early_stopping=False."
            )
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {sorted(PRECISIONS)}; got {self.precision!r}."
            )
        if not isinstance(self.cuda_graph, (bool, np.bool_)):
            raise ValueError(f"cuda_graph must be True or False; got {self.cuda_graph!r}.")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ValueError(f"standardize must be True or False; got {self.standardize!r}.")
        if (
            not isinstance(self.verbose, (numbers.Integral, np.integer))
            or self.verbose < 0
        ):
            raise ValueError(
                f"verbose must be a non-negative integer (0 silent, 1 epoch table, 2 progress "
                f"bar too); got {self.verbose!r}."
            )
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise ValueError(f"warm_start must be True or False; got {self.warm_start!r}.")
        if self.freeze not in FREEZE:
            raise ValueError(
                f"freeze must be one of {FREEZE}; got {self.freeze!r}."
            )
        check_callbacks(self.callbacks)
        try:
            check_augmentation(self.augmentation)
        except ValueError as error:  # a transform's parameter; TypeErrors name augmentation
            raise ValueError(f"augmentation: {error}") from error
        for name in ("crop_length", "crop_stride"):
            value = getattr(self, name)
            integer = isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
                value, (bool, np.bool_)
            )
            if value is not None and (not integer or value < 1):
                raise ValueError(
                    f"{name} must be a positive integer (samples) or None; got {value!r}."
                )
        if self.crop_stride is not None and self.crop_length is None:
            raise ValueError(
                f"crop_stride={self.crop_stride!r} needs crop_length: the stride is that of "
                "the crops averaged for a prediction. Set crop_length (samples per crop), or "
                "leave crop_stride=None."
            )

    def _check_crops(self):
        """Refuse a crop longer than the trials (``n_times_`` must be known)."""
        if self.crop_length is not None and self.crop_length > self.n_times_:
            raise ValueError(
                f"crop_length={self.crop_length} is longer than the trials "
                f"({self.n_times_} samples): crops are cut from the trials. Use "
                f"crop_length <= {self.n_times_}, or None to train on whole trials."
            )

    def _crop_stride(self):
        """``crop_stride``, or its default for ``crop_length`` (None without crops)."""
        if self.crop_length is None:
            return None
        if self.crop_stride is None:
            return max(1, int(self.crop_length) // 2)
        return int(self.crop_stride)

    def _module_n_times(self):
        """The input length the network is built for: ``crop_length``, else ``n_times_``."""
        return self.n_times_ if self.crop_length is None else int(self.crop_length)

    def _check_augmentation_fits(self):
        """Run the transforms once on two blank trials of the training shape.

        A transform that cannot work on these trials (a time mask or shift
        longer than the crops, say) is then refused before training starts,
        not at its first batch.
        """
        transforms = check_augmentation(self.augmentation)
        if not transforms:
            return
        length = self._module_n_times()
        n_classes = len(self.classes_)
        trials = torch.zeros(2, self.n_channels_, length)
        targets = torch.nn.functional.one_hot(torch.arange(2) % n_classes, n_classes).float()
        try:
            apply_augmentation(transforms, trials, targets, torch.Generator().manual_seed(0))
        except ValueError as error:
            what = "crops" if self.crop_length is not None else "trials"
            raise ValueError(
                f"augmentation does not fit the training {what} ({self.n_channels_} channels "
                f"x {length} samples): {error}"
            ) from error

    def _validate_data_fit(self, X, y):
        """Validate training data; record n_features_in_, n_channels_, n_times_."""
        check_float32_range(X)
        # scikit-learn's finiteness check sums X first and warns when the sum
        # overflows, before it checks each value: the warning says nothing.
        with np.errstate(over="ignore", invalid="ignore"):
            X, y = validate_data(
                self, X, y, allow_nd=True, dtype=np.float32, order="C", ensure_min_features=1
            )
        X = as_trials(X)
        self.n_channels_, self.n_times_ = X.shape[1:]
        return X, y

    def _validate_X(self, X):
        """Validate trials to predict: same channels and length as in fit.

        One rule whatever the dtype or memory layout: a 2-D array and a 3-D
        array of one channel are the same trials, so either is accepted
        after a fit on either.
        """
        check_is_fitted(self)
        trials = self._plain_trials(X)
        if trials is not None:
            return trials
        if is_epochs_input(X):
            X = order_channels(read_epochs(X), self.ch_names_, self.sfreq_, self)
        original = X
        check_float32_range(X)
        with np.errstate(over="ignore", invalid="ignore"):
            X = as_trials(check_array(X, allow_nd=True, dtype=np.float32, order="C"))
        if X.shape[1:] != (self.n_channels_, self.n_times_):
            name = type(self).__name__
            if np.ndim(original) == 2 and self.n_channels_ > 1:
                raise ValueError(
                    f"X is 2-D, which is read as one channel, but {name} was fitted on "
                    f"{self.n_channels_} channels x {self.n_times_} samples: pass a 3-D "
                    f"array of shape (n_trials, {self.n_channels_}, {self.n_times_})."
                )
            if np.ndim(original) == 2:
                raise ValueError(
                    f"X has {X.shape[2]} features, but {name} is expecting "
                    f"{self.n_times_} features as input (2-D X is read as one "
                    "channel of n_features samples)."
                )
            raise ValueError(
                f"X has {X.shape[1]} channels x {X.shape[2]} samples per trial, but "
                f"{name} was fitted on {self.n_channels_} channels x {self.n_times_} "
                "samples: pass trials with the channels and length used in fit."
            )
        # Feature-name bookkeeping for pandas input, once the EEG checks passed
        # (the shape rule above replaces scikit-learn's n_features_in_ check).
        _check_feature_names(self, original, reset=False)
        return X

    def _plain_trials(self, X):
        """``X`` as trials if it is already what validation returns, else None.

        A C-ordered float32 ndarray of the fitted shape, without NaN or
        infinity, fitted without feature names, passes every check unchanged;
        spotting it takes microseconds where the checks take tens. Anything
        else goes through the full validation and its messages, which accept
        the same trials.
        """
        if type(X) is not np.ndarray or X.dtype != np.float32 or not X.flags.c_contiguous:
            return None
        if X.ndim == 3:
            fits = X.shape[1:] == (self.n_channels_, self.n_times_)
        else:
            fits = X.ndim == 2 and self.n_channels_ == 1 and X.shape[1] == self.n_times_
        if not fits or len(X) == 0 or hasattr(self, "feature_names_in_"):
            return None
        # A finite sum means finite values; an overflowing one gets the full check.
        with np.errstate(over="ignore", invalid="ignore"):
            return as_trials(X) if np.isfinite(X.sum()) else None

    def _validate_y(self, y):
        check_classification_targets(y)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs trials of at least 2 classes; got only "
                f"one class ({self.classes_.tolist()[0]!r}). Check the labels passed to fit."
            )
        return self._label_encoder.transform(y).astype(np.int64)

    # ------------------------------------------------------------------
    # Building blocks of fit
    def _module_kwargs(self):
        return {name: getattr(self, name) for name in self._module_params}

    def _build_network(self, n_classes):
        """:meth:`_build_module` for training: a failure names the input it was built for.

        skeeg's errors (ValueError, TypeError) pass unchanged; anything else
        comes from a user's module, which may not take inputs that short.
        """
        try:
            return self._build_module(n_classes)
        except (ValueError, TypeError):
            raise
        except Exception as error:
            length = self._module_n_times()
            what = (f"crop_length={length} samples (cropped training builds the network for "
                    "crops): is that below the network's minimum input length?"
                    if self.crop_length is not None else f"n_times={length} samples")
            raise ValueError(
                f"building the network for {self.n_channels_} channels x {length} samples "
                f"failed ({type(error).__name__}: {error}); it was built for {what}"
            ) from error

    def _build_module(self, n_classes):
        n_times = self._module_n_times()
        try:
            module = self._module_class(
                self.n_channels_, n_times, n_classes, **self._module_kwargs()
            )
        except ValueError as error:
            # The models name the shortest input they accept as n_times; with
            # crops, the input is the crop.
            message = str(error)
            if self.crop_length is None or not message.startswith(f"n_times={n_times} "):
                raise
            raise ValueError(
                message.replace("n_times=", "crop_length=")
                + " The network is built for crops of crop_length samples."
            ) from error
        initialize_weights(module, self.init)
        return module

    def _build_criterion(self, y, n_outputs):
        weight = None
        if self.class_weight is not None:
            weights = compute_class_weight(
                self.class_weight, classes=self.classes_, y=self._label_encoder.inverse_transform(y)
            )
            weights = np.asarray(weights, dtype=np.float64)
            if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() == 0:
                raise ValueError(
                    f"class_weight must give each class a finite, non-negative weight, not all "
                    f"zero; got {dict(zip(self.classes_.tolist(), weights.tolist()))}."
                )
            weight = torch.as_tensor(weights, dtype=torch.float32)
        if n_outputs == 1:
            return WeightedBCEWithLogits(weight=weight)
        return SoftTargetCrossEntropy(weight=weight)

    def _split_validation(self, y, seed, groups=None):
        """Stratified split of the training trials: ``(train, valid)`` indices.

        Both are None when ``validation_fraction`` is 0. With ``groups``,
        the validation part is one fold of ``StratifiedGroupKFold`` with
        ``round(1 / validation_fraction)`` folds (fewer when there are fewer
        groups): whole groups, stratified by class as far as they allow.
        ``validation_groups_`` records them.

        Raises
        ------
        ValueError
            If either part would miss a class, or there are too few groups.
        """
        self.validation_groups_ = None
        fraction = self.validation_fraction
        if fraction == 0:
            return None, None
        n_trials, n_classes = len(y), len(self.classes_)
        n_valid = int(np.ceil(fraction * n_trials))
        counts = np.bincount(y, minlength=n_classes)
        if groups is not None:
            names = np.unique(groups)
            if len(names) < 2:
                raise ValueError(
                    f"groups holds one group ({names.tolist()[0]!r}), so no validation "
                    "split can hold out whole groups: pass trials of 2 or more groups, or "
                    "set validation_fraction=0 and early_stopping=False."
                )
            n_splits = min(len(names), max(2, round(1 / fraction)))
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            with warnings.catch_warnings():
                # Classes with fewer trials than folds are the caller's data, checked below.
                warnings.filterwarnings("ignore", message="The least populated class")
                folds = list(splitter.split(np.zeros(n_trials), y, groups))
            # The first fold (in the seeded order) with every class on both sides:
            # a group holding one class only must not become the validation part
            # while other groups would do.
            complete = [
                (train, valid) for train, valid in folds
                if all(np.bincount(y[part], minlength=n_classes).min() > 0
                       for part in (train, valid))
            ]
            if not complete:
                raise ValueError(
                    f"No validation split of whole groups puts every class on both sides: "
                    f"none of the {n_splits} folds of the {len(names)} groups (a fold holds "
                    f"about 1/{n_splits} of the trials) has trials of all classes "
                    f"{self.classes_.tolist()} in both the training and the validation "
                    "part; a class that only some groups hold lands on one side only. Pass "
                    "groups that each hold several classes, or set validation_fraction=0 "
                    "and early_stopping=False."
                )
            train, valid = complete[0]
            self.validation_groups_ = np.unique(groups[valid])
        elif counts.min() >= 2 and n_classes <= n_valid <= n_trials - n_classes:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
            train, valid = next(splitter.split(np.zeros(n_trials), y))
        else:
            train = valid = np.array([], dtype=np.int64)
        missing = {
            part: self.classes_[np.bincount(y[index], minlength=n_classes) == 0].tolist()
            for part, index in (("training", train), ("validation", valid))
        }
        if not len(train):
            raise ValueError(
                f"Too few trials for a stratified validation split: validation_fraction="
                f"{fraction} of {n_trials} trials asks for {n_valid} validation trials, and "
                f"with {n_classes} classes of {counts.tolist()} trials each part needs at least "
                f"one trial of every class (and each class 2 trials): pass more trials, change "
                "validation_fraction, or set validation_fraction=0 and early_stopping=False."
            )
        if any(missing.values()):
            smallest = self.classes_[counts.argmin()].tolist()
            raise ValueError(
                f"Too few trials for a stratified validation split: "
                f"validation_fraction={fraction} of {n_trials} trials leaves "
                f"{len(valid)} for validation and {len(train)} "
                f"for training, and the stratified split cannot put every class in both: "
                + "; ".join(f"the {part} part has no trial of {labels}"
                            for part, labels in missing.items() if labels)
                + f". The smallest class ({smallest!r}) has {counts.min()} trials. Each part "
                "needs at least one trial of every class: pass more trials of the rare "
                "classes, change validation_fraction, or set validation_fraction=0 and "
                "early_stopping=False."
                + (" With groups, the validation part is made of whole groups: a class "
                   "that only some groups hold may land on one side only."
                   if groups is not None else "")
            )
        return train, valid

    def _build_callbacks(self, early_stopping=None):
        callbacks = [("train_acc", TrainingAccuracy())]
        if getattr(self, "max_norm", False):
            callbacks.append(("max_norm", MaxNormConstraint()))
        if self.early_stopping if early_stopping is None else early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(monitor="valid_loss", patience=self.patience, load_best=True),
                )
            )
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        own = {name: type(callback).__name__ for name, callback in callbacks}
        for i, entry in enumerate(self.callbacks or []):
            # skorch would call a clash with skeeg's own callbacks a duplicate "user-set"
            # name, which the user did not set twice.
            name = entry[0] if isinstance(entry, tuple) else None
            if name in own:
                raise ValueError(
                    f"callbacks[{i}] is named {name!r}, the name of skeeg's own {own[name]} "
                    f"callback; give it another name (the parameters early_stopping, "
                    "patience, max_norm and verbose set skeeg's own callbacks)."
                )
        callbacks += [copy_callback(cb, i) for i, cb in enumerate(self.callbacks or [])]
        return callbacks

    def _check_batch_norm(self, module, n_train):
        """Refuse a batch size or a training set that batch normalisation cannot train on."""
        has_batch_norm = any(
            isinstance(layer, torch.nn.modules.batchnorm._BatchNorm) for layer in module.modules()
        )
        if has_batch_norm and n_train < 2:
            raise ValueError(
                f"{type(self).__name__} cannot train on {n_train} trial: its batch "
                "normalisation needs at least 2 trials per batch. Pass 2 or more trials."
            )
        if has_batch_norm and self.batch_size < 2:
            raise ValueError(
                f"batch_size=1 cannot train {type(self).__name__}: its batch normalisation "
                "needs at least 2 trials per batch to compute batch statistics. Use "
                "batch_size >= 2."
            )

    def _check_sampling_rate(self, sfreq):
        """Refuse parameters in Hz that disagree with the training Epochs' rate ``sfreq``.

        Checked whenever Epochs are trained on, a first fit or a continued
        one (a fit on arrays knows no rate): a shift in Hz, or layers sized
        in seconds, would otherwise mean something else at another rate.
        """
        for transform in check_augmentation(self.augmentation):
            declared = getattr(transform, "sfreq", None)
            if declared is not None and not np.isclose(declared, sfreq):
                raise ValueError(
                    f"augmentation: {type(transform).__name__}(sfreq={declared!r}) does not "
                    f"match the Epochs, sampled at {sfreq:g} Hz: pass sfreq={sfreq:g}."
                )

    # ------------------------------------------------------------------
    # Input: arrays or MNE Epochs
    def _fit_input(self, X, y, reset):
        """Training trials and labels from an array or Epochs; record ch_names_, sfreq_."""
        if is_epochs_input(X):
            data = read_epochs(X)
            self._check_sampling_rate(float(data.sfreq))
            if y is None:
                y = labels_from_events(data)
            if reset:
                self.ch_names_, self.sfreq_ = list(data.ch_names), data.sfreq
                X = data.X
            else:
                X = order_channels(data, self.ch_names_, self.sfreq_, self)
        elif reset:
            self.ch_names_ = self.sfreq_ = None
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "labels are read from the events only when X is an mne.Epochs object. "
                "When a transformer before it in a Pipeline turned Epochs into an array, "
                "pass the labels to the Pipeline: pipe.fit(epochs, skeeg.event_labels(epochs))."
            )
        if reset:
            return self._validate_data_fit(X, y)
        X = self._validate_X(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"y must be 1-D with one label per trial; got shape {y.shape} for {len(X)} trials."
            )
        return X, y

    def _check_groups(self, groups, n_trials):
        """Groups as an array of one label per trial, or None."""
        if groups is None:
            return None
        groups = np.asarray(groups)
        if groups.ndim != 1 or len(groups) != n_trials:
            raise ValueError(
                f"groups must hold one label per trial: got shape {groups.shape} for "
                f"{n_trials} trials."
            )
        if groups.dtype.kind in "fc" and not np.isfinite(groups).all():
            raise ValueError("groups contains NaN or infinity: give every trial a group label.")
        if groups.dtype.kind == "O" and any(g is None for g in groups.tolist()):
            raise ValueError("groups contains None: give every trial a group label.")
        return groups

    # ------------------------------------------------------------------
    # Public API
    def fit(self, X, y=None, groups=None):
        """Train the network on EEG trials.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or mne.Epochs
            EEG trials (float32 or float64; kept as float32). A 2-D array is
            read as one channel. From an :class:`mne.Epochs` object, the EEG
            channels that are not marked bad are read in microvolts, and
            ``ch_names_`` and ``sfreq_`` are recorded.
        y : array-like of shape (n_trials,), default=None
            Class labels of any type (ints, strings...). None only for
            Epochs: the labels are then the event names of ``event_id``.
        groups : array-like of shape (n_trials,), default=None
            The subject (or session) of each trial. The validation split
            then holds out whole groups (see ``validation_fraction``), so
            early stopping never watches a subject it also trains on.
            scikit-learn's metadata routing passes it from
            ``cross_validate`` and ``GridSearchCV`` after
            ``clf.set_fit_request(groups=True)``.

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        ValueError
            Bad parameters or data (shapes, NaN, too few trials or classes,
            labels or channels that differ from a warm-started fit), or a
            diverging fit (non-finite loss or weights).
        """
        self._check_params()
        if self.warm_start and hasattr(self, "net_"):
            self._check_same_network()
            X, y = self._fit_input(X, y, reset=False)
            y = self._encode_known(y)
            self._check_augmentation_fits()
            return self._train(X, y, self._check_groups(groups, len(X)), self.max_epochs,
                               module=self.net_.module_)
        X, y = self._fit_input(X, y, reset=True)
        self._check_crops()
        y = self._validate_y(y)
        self._check_augmentation_fits()
        self._fit_standardizer(X)
        return self._train(X, y, self._check_groups(groups, len(X)), self.max_epochs)

    def partial_fit(self, X, y=None, classes=None):
        """Train for one epoch, continuing from the current weights and optimiser state.

        The first call builds the network, as ``fit`` does but without a
        validation split or early stopping, and learns the input scaling
        from its trials; later calls continue from there. Label the trials
        of every call within the classes of the first.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or mne.Epochs
            EEG trials, as for ``fit``.
        y : array-like of shape (n_trials,), default=None
            Their labels (None only for Epochs).
        classes : array-like of shape (n_classes,), default=None
            All the classes, on the first call (as scikit-learn's
            ``partial_fit``): the first batch of trials may not hold every
            class. None takes the classes of the first call's ``y``.

        Returns
        -------
        self : object
        """
        self._check_params()
        if not hasattr(self, "net_"):
            X, y = self._fit_input(X, y, reset=True)
            self._check_crops()
            labels = y if classes is None else np.asarray(classes)
            if classes is not None:
                outside = ~np.isin(np.asarray(y), labels)
                if outside.any():
                    raise ValueError(
                        f"y holds labels {np.unique(np.asarray(y)[outside]).tolist()} that are "
                        f"not in classes={labels.tolist()}: classes must list every label "
                        "of every call to partial_fit."
                    )
            self._validate_y(labels)
            y = self._encode_known(y)
            self._check_augmentation_fits()
            self._fit_standardizer(X)
            return self._train(X, y, None, 1, incremental=True)
        self._check_same_network()
        X, y = self._fit_input(X, y, reset=False)
        y = self._encode_known(y)
        self._check_augmentation_fits()
        return self._train(X, y, None, 1, module=self.net_.module_, incremental=True)

    def _network_params(self):
        """The parameters the network is built from, by name."""
        return self._module_kwargs()

    def _check_same_network(self):
        """Continuing a fit needs the network's own parameters and crop length unchanged."""
        built = getattr(self.net_, "network_params_", None)
        if built is not None:
            current = _frozen(self._network_params())
            changed = [name for name in current if current[name] != built.get(name)]
            if changed:
                now = ", ".join(f"{name}={getattr(self, name)!r}" for name in changed)
                then = ", ".join(f"{name}={built[name]!r}" for name in changed)
                raise ValueError(
                    f"{now}, but the network being continued (warm_start=True or "
                    f"partial_fit) was built with {then}: its architecture cannot change. "
                    "Set the parameter back, or fit a new classifier (warm_start=False)."
                )
        self._check_same_crops()

    def _check_same_crops(self):
        """Continuing a fit needs the crop length the network was built for."""
        fitted = getattr(self.net_, "crop_length", None)
        if fitted != self.crop_length:
            raise ValueError(
                f"crop_length={self.crop_length!r}, but the network being continued "
                f"(warm_start=True or partial_fit) was built for crop_length={fitted!r}: "
                "its input length cannot change. Set crop_length back, or fit a new "
                "classifier (warm_start=False)."
            )

    def _encode_known(self, y):
        """Encode labels against the fitted classes; refuse labels not among them."""
        check_classification_targets(y)
        y = np.asarray(y)
        known = np.isin(y, self.classes_)
        if not known.all():
            raise ValueError(
                f"Labels {np.unique(y[~known]).tolist()} are not among the classes "
                f"{self.classes_.tolist()} this {type(self).__name__} was fitted on: "
                "continuing a fit (warm_start=True, partial_fit) needs the same classes. "
                "Fit a new classifier for new classes."
            )
        return self._label_encoder.transform(y).astype(np.int64)

    def _fit_standardizer(self, X):
        """Learn ``channel_mean_`` and ``scale_`` (an identity when ``standardize=False``)."""
        if self.standardize:
            standardizer = Standardizer.fit(X)
            self.channel_mean_, self.scale_ = standardizer.offset, standardizer.scale
        else:
            self.channel_mean_, self.scale_ = np.zeros(self.n_channels_, np.float32), 1.0

    def _standardizer(self):
        return Standardizer(self.channel_mean_, self.scale_) if self.standardize else None

    def _train(self, X, y, groups, epochs, module=None, incremental=False):
        """Train a new network, or go on training ``module``, for ``epochs`` epochs.

        ``incremental`` (``partial_fit``): no validation split or early
        stopping, the optimiser's state carried over, the history extended.
        """
        optimizer, optimizer_kwargs = resolve_optimizer(self.optimizer)
        device = resolve_device(self.device)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if incremental:
            train = valid = None
        else:
            train, valid = self._split_validation(y, seed, groups)
        on_gpu = device.startswith("cuda")
        trials = TrialSubset(X, y)
        if on_gpu:
            # Held on the device for the whole fit: batches are then slices
            # of it, with no copy from the host per batch.
            # (as_tensor: a read-only X, such as joblib's memory maps in
            # GridSearchCV(n_jobs>1), is copied to the GPU without a warning.)
            trials = TrialSubset(as_tensor(X).to(device), as_tensor(y).to(device))
        previous = self.__dict__.get("net_") if module is not None else None
        with torch.random.fork_rng(devices=[torch.device(device)] if on_gpu else []):
            torch.manual_seed(seed)
            if module is None:
                module = self._build_network(len(self.classes_))
            self._check_batch_norm(module, len(y) if train is None else len(train))
            self._freeze(module)
            net = self._make_net(
                module,
                self._build_criterion(y, module.n_outputs),
                device,
                train_split=None if valid is None else IndexSplit(train, valid),
                max_epochs=epochs,
                early_stopping=self.early_stopping and not incremental,
                seed=seed,
            )
            net.initialize()
            if incremental and previous is not None:
                net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
            net.partial_fit(trials, None)
        net.release_training_state()
        if self.early_stopping and not incremental and valid is not None:
            self._warn_if_first_epoch_kept(net.history)
        history = self._history_frame(net.history)
        if previous is not None:  # continued (partial_fit, warm_start): so is the history
            history["epoch"] += len(self.history_)
            history = pd.concat([self.history_, history], ignore_index=True)
        self.net_ = net
        self.device_ = device
        self.cuda_graph_ = net.graph_replays_ > 0
        self.history_ = history
        return self

    def _warn_if_first_epoch_kept(self, history):
        """Warn when early stopping returns the network of epoch 1 after many epochs.

        Its validation loss never went below the first epoch's: the network
        returned has had one epoch of training and often predicts near
        chance, which a fit should not hide.
        """
        losses = np.asarray(history[:, "valid_loss"], dtype=np.float64)
        if len(losses) < FIRST_EPOCH_WARNING_EPOCHS or np.argmin(losses) != 0:
            return
        warnings.warn(
            f"{type(self).__name__}: early stopping kept the network of epoch 1: in "
            f"{len(losses)} epochs the validation loss never went below its first value "
            f"({losses[0]:.3g}), so the network returned has had one epoch of training and "
            "may predict near chance. The validation part may differ from the training part "
            "(other subjects or runs), or lr may not suit the data: look at history_, and "
            "try another lr, a larger validation_fraction or early_stopping=False.",
            ConvergenceWarning,
            stacklevel=4,
        )

    def _freeze(self, module):
        """Train the classifier head only when ``freeze="features"``; else everything."""
        head = set()
        if self.freeze == "features":
            from .inspection import find_head

            head = {
                id(p) for layer in find_head(module, "freeze='features'")
                for p in layer.parameters()
            }
        for parameter in module.parameters():
            parameter.requires_grad_(self.freeze is None or id(parameter) in head)
        if head and not any(p.is_meta for p in module.parameters()):
            self._check_head_is_used(module)

    def _check_head_is_used(self, module):
        """With the features frozen, the output must still depend on the head's weights."""
        trials = torch.zeros(2, self.n_channels_, self._module_n_times())
        training = module.training
        try:
            with torch.enable_grad():
                used = module.eval()(trials).requires_grad
        finally:
            module.train(training)
        if not used:
            raise ValueError(
                f"freeze='features' trains only the classifier head of "
                f"{type(module).__name__}, but its output does not depend on the head's "
                "weights (forward does not call it): there is nothing left to train."
            )

    def _make_net(self, module, criterion, device, train_split=None, max_epochs=None,
                  early_stopping=None, seed=None):
        """The skorch net that trains ``module`` (not yet initialised).

        ``seed`` seeds its crops and augmentation (see :class:`SkeegNet`).
        """
        optimizer, optimizer_kwargs = resolve_optimizer(self.optimizer)
        on_gpu = str(device).startswith("cuda")
        # On a GPU the optimiser is built capturable whenever it can be, so
        # that graphed and eager training run the same arithmetic.
        capture = capture_kwargs(optimizer) if on_gpu else None
        if capture is not None:
            optimizer_kwargs = {**optimizer_kwargs, **capture}
        if on_gpu:
            # cuDNN picks an FFT algorithm for EEGNet's (1, 15) float32
            # convolution in the default layout (3.5 ms a step on an H100);
            # in channels-last it runs an implicit GEMM in 0.05 ms.
            module = module.to(memory_format=torch.channels_last)
        standardizer = self._standardizer()
        early_stopping = self.early_stopping if early_stopping is None else early_stopping
        net = SkeegNet(
            module=module,
            criterion=criterion,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs if max_epochs is None else max_epochs,
            batch_size=self.batch_size,
            # Index views of the trials: the split copies no data.
            train_split=train_split,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__standardize=standardizer,
            iterator_valid=BatchIterator,
            iterator_valid__standardize=standardizer,
            callbacks=self._build_callbacks(early_stopping),
            predict_nonlinearity=logits_to_proba,
            classes=np.arange(len(self.classes_)),
            device=device,
            precision=self.precision,
            cuda_graph=self.cuda_graph and capture is not None,
            # Copies: a fit never touches the user's transforms.
            augmentation=tuple(clone(t) for t in check_augmentation(self.augmentation)),
            crop_length=None if self.crop_length is None else int(self.crop_length),
            crop_stride=self._crop_stride(),
            random_seed=seed,
            verbose=int(self.verbose >= 1),
            # Silent fits skip skorch's epoch table, which it builds even unprinted.
            **({} if self.verbose else {"callbacks__print_log": None}),
            **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
            optimizer__weight_decay=self.weight_decay,
        )
        # What the module was built from: a continued fit must not change it.
        net.network_params_ = _frozen(self._network_params())
        return net

    def save(self, path):
        """Save the fitted classifier to one safetensors file, without pickle.

        Weights as safetensors, everything else as JSON; read it back with
        :func:`skeeg.load`. See :func:`skeeg.serialization.save`.

        Parameters
        ----------
        path : str or path-like
            The file to write (``~`` is expanded); replaced if it exists.

        Raises
        ------
        TypeError
            If a parameter or fitted attribute cannot be stored as JSON
            (extra ``callbacks``: ``set_params(callbacks=None)`` first).
        ValueError
            If ``path`` is a folder.
        FileNotFoundError
            If the folder of ``path`` does not exist.
        sklearn.exceptions.NotFittedError
            If the classifier is not fitted.
        """
        from .serialization import save

        save(self, path)

    @staticmethod
    def _history_frame(history):
        """Per-epoch scalars of skorch's history, standard columns first.

        Scores added by extra callbacks (for example a held-out accuracy)
        follow; skorch's per-batch records, batch counts and ``*_best`` flags are left out.
        """
        columns = ["epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "dur"]
        for epoch in history:
            for key, value in epoch.items():
                if key not in columns and key != "batches" and not key.endswith(("_best", "_batch_count")):
                    if np.isscalar(value):
                        columns.append(key)
        rows = [{key: epoch.get(key, np.nan) for key in columns} for epoch in history]
        return pd.DataFrame(rows, columns=columns)

    def _logits(self, X):
        """Logits for validated float32 trials, computed in bounded batches.

        Through the module's folded copy where it has one (``folded_forward``),
        on one thread for a few trials, and in the precision the network was
        trained in. A network trained on crops gives the logits of its crops'
        mean probabilities (:func:`skeeg._training.average_crops`), as in
        validation.
        """
        module = self.net_.module_
        dtype = PRECISIONS[self.net_.precision]
        forward, device = folded_forward(module) if dtype is None else (None, None)
        if forward is None:
            module.eval()
            forward = module
            device = next(module.parameters()).device
        if dtype is None:
            precision = contextlib.nullcontext()
        else:
            precision = torch.autocast(device.type, dtype=dtype, cache_enabled=False)
        out = np.empty((len(X), module.n_outputs), dtype=np.float32)
        step = PREDICT_BATCH_SIZE if device.type == "cpu" else GPU_PREDICT_BATCH_SIZE
        standardize = self.net_.iterator_valid__standardize
        crop_length = getattr(self.net_, "crop_length", None)
        if crop_length is not None and crop_length < X.shape[-1]:
            network = forward

            def forward(batch):
                return average_crops(network, batch, crop_length, self.net_.crop_stride, step)

        threads = torch.get_num_threads()
        single = len(X) < SINGLE_THREAD_TRIALS and threads > 1
        if single:
            torch.set_num_threads(1)
        try:
            with torch.inference_mode(), precision:
                for start in range(0, len(X), step):
                    batch = as_tensor(X[start : start + step]).to(device)
                    if standardize is not None:
                        batch = standardize(batch)
                    out[start : start + len(batch)] = forward(batch).float().cpu().numpy()
        finally:
            if single:
                torch.set_num_threads(threads)
        if not np.isfinite(out).all():
            bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
            raise ValueError(
                f"The network's output is not finite for {len(bad)} of {len(X)} trials (the "
                f"first is trial {bad[0]}, whose largest absolute value is "
                f"{np.abs(X[bad[0]]).max():.3g}; the training trials had a spread of "
                f"{self.scale_:.3g} around their channel means). Such values are far outside "
                "anything seen in fit: check the unit and scaling of these trials."
            )
        return out

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            EEG trials with the channels and length seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_trials, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        X = self._validate_X(X)
        self._check_unit(X)
        return logits_to_proba_numpy(self._logits(X))

    def _check_unit(self, X):
        """Warn when trials are spread a hundred times more or less than in fit.

        The usual cause is a change of unit (volts after a fit on Epochs,
        which are read in microvolts; raw amplifier counts): the network
        would see numbers far from those it learned on. The spread is that
        of the trials around their own channel means, as ``scale_`` is
        around the training trials', so that a change of offset does not
        hide a change of unit. A few trials are enough to tell; EEG spreads
        differ between sessions and subjects by a few times, not a hundred.
        """
        if not self.standardize or len(X) == 0:
            return
        sample = X[: UNIT_CHECK_TRIALS].astype(np.float64)
        sample -= sample.mean(axis=(0, 2))[:, np.newaxis]
        ratio = np.sqrt(np.mean(sample**2)) / self.scale_
        if ratio > 0 and not 1e-2 < ratio < 1e2:
            warnings.warn(
                f"These trials are spread {ratio:.3g} times as much as the training trials "
                f"(scale_={self.scale_:.3g}): are they in another unit? Predict on trials in "
                "the unit used in fit (Epochs are read in microvolts).",
                UserWarning,
                stacklevel=3,
            )

    def score(self, X, y=None, sample_weight=None):
        """Mean accuracy on the given trials and labels.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or mne.Epochs
            EEG trials with the channels and length seen in ``fit``.
        y : array-like of shape (n_trials,), default=None
            True labels; None only for Epochs, whose event names are then used.
        sample_weight : array-like of shape (n_trials,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        if y is None and is_epochs_input(X):
            y = labels_from_events(read_epochs(X))
        return super().score(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted class labels, taken from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            EEG trials with the channels and length seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_trials,)
            Labels of the same type as the ``y`` passed to ``fit``.
        """
        X = self._validate_X(X)
        self._check_unit(X)
        logits = self._logits(X)
        if logits.shape[1] == 1:
            index = (logits[:, 0] > 0).astype(np.int64)
        else:
            index = logits.argmax(axis=1)
        return self.classes_[index]


def check_float32_range(X):
    """Refuse finite values that float32, in which skeeg trains, cannot hold.

    Converted, they would become infinity and be reported as such, although
    ``X`` holds none.
    """
    if not isinstance(X, np.ndarray):
        if not isinstance(X, (list, tuple)) and not hasattr(X, "__array__"):
            return
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            return  # check_array reports what is wrong with it
    if X.dtype.kind != "f" or X.dtype.itemsize <= 4 or X.ndim == 0 or X.size == 0:
        return
    limit, largest = float(np.finfo(np.float32).max), 0.0
    # In chunks of trials: the temporaries stay small whatever the size of X.
    chunk = max(1, 2**18 // max(1, X[0].size))
    for start in range(0, len(X), chunk):
        magnitude = np.abs(X[start : start + chunk])
        magnitude[~np.isfinite(magnitude)] = 0.0  # infinity and NaN get their own message
        largest = max(largest, float(magnitude.max()))
    if largest > limit:
        raise ValueError(
            f"X holds finite values beyond the float32 range (+-{limit:.3g}; the largest is "
            f"{largest:.3g}), and skeeg computes in float32: check the unit of X and divide "
            "it by a constant."
        )


def check_callbacks(callbacks):
    """Refuse anything but skorch callbacks (or ``(name, callback)`` pairs) up front."""
    if callbacks is None:
        return
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"callbacks must be a list of skorch callbacks or None; got {callbacks!r}."
        )
    for i, entry in enumerate(callbacks):
        callback = entry
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
            callback = entry[1]
        if not isinstance(callback, Callback):
            hint = (
                " (a class: pass an instance, for example EarlyStopping())"
                if isinstance(callback, type) else ""
            )
            raise TypeError(
                f"callbacks[{i}] must be a skorch Callback instance or a (name, Callback) "
                f"pair; got {entry!r}{hint}."
            )


def copy_callback(entry, i):
    """A fresh copy of a user's callback for one fit.

    A deep copy where the callback can be copied; otherwise (it holds a
    file, a lock, a logger...) a new instance built from its parameters,
    which are shared with the original, as scikit-learn's ``clone`` does for
    what it cannot copy.
    """
    name, callback = entry if isinstance(entry, tuple) else (None, entry)
    try:
        fresh = copy.deepcopy(callback)
    except Exception as deep_error:  # noqa: BLE001 - any failure falls back to rebuilding
        try:
            fresh = type(callback)(**callback.get_params(deep=False))
        except Exception as error:
            raise TypeError(
                f"callbacks[{i}] ({type(callback).__name__}) can be neither deep-copied "
                f"({deep_error}) nor rebuilt from its parameters ({error}). skeeg trains on "
                "a fresh copy of each callback so that every fit starts alike: give it "
                "constructor parameters that it stores under their own names."
            ) from error
    return fresh if name is None else (name, fresh)


def as_trials(X):
    """View a validated 2-D or 3-D array as (n_trials, n_channels, n_times)."""
    if X.ndim == 2:
        return X[:, np.newaxis, :]
    if X.ndim != 3:
        raise ValueError(
            "X must be 3-D, (n_trials, n_channels, n_times), or 2-D, (n_trials, n_times) "
            f"read as one channel; got an array of shape {X.shape}."
        )
    return X
