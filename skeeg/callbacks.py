"""skorch callbacks that skeeg's classifiers add to the training loop."""

import copy

import numpy as np
from skorch.callbacks import Callback, EarlyStopping


class MaxNormConstraint(Callback):
    """Renormalise constrained weights after every optimiser step.

    Calls the module's ``apply_max_norm()``, which knows which layers carry
    a max-norm limit (EEGNet: the spatial filters and the classifier;
    DeepConvNet: every convolution and the classifier). skorch notifies
    ``on_batch_end`` after the step, for training batches only when
    ``training`` is true.
    """

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            net.module_.apply_max_norm()


class TrainingAccuracy(Callback):
    """Accuracy of the predictions made on the training batches, as ``train_acc``.

    The number skorch's ``EpochScoring("accuracy", on_train=True)`` gives,
    counted as the batches pass, where their predictions were computed:
    nothing is gathered or moved to the CPU but one count per epoch. The
    predictions are the training-mode ones (dropout on), as in skorch.

    Parameters
    ----------
    name : str, default="train_acc"
        Key of the accuracy in the history.
    """

    def __init__(self, name="train_acc"):
        self.name = name

    def on_epoch_begin(self, net, **kwargs):
        self.correct_, self.count_ = 0, 0

    def on_batch_end(self, net, batch, y_pred=None, training=False, **kwargs):
        if not training:
            return
        y = batch[1]
        # One logit is the positive class's: class 1 where it is above 0.
        predicted = (y_pred[:, 0] > 0).long() if y_pred.shape[1] == 1 else y_pred.argmax(1)
        self.correct_ = self.correct_ + (predicted == y.to(predicted.device)).sum()
        self.count_ += len(y)

    def on_epoch_end(self, net, **kwargs):
        if self.count_:
            net.history.record(self.name, float(self.correct_) / self.count_)
        # The count may be a tensor on the training device: a fitted model
        # keeps no tensor outside its weights.
        self.correct_, self.count_ = 0, 0


class HeldOutScoring(Callback):
    """Accuracy on a held-out set after every epoch, recorded in the history.

    Meant for learning curves and for reporting how a fixed-length run
    behaves on data that plays no part in training. Choosing an epoch, a
    seed or any hyper-parameter on this score is selection on the test set:
    a figure chosen that way is optimistic and must be labelled so.

    The score is recorded under ``name`` in skorch's history, so it appears
    as a column of the classifier's ``history_``. Predictions run in
    evaluation mode (no dropout, batch-norm running statistics) and use no
    random numbers, so the callback does not change training: the same
    ``random_state`` gives the same weights with or without it.

    Its ``X`` and ``y`` are parameters, so the instance passed in
    ``callbacks`` keeps them, and so does a classifier holding it (in
    ``get_params``, a pickle or ``clone``): a fitted classifier with this
    callback carries the held-out trials. The copy used in a fit releases
    them when the fit ends, and ``clf.save`` refuses a classifier with
    callbacks; drop the callback (``set_params(callbacks=None)``) before
    pickling a model that must not contain data.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times)
        Held-out trials, shaped like the training trials (a 2-D array is
        read as one channel, as the classifiers do).
    y : array-like of shape (n_trials,)
        Their labels, in the same label space as the ``y`` passed to
        ``fit`` (strings, ints...).
    classes : array-like or None, default=None
        The labels of the classifier, i.e. ``np.unique(y_train)`` of the
        training labels passed to ``fit`` (the classifier's ``classes_``).
        The network inside the classifier predicts class indices in that
        sorted order, and ``y`` is encoded against it. None takes
        ``np.unique(y)``, which is right only when the held-out set holds
        every class: pass ``classes`` when it may not.
    name : str, default="test_acc"
        Column name in the history.
    keep_predictions : bool, default=False
        Also keep each epoch's predicted labels in ``predictions_`` (useful
        for a confusion matrix at a chosen epoch).

    Attributes
    ----------
    classes_ : ndarray
        The sorted class labels ``y`` was encoded against.
    predictions_ : list of ndarray
        With ``keep_predictions=True``, the predicted labels (taken from
        ``classes_``) after each epoch; reach the instance used in a fit
        through ``clf.net_.callbacks_``.

    Examples
    --------
    >>> from skeeg import EEGNetClassifier
    >>> from skeeg.callbacks import HeldOutScoring
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=120, n_channels=4, n_times=256, random_state=0)
    >>> X_train, y_train, X_test, y_test = data.X[:80], data.y[:80], data.X[80:], data.y[80:]
    >>> clf = EEGNetClassifier(max_epochs=3, early_stopping=False, random_state=0,
    ...                        callbacks=[HeldOutScoring(X_test, y_test)])
    >>> clf.fit(X_train, y_train).history_.columns.tolist()[-1]
    'test_acc'
    """

    def __init__(self, X, y, classes=None, name="test_acc", keep_predictions=False):
        self.X = X
        self.y = y
        self.classes = classes
        self.name = name
        self.keep_predictions = keep_predictions

    def initialize(self):
        X = np.ascontiguousarray(self.X, dtype=np.float32)
        if X.ndim == 2:
            X = X[:, np.newaxis, :]
        y = np.asarray(self.y)
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y) or len(y) == 0:
            raise ValueError(
                "HeldOutScoring needs X of shape (n_trials, n_channels, n_times) and y of "
                f"shape (n_trials,) with n_trials > 0; got X {np.shape(self.X)} and y "
                f"{np.shape(self.y)}."
            )
        classes = np.unique(y) if self.classes is None else np.asarray(self.classes)
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes) or not np.array_equal(
            np.sort(classes), classes
        ):
            raise ValueError(
                "classes must be the sorted unique training labels, np.unique(y_train); "
                f"got {classes!r}."
            )
        index = np.searchsorted(classes, y)
        index[index == len(classes)] = 0
        unknown = classes[index] != y
        if unknown.any():
            raise ValueError(
                f"HeldOutScoring: labels {np.unique(y[unknown]).tolist()} of the held-out "
                f"set are not among the classes {classes.tolist()}."
            )
        self.X_, self.y_encoded_, self.classes_ = X, index, classes
        return self

    def release(self):
        """Drop the held-out trials once training ends (called by skeeg's fit).

        A fitted classifier then holds no trials: its pickle does not carry
        the held-out set. ``predictions_`` stays.
        """
        self.X = self.y = self.X_ = self.y_encoded_ = None

    def on_train_begin(self, net, **kwargs):
        if getattr(self, "X_", None) is None:
            raise ValueError(
                "This HeldOutScoring has released its trials after a fit; pass a new "
                "HeldOutScoring(X, y) to the classifier's callbacks."
            )
        n_classes = None if net.classes is None else len(net.classes)
        if n_classes is not None and n_classes != len(self.classes_):
            raise ValueError(
                f"HeldOutScoring knows {len(self.classes_)} classes {self.classes_.tolist()} "
                f"but the network predicts {n_classes}: pass classes=np.unique(y_train)."
            )
        self.predictions_ = []

    def on_epoch_end(self, net, **kwargs):
        was_training = net.module_.training
        predicted = np.asarray(net.predict_proba(self.X_)).argmax(axis=1)
        net.module_.train(was_training)
        net.history.record(self.name, float(np.mean(predicted == self.y_encoded_)))
        if self.keep_predictions:
            self.predictions_.append(self.classes_[predicted])


class ValidationEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` on the validation loss, restoring the best epoch's weights.

    A classifier's net keeps it for its whole life and switches it per
    call: ``active`` is set by the fit routine, on where the call has a
    validation split and ``early_stopping=True``, off otherwise (every
    ``partial_fit``), where there is no validation loss to watch.

    Parameters
    ----------
    patience : int, default=5
        Epochs without improvement before training stops.
    active : bool, default=True
        Whether it watches this call's epochs.
    """

    def __init__(self, patience=5, active=True):
        super().__init__(monitor="valid_loss", patience=patience, load_best=True)
        self.active = active

    def on_train_begin(self, net, **kwargs):
        if self.active:
            super().on_train_begin(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        if self.active:
            super().on_epoch_end(net, **kwargs)

    def on_train_end(self, net, **kwargs):
        if self.active:
            super().on_train_end(net, **kwargs)


class MembersEarlyStopping(ValidationEarlyStopping):
    """Early stopping for each member of ``n_members`` networks on its own validation loss.

    Member ``i`` follows skorch's rule on ``valid_loss_m{i}`` (recorded by
    :class:`MemberLosses`): an epoch improves when its loss is below the best
    by skorch's relative threshold; after ``patience`` epochs without one the
    member's choice is final (later epochs are not considered, as training
    alone would have stopped). Training stops when every member's choice is
    final, and each member gets its own best epoch's weights back.

    Attributes
    ----------
    member_best_epochs_ : list of int
        Per member, the epoch whose weights it ends with (after training).
    """

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        if self.active:
            self.members_ = [
                {"threshold": self.dynamic_threshold_, "misses": 0, "epoch": None,
                 "weights": None, "final": False}
                for _ in net.module_.networks
            ]

    def on_epoch_end(self, net, **kwargs):
        if not self.active:
            return
        for index, member in enumerate(self.members_):
            if member["final"]:
                continue
            score = net.history[-1, f"valid_loss_m{index}"]
            if score < member["threshold"]:
                member.update(misses=0, threshold=self._calc_new_threshold(score),
                              epoch=net.history[-1, "epoch"],
                              weights=copy.deepcopy(net.module_.networks[index].state_dict()))
            else:
                member["misses"] += 1
            member["final"] = member["misses"] >= self.patience
        if all(member["final"] for member in self.members_):
            if net.verbose:
                self._sink(f"Stopping since every member's validation loss has not improved "
                           f"in its last {self.patience} epochs.", verbose=net.verbose)
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if not self.active:
            return
        last = net.history[-1, "epoch"]
        for index, member in enumerate(self.members_):
            if member["weights"] is not None and member["epoch"] != last:
                net.module_.networks[index].load_state_dict(member["weights"])
        self.member_best_epochs_ = [member["epoch"] for member in self.members_]
        self.best_epoch_ = max((e for e in self.member_best_epochs_ if e is not None), default=None)

    def release(self):
        """Drop the copies of the members' best weights (restored at the end of training)."""
        self.members_ = None


class MemberLosses(Callback):
    """Each member's training and validation loss per epoch: ``train_loss_m{i}``, ``valid_loss_m{i}``.

    Averaged over the epoch's batches, weighted by their trials, as skorch
    averages ``train_loss`` and ``valid_loss``; read from the members' loss
    (:class:`skeeg._members.MemberLoss`), in float64, on the device, once
    per epoch.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.sums_, self.counts_ = {}, {}

    def on_batch_end(self, net, batch, training=False, **kwargs):
        losses = getattr(net.criterion_, "last_", None)
        if losses is None:
            return
        n = len(batch[0])
        self.sums_[training] = self.sums_.get(training, 0) + losses.double() * n
        self.counts_[training] = self.counts_.get(training, 0) + n
        net.criterion_.last_ = None

    def on_epoch_end(self, net, **kwargs):
        for training, prefix in ((True, "train"), (False, "valid")):
            if self.counts_.get(training):
                means = (self.sums_[training] / self.counts_[training]).tolist()
                for index, value in enumerate(means):
                    net.history.record(f"{prefix}_loss_m{index}", value)


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
