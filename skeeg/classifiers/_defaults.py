"""Defaults and docstring parts shared by several classifiers."""

_MI_DEFAULTS = dict(
    max_epochs=300,
    batch_size=64,
    lr=1e-3,
    optimizer="adam",
    validation_fraction=0.2,
    early_stopping=True,
    patience=50,
    init="default",
)


_DEAP_ATTRIBUTES_DOC = """\
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        ``X.shape[1]`` in ``fit``: channels for 3-D input, features for 2-D.
    n_channels_ : int
        Channels per trial seen in ``fit``.
    n_times_ : int
        Features per channel seen in ``fit`` (99 after :class:`skeeg.DEAPReducer`).
    history_ : pandas.DataFrame
        Per-epoch losses and accuracies (see :class:`EEGNetClassifier`).
    validation_groups_ : ndarray or None
        The groups held out as the validation set when ``fit`` got ``groups``;
        None otherwise.
    net_ : skorch.NeuralNetClassifier
        The trained skorch net.
    device_ : str
        The device the network was trained on.
    cuda_graph_ : bool
        Whether training steps were replayed from a CUDA graph (see
        ``cuda_graph``).
"""

_DNN_DEFAULTS = dict(
    max_epochs=250,
    batch_size=310,
    lr=1e-4,
    optimizer="rmsprop",
    validation_fraction=0.2,
    early_stopping=True,
    patience=30,
    init="xavier_normal",
)
