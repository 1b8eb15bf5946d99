"""The scikit-learn estimator that every skeeg network classifier shares.

A subclass names its torch module (``_module_class``) and which of its own
constructor arguments are the module's (``_module_params``). This class is
a declaration over small collaborators, one concern each:

- ``skeeg._params``: the parameter table, checked once per fit;
- ``skeeg._validation``: the input rule (arrays, Epochs, labels, groups);
- ``skeeg._fitting``: the one fit path behind ``fit`` and ``partial_fit``;
- ``skeeg._predict``: prediction, shared with validation, ``embed`` and exports;
- ``skeeg.serialization``: ``save`` and ``load``.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from . import _fitting, _predict
from .augmentation import check_augmentation
from .callbacks import copy_callback
from ._docs import TRAINING_PARAMS_DOC, fill_training_doc
from ._input import as_numpy, is_epochs_input, labels_from_events, read_epochs
from ._memory import is_allocation_failure
from ._params import TRAINING
from ._registry import register_base, register_classifier
from ._training import module_n_times
from ._validation import predict_input
from .models import initialize_weights
from .serialization import save as _save

__all__ = ["BaseEEGClassifier", "TRAINING_PARAMS_DOC", "fill_training_doc"]

# Trials looked at to warn of a change of unit between fit and predict.
UNIT_CHECK_TRIALS = 64


@register_base
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
    # The parameters and what each may be (skeeg._params); a subclass adds
    # its own entries to a copy.
    _parameter_constraints = TRAINING

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The architecture's arguments are declared once, by the module, and
        # join the training parameters in the classifier's table.
        module_table = getattr(cls._module_class, "_parameter_constraints", None)
        if module_table is not None and "_parameter_constraints" not in vars(cls):
            cls._parameter_constraints = {
                **TRAINING, **{name: module_table[name] for name in cls._module_params}
            }
        register_classifier(cls)

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
        n_members=1,
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
        self.n_members = n_members

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
    # The network: what a subclass builds
    def _module_kwargs(self):
        return {name: getattr(self, name) for name in self._module_params}

    def _network_params(self):
        """The parameters the network is built from, by name."""
        return self._module_kwargs()

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
            if is_allocation_failure(error):
                raise  # named with the input's shape by the fit (skeeg._memory)
            length = module_n_times(self)
            what = (f"crop_length={length} samples (cropped training builds the network for "
                    "crops): is that below the network's minimum input length?"
                    if self.crop_length is not None else f"n_times={length} samples")
            raise ValueError(
                f"building the network for {self.n_channels_} channels x {length} samples "
                f"failed ({type(error).__name__}: {error}); it was built for {what}"
            ) from error

    def _build_module(self, n_classes):
        n_times = module_n_times(self)
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
            labels or channels that differ from a warm-started fit), a
            callback monitoring a key no epoch records, or a diverging fit
            (non-finite loss or weights).
        """
        return _fitting.train(self, X, y, groups=groups)

    def partial_fit(self, X, y=None, classes=None):
        """Train for one epoch, continuing from the current weights and optimiser state.

        The first call builds the network, as ``fit`` does but without a
        validation split or early stopping, and learns the input scaling
        from its trials; later calls continue the same network, optimiser,
        callbacks (a learning-rate scheduler steps once a call) and stream
        of random numbers. Label the trials of every call within the
        classes of the first.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or mne.Epochs
            EEG trials, as for ``fit``.
        y : array-like of shape (n_trials,), default=None
            Their labels (None only for Epochs).
        classes : array-like of shape (n_classes,), default=None
            All the classes, on the first call (as scikit-learn's
            ``partial_fit``): the first batch of trials may not hold every
            class. None takes the classes of the first call's ``y``. A later
            call may repeat them or pass None; other classes are refused.

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            As for ``fit``; also ``class_weight="balanced"`` (pass fixed
            weights), a later ``classes`` that differs from the first, or a
            callback that monitors a validation key (``partial_fit`` has no
            validation split).
        """
        return _fitting.train(self, X, y, classes=classes, incremental=True)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or mne.Epochs
            EEG trials with the channels and length seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_trials, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        X = predict_input(self, X)
        self._check_unit(X)
        return _predict.logits_to_proba_numpy(_predict.logits(self, X))

    def predict(self, X):
        """Predicted class labels, taken from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or mne.Epochs
            EEG trials with the channels and length seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_trials,)
            Labels of the same type as the ``y`` passed to ``fit``.
        """
        X = predict_input(self, X)
        self._check_unit(X)
        logits = _predict.logits(self, X)
        if logits.shape[1] == 1:
            index = (logits[:, 0] > 0).astype(np.int64)
        else:
            index = logits.argmax(axis=1)
        return self.classes_[index]

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
        y, sample_weight = as_numpy(y, "y"), as_numpy(sample_weight, "sample_weight")
        return super().score(X, y, sample_weight=sample_weight)

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
            If ``path`` is a folder or ends with a path separator, or names
            something other than a regular file (a FIFO, a device); also (as a
            ``skeeg._paths.MissingFolderError``, a ``FileNotFoundError`` too) if
            the folder of ``path`` does not exist.
        OSError
            If the system refuses the write (``PermissionError``, a full disk),
            naming ``path``.
        sklearn.exceptions.NotFittedError
            If the classifier is not fitted.
        """
        _save(self, path)

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
        if _predict.fitted_standardizer(self) is None or len(X) == 0:
            return
        sample = X[:UNIT_CHECK_TRIALS].astype(np.float64)
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
