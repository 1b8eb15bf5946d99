"""scikit-learn classifiers for skeeg's architectures.

Each class only declares its architecture's arguments and its defaults; the
training and prediction machinery lives in :class:`skeeg.base.BaseEEGClassifier`.
"""

from .base import BaseEEGClassifier, fill_training_doc
from .models import CNN, DNN, DeepConvNet, EEGNet

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


@fill_training_doc(**_MI_DEFAULTS)
class EEGNetClassifier(BaseEEGClassifier):
    """EEGNet as a scikit-learn classifier.

    The compact convolutional network of Lawhern et al. (2018), in the course
    variant used by the BCI Competition III IIIb study (``separable="full"``)
    or the paper's depthwise-separable form (``separable="depthwise"``). See
    :class:`skeeg.models.EEGNet` for the layers.

    Parameters
    ----------
    activation : {"elu", "relu", "leaky_relu"}, default="elu"
        Non-linearity after the spatial and the separable convolutions.
    separable : {"full", "depthwise"}, default="full"
        ``"full"``: a full convolution in block 2 (17,874 parameters for
        2 channels x 750 samples, 2 classes); ``"depthwise"``: the paper's
        depthwise + pointwise convolution (4,018 parameters).
    temporal_filters : int, default=16
        F1, the number of temporal filters.
    depth_multiplier : int, default=2
        D, spatial filters per temporal filter.
    separable_filters : int, default=32
        F2, filters of the block-2 convolution.
    kernel_length : int, default=51
        Length of the temporal kernels (samples).
    separable_kernel_length : int, default=15
        Length of the block-2 kernels.
    pool_length : int, default=4
        Average-pooling length after block 1.
    separable_pool_length : int, default=8
        Average-pooling length after block 2.
    dropout : float, default=0.25
        Dropout probability after each block.
    max_norm : bool, default=False
        The paper's max-norm limits (1.0 on the spatial filters, 0.25 on the
        classifier) applied after every optimiser step.
%(training_params)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        ``X.shape[1]`` in ``fit``: channels for 3-D input, samples for 2-D.
    n_channels_ : int
        Channels per trial seen in ``fit``.
    n_times_ : int
        Samples per trial seen in ``fit``.
    history_ : pandas.DataFrame
        Per epoch: ``train_loss``, ``train_acc``, ``valid_loss``,
        ``valid_acc`` (NaN without a validation split) and ``dur`` (seconds).
    net_ : skorch.NeuralNetClassifier
        The trained skorch net; ``net_.module_`` is the torch module.
    device_ : str
        The device the network was trained on.
    cuda_graph_ : bool
        Whether training steps were replayed from a CUDA graph (see
        ``cuda_graph``).

    See Also
    --------
    DeepConvNetClassifier : A deeper ConvNet for the same data.

    Notes
    -----
    A 2-D ``X`` of shape ``(n_trials, n_features)`` is read as one channel of
    ``n_features`` samples.

    References
    ----------
    .. [1] V. J. Lawhern et al., "EEGNet: a compact convolutional neural
       network for EEG-based brain-computer interfaces", J. Neural Eng. 15
       (2018) 056013.

    Examples
    --------
    >>> from skeeg import EEGNetClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=80, n_channels=4, n_times=256, random_state=0)
    >>> clf = EEGNetClassifier(max_epochs=5, random_state=0).fit(data.X, data.y)
    >>> clf.predict_proba(data.X[:2]).shape
    (2, 2)
    """

    _module_class = EEGNet
    _module_params = (
        "activation",
        "separable",
        "temporal_filters",
        "depth_multiplier",
        "separable_filters",
        "kernel_length",
        "separable_kernel_length",
        "pool_length",
        "separable_pool_length",
        "dropout",
        "max_norm",
    )

    def __init__(
        self,
        activation="elu",
        separable="full",
        temporal_filters=16,
        depth_multiplier=2,
        separable_filters=32,
        kernel_length=51,
        separable_kernel_length=15,
        pool_length=4,
        separable_pool_length=8,
        dropout=0.25,
        max_norm=False,
        max_epochs=300,
        batch_size=64,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        validation_fraction=0.2,
        early_stopping=True,
        patience=50,
        class_weight=None,
        init="default",
        device="cpu",
        precision="float32",
        cuda_graph=True,
        standardize=True,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.activation = activation
        self.separable = separable
        self.temporal_filters = temporal_filters
        self.depth_multiplier = depth_multiplier
        self.separable_filters = separable_filters
        self.kernel_length = kernel_length
        self.separable_kernel_length = separable_kernel_length
        self.pool_length = pool_length
        self.separable_pool_length = separable_pool_length
        self.dropout = dropout
        self.max_norm = max_norm
        super().__init__(
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            class_weight=class_weight,
            init=init,
            device=device,
            precision=precision,
            cuda_graph=cuda_graph,
            standardize=standardize,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
        )


@fill_training_doc(**_MI_DEFAULTS)
class DeepConvNetClassifier(BaseEEGClassifier):
    """Deep ConvNet as a scikit-learn classifier.

    The deep convolutional network of Schirrmeister et al. (2017) with the
    layer sizes of the BCI Competition III IIIb course table. See
    :class:`skeeg.models.DeepConvNet` for the layers.

    Parameters
    ----------
    activation : {"elu", "relu", "leaky_relu"}, default="elu"
        Non-linearity after each block.
    n_filters : tuple of int, default=(25, 50, 100, 200)
        Width of each block.
    kernel_length : int, default=5
        Length of the temporal kernels (samples).
    pool_length : int, default=2
        Max-pooling length after each block.
    dropout : float, default=0.5
        Dropout probability after each block.
    bias : bool, default=False
        Whether the convolutions have biases (150,577 parameters without,
        150,977 with, for 2 channels x 750 samples, 2 classes).
    max_norm : bool, default=False
        Max-norm limits of the course table (2.0 on the convolutions, 0.5 on
        the classifier) applied after every optimiser step.
%(training_params)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        ``X.shape[1]`` in ``fit``: channels for 3-D input, samples for 2-D.
    n_channels_ : int
        Channels per trial seen in ``fit``.
    n_times_ : int
        Samples per trial seen in ``fit``.
    history_ : pandas.DataFrame
        Per-epoch losses and accuracies (see :class:`EEGNetClassifier`).
    net_ : skorch.NeuralNetClassifier
        The trained skorch net.
    device_ : str
        The device the network was trained on.
    cuda_graph_ : bool
        Whether training steps were replayed from a CUDA graph (see
        ``cuda_graph``).

    References
    ----------
    .. [1] R. T. Schirrmeister et al., "Deep learning with convolutional
       neural networks for EEG decoding and visualization", Hum. Brain Mapp.
       38 (2017) 5391-5420.

    Examples
    --------
    >>> from skeeg import DeepConvNetClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=80, n_channels=4, n_times=256, random_state=0)
    >>> clf = DeepConvNetClassifier(max_epochs=3, random_state=0).fit(data.X, data.y)
    >>> clf.predict(data.X[:3]).shape
    (3,)
    """

    _module_class = DeepConvNet
    _module_params = ("activation", "n_filters", "kernel_length", "pool_length", "dropout", "bias", "max_norm")

    def __init__(
        self,
        activation="elu",
        n_filters=(25, 50, 100, 200),
        kernel_length=5,
        pool_length=2,
        dropout=0.5,
        bias=False,
        max_norm=False,
        max_epochs=300,
        batch_size=64,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        validation_fraction=0.2,
        early_stopping=True,
        patience=50,
        class_weight=None,
        init="default",
        device="cpu",
        precision="float32",
        cuda_graph=True,
        standardize=True,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.activation = activation
        self.n_filters = n_filters
        self.kernel_length = kernel_length
        self.pool_length = pool_length
        self.dropout = dropout
        self.bias = bias
        self.max_norm = max_norm
        super().__init__(
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            class_weight=class_weight,
            init=init,
            device=device,
            precision=precision,
            cuda_graph=cuda_graph,
            standardize=standardize,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
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


@fill_training_doc(extra={"deap_attributes": _DEAP_ATTRIBUTES_DOC}, **_DNN_DEFAULTS)
class DNNClassifier(BaseEEGClassifier):
    """Dense network on DEAP statistical features, as a scikit-learn classifier.

    The DNN of Tripathi et al. (2017): dropout on the input, three hidden
    layers of 5000, 500 and 1000 ReLU units with dropout, and one logit for
    two classes (binary cross-entropy) or one per class (softmax). Its input
    is the ``(n_trials, n_channels, 99)`` block of :class:`skeeg.DEAPReducer`
    (``flatten=False``) or its flattened form read as one channel. See
    :class:`skeeg.models.DNN`.

    The training defaults are the study's recipe (RMSprop, lr 1e-4, batch
    310, 250 epochs, Xavier-normal weights and zero biases), except that a
    stratified fifth of the training trials is held out for early stopping.
    For the study's exact setting pass ``validation_fraction=0,
    early_stopping=False``.

    Parameters
    ----------
    activation : {"relu", "elu", "leaky_relu"}, default="relu"
        Non-linearity of the hidden layers.
    hidden_sizes : tuple of int, default=(5000, 500, 1000)
        Units of each hidden layer.
    input_dropout : float, default=0.25
        Dropout on the input features.
    dropout : float, default=0.5
        Dropout after each hidden layer.
%(training_params)s
%(deap_attributes)s
    References
    ----------
    .. [1] S. Tripathi, S. Acharya, R. D. Sharma, S. Mittal and S.
       Bhattacharya, "Using deep and convolutional neural networks for
       accurate emotion classification on DEAP dataset", AAAI 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skeeg import DEAPReducer, DNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 4, 512)), np.repeat([0, 1], 20)
    >>> pipe = make_pipeline(DEAPReducer(flatten=False),
    ...                      DNNClassifier(hidden_sizes=(64, 32), max_epochs=2, random_state=0))
    >>> pipe.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _module_class = DNN
    _module_params = ("activation", "hidden_sizes", "input_dropout", "dropout")

    def __init__(
        self,
        activation="relu",
        hidden_sizes=(5000, 500, 1000),
        input_dropout=0.25,
        dropout=0.5,
        max_epochs=250,
        batch_size=310,
        lr=1e-4,
        optimizer="rmsprop",
        weight_decay=0.0,
        validation_fraction=0.2,
        early_stopping=True,
        patience=30,
        class_weight=None,
        init="xavier_normal",
        device="cpu",
        precision="float32",
        cuda_graph=True,
        standardize=True,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.activation = activation
        self.hidden_sizes = hidden_sizes
        self.input_dropout = input_dropout
        self.dropout = dropout
        super().__init__(
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            class_weight=class_weight,
            init=init,
            device=device,
            precision=precision,
            cuda_graph=cuda_graph,
            standardize=standardize,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
        )


_CNN_DEFAULTS = dict(_DNN_DEFAULTS, batch_size=50, optimizer="momentum")


@fill_training_doc(extra={"deap_attributes": _DEAP_ATTRIBUTES_DOC}, **_CNN_DEFAULTS)
class CNNClassifier(BaseEEGClassifier):
    """Small CNN on DEAP statistical features, as a scikit-learn classifier.

    The CNN of Tripathi et al. (2017) reads the ``(n_channels, 99)`` feature
    block of :class:`skeeg.DEAPReducer` (``flatten=False``) as a one-channel
    image: two 3x3 convolutions (20 and 40 filters) with spatial dropout,
    2x2 max pooling, a dense layer of 128 units and one logit for two
    classes (binary cross-entropy) or one per class. See
    :class:`skeeg.models.CNN`.

    The training defaults are the study's recipe (SGD with momentum 0.9,
    lr 1e-4, batch 50, 250 epochs, Xavier-normal weights and zero biases),
    except that a stratified fifth of the training trials is held out for
    early stopping. For the study's exact setting pass
    ``validation_fraction=0, early_stopping=False``.

    Parameters
    ----------
    activation : {"relu", "elu", "leaky_relu"}, default="relu"
        Non-linearity after each convolution and the dense layer.
    conv_filters : tuple of int, default=(20, 40)
        Filters of each convolution.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    pool_size : int, default=2
        Side of the max-pooling window.
    hidden_size : int, default=128
        Units of the dense layer.
    input_dropout : float, default=0.25
        Dropout on the input block.
    conv_dropout : float, default=0.15
        Spatial dropout after each convolution.
    dropout : float, default=0.5
        Dropout before the dense layer.
    hidden_dropout : float, default=0.25
        Dropout after the dense layer.
%(training_params)s
%(deap_attributes)s
    References
    ----------
    .. [1] S. Tripathi, S. Acharya, R. D. Sharma, S. Mittal and S.
       Bhattacharya, "Using deep and convolutional neural networks for
       accurate emotion classification on DEAP dataset", AAAI 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skeeg import CNNClassifier, DEAPReducer
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 4, 512)), np.repeat([0, 1], 20)
    >>> pipe = make_pipeline(DEAPReducer(flatten=False),
    ...                      CNNClassifier(max_epochs=2, random_state=0))
    >>> pipe.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    """

    _module_class = CNN
    _module_params = (
        "activation",
        "conv_filters",
        "kernel_size",
        "pool_size",
        "hidden_size",
        "input_dropout",
        "conv_dropout",
        "dropout",
        "hidden_dropout",
    )

    def __init__(
        self,
        activation="relu",
        conv_filters=(20, 40),
        kernel_size=3,
        pool_size=2,
        hidden_size=128,
        input_dropout=0.25,
        conv_dropout=0.15,
        dropout=0.5,
        hidden_dropout=0.25,
        max_epochs=250,
        batch_size=50,
        lr=1e-4,
        optimizer="momentum",
        weight_decay=0.0,
        validation_fraction=0.2,
        early_stopping=True,
        patience=30,
        class_weight=None,
        init="xavier_normal",
        device="cpu",
        precision="float32",
        cuda_graph=True,
        standardize=True,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.activation = activation
        self.conv_filters = conv_filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.hidden_size = hidden_size
        self.input_dropout = input_dropout
        self.conv_dropout = conv_dropout
        self.dropout = dropout
        self.hidden_dropout = hidden_dropout
        super().__init__(
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            class_weight=class_weight,
            init=init,
            device=device,
            precision=precision,
            cuda_graph=cuda_graph,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
        )
