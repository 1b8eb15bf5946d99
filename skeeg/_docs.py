"""The description of the training parameters, shared by every classifier's docstring."""

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
        np.bincount(y))`` of the trials of each ``fit``. ``partial_fit``
        refuses "balanced" (each call sees only some trials, as
        ``SGDClassifier`` rules): pass a dict computed with
        ``sklearn.utils.class_weight.compute_class_weight`` instead; its
        weights are fixed at the first call.
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
        When True, ``fit`` on a fitted classifier continues its fit (as
        scikit-learn's ``MLPClassifier``): the same network and skorch net
        train ``max_epochs`` more epochs, with a fresh optimiser state, a
        new validation split and early stopping, the input scaling of the
        first fit, class weights from the new trials, and labels among its
        ``classes_`` (fine-tuning to a new subject). ``partial_fit`` always
        continues, keeping the optimiser's state. Either way the callbacks
        keep their state (a learning-rate scheduler steps on from the epochs
        already run), ``history_`` continues (the new epochs are appended,
        numbered after the earlier ones, as ``MLPClassifier.loss_curve_``)
        and so does the stream of random numbers: the same calls with the
        same ``random_state`` give the same model, and no two calls repeat
        their batch orders, crops, augmentation or dropout. The network's
        own parameters, ``standardize`` and ``crop_length`` cannot change
        in a continued fit.
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
        Dropout and initialisation draw from torch's one global generator,
        so fits running at the same time in threads of one process are not
        repeatable: skeeg warns when that happens (run them in processes).
    verbose : int, default=0
        0 is silent, 1 prints a table of the epochs, 2 adds a progress bar.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks (``Callback`` instances or ``(name, Callback)``
        pairs). Each fit works on copies, so the list is unchanged; a
        callback that cannot be deep-copied (one holding a file, a lock or
        a logger) is rebuilt from its parameters, which are then shared
        with the original. A callback that monitors a validation key
        (``valid_loss``, ``valid_acc``, a validation score) is refused
        before training where no epoch records it: with
        ``validation_fraction=0`` and in ``partial_fit``.
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
    n_members : int, default=1
        Networks trained in this one fit (1 to 1024): each built like the
        others with its own initialisation and its own dropout and
        augmentation draws (all from ``random_state``; member 0 draws what a
        fit with ``n_members=1`` draws), trained on the same batches, each by
        its own loss, so each gets the gradient it would get alone.
        ``predict_proba`` is their soft vote (the mean of their
        probabilities), in both exports too. With early stopping each
        member keeps its own best epoch on the shared validation split, and
        training stops when every member's patience has run out.
        ``history_`` adds ``train_loss_m{i}`` and ``valid_loss_m{i}`` per
        member; ``train_loss`` is their mean, ``valid_loss`` and
        ``valid_acc`` are the vote's. Your own ``callbacks`` act on the fit
        as a whole: skorch's ``EarlyStopping`` or ``ReduceLROnPlateau``
        watch the vote's ``valid_loss`` (they stop or slow every member
        together), ``GradientNormClipping`` clips all members' gradients as
        one vector. A seed ensemble at the cost of one fit's data handling;
        each member costs its own parameters and activations, and a number
        of members whose estimated memory exceeds what the device has free
        is refused with the estimate. A module whose instances share a
        layer, or start from the same weights whatever the seed, cannot
        give members: refused with the reason.
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
