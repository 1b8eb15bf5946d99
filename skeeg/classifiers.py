"""scikit-learn classifiers for skeeg's architectures.

Each class only declares its architecture's arguments and its defaults; the
training and prediction machinery lives in :class:`skeeg.base.BaseEEGClassifier`.
"""

from .base import BaseEEGClassifier
from ._docs import fill_training_doc
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
    validation_groups_ : ndarray or None
        The groups held out as the validation set when ``fit`` got ``groups``;
        None otherwise.
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
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
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
            warm_start=warm_start,
            freeze=freeze,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
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
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
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
            warm_start=warm_start,
            freeze=freeze,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
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
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
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
            warm_start=warm_start,
            freeze=freeze,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
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
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
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
            standardize=standardize,
            warm_start=warm_start,
            freeze=freeze,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
        )


# The field's reference networks (issue 13), added after the course and DEAP networks.
from .models import ATCNet, EEGConformer, ShallowFBCSPNet  # noqa: E402


@fill_training_doc(**_MI_DEFAULTS)
class ShallowFBCSPNetClassifier(BaseEEGClassifier):
    """Shallow ConvNet (ShallowFBCSPNet) as a scikit-learn classifier.

    The network of Schirrmeister et al. (2017) that mirrors filter-bank
    CSP: temporal and spatial convolutions, batch normalisation, squaring,
    mean pooling, logarithm, dropout and a linear layer, applied to whole
    trials. Defaults as braindecode 0.8.1's ``ShallowFBCSPNet`` with
    ``final_conv_length="auto"`` (46,084 parameters for 22 channels x 1,000
    samples, 4 classes). See :class:`skeeg.models.ShallowFBCSPNet`.

    The training defaults are those of the other motor-imagery classifiers
    (:class:`EEGNetClassifier`); with ``init="default"`` the weights start
    Xavier-uniform, as in braindecode.

    Parameters
    ----------
    temporal_filters : int, default=40
        Number of temporal filters.
    spatial_filters : int, default=40
        Number of spatial filters.
    kernel_length : int, default=25
        Length of the temporal kernels (samples; 0.1 s at 250 Hz).
    pool_length : int, default=75
        Width of the mean pooling (samples).
    pool_stride : int, default=15
        Stride of the mean pooling (samples).
    dropout : float, default=0.5
        Dropout probability before the linear layer.
    max_norm : bool, default=False
        Max-norm limits (2.0 on both convolutions, 0.5 on the linear layer)
        applied after every optimiser step; braindecode 0.8.1 applies none.
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

    See Also
    --------
    DeepConvNetClassifier : The deep network of the same paper.

    References
    ----------
    .. [1] R. T. Schirrmeister et al., "Deep learning with convolutional
       neural networks for EEG decoding and visualization", Hum. Brain Mapp.
       38(11) (2017) 5391-5420.

    Examples
    --------
    >>> from skeeg import ShallowFBCSPNetClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=80, n_channels=4, n_times=256, random_state=0)
    >>> clf = ShallowFBCSPNetClassifier(max_epochs=3, random_state=0).fit(data.X, data.y)
    >>> clf.predict_proba(data.X[:2]).shape
    (2, 2)
    """

    _module_class = ShallowFBCSPNet
    _module_params = (
        "temporal_filters",
        "spatial_filters",
        "kernel_length",
        "pool_length",
        "pool_stride",
        "dropout",
        "max_norm",
    )

    def __init__(
        self,
        temporal_filters=40,
        spatial_filters=40,
        kernel_length=25,
        pool_length=75,
        pool_stride=15,
        dropout=0.5,
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
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
    ):
        self.temporal_filters = temporal_filters
        self.spatial_filters = spatial_filters
        self.kernel_length = kernel_length
        self.pool_length = pool_length
        self.pool_stride = pool_stride
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
            warm_start=warm_start,
            freeze=freeze,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
        )


@fill_training_doc(**_MI_DEFAULTS)
class EEGConformerClassifier(BaseEEGClassifier):
    """EEG Conformer as a scikit-learn classifier.

    The convolutional transformer of Song et al. (2023): a convolutional
    patch embedding, a transformer encoder and a fully connected
    classification head. Defaults as braindecode 0.8.1's ``EEGConformer``
    (789,572 parameters for 22 channels x 1,000 samples, 4 classes; the
    head's first layer is sized from ``n_times``). See
    :class:`skeeg.models.EEGConformer`.

    The training defaults are those of the other motor-imagery classifiers
    (:class:`EEGNetClassifier`), so that networks are compared under one
    recipe. The authors trained with ``lr=2e-4``, Adam's betas (0.5, 0.999),
    batches of 72, 2,000 epochs and segmentation-and-recombination
    augmentation, which this classifier does not do.

    Parameters
    ----------
    n_filters : int, default=40
        Number of convolutional filters, which is also the token size.
    kernel_length : int, default=25
        Length of the temporal kernels (samples; 0.1 s at 250 Hz).
    pool_length : int, default=75
        Width of the average pooling (samples): the span of one token.
    pool_stride : int, default=15
        Stride of the average pooling (samples).
    dropout : float, default=0.5
        Dropout probability of the patch embedding.
    attention_depth : int, default=6
        Number of transformer encoder blocks.
    attention_heads : int, default=10
        Number of attention heads; it must divide ``n_filters``.
    attention_dropout : float, default=0.5
        Dropout probability inside the transformer blocks.
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

    Notes
    -----
    No weight of this network has a max-norm limit, so it has no
    ``max_norm`` parameter.

    References
    ----------
    .. [1] Y. Song, Q. Zheng, B. Liu and X. Gao, "EEG Conformer:
       convolutional transformer for EEG decoding and visualization", IEEE
       Trans. Neural Syst. Rehabil. Eng. 31 (2023) 710-719.

    Examples
    --------
    >>> from skeeg import EEGConformerClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=80, n_channels=4, n_times=256, random_state=0)
    >>> clf = EEGConformerClassifier(attention_depth=2, max_epochs=2, random_state=0)
    >>> clf.fit(data.X, data.y).predict(data.X[:3]).shape
    (3,)
    """

    _module_class = EEGConformer
    _module_params = (
        "n_filters",
        "kernel_length",
        "pool_length",
        "pool_stride",
        "dropout",
        "attention_depth",
        "attention_heads",
        "attention_dropout",
    )

    def __init__(
        self,
        n_filters=40,
        kernel_length=25,
        pool_length=75,
        pool_stride=15,
        dropout=0.5,
        attention_depth=6,
        attention_heads=10,
        attention_dropout=0.5,
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
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
    ):
        self.n_filters = n_filters
        self.kernel_length = kernel_length
        self.pool_length = pool_length
        self.pool_stride = pool_stride
        self.dropout = dropout
        self.attention_depth = attention_depth
        self.attention_heads = attention_heads
        self.attention_dropout = attention_dropout
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
            warm_start=warm_start,
            freeze=freeze,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
        )


@fill_training_doc(**_MI_DEFAULTS)
class ATCNetClassifier(BaseEEGClassifier):
    """ATCNet as a scikit-learn classifier.

    The attention temporal convolutional network of Altaheri et al. (2023):
    an EEGNet-like convolutional block, then, in each of several sliding
    windows, multi-head self-attention and a temporal convolutional network,
    with the windows' logits averaged. Defaults as braindecode 0.8.1's
    ``ATCNet`` (113,732 parameters for 22 channels x 1,000 samples, 4
    classes). Kernel and pooling lengths are sample counts, quoted at
    250 Hz; there is no ``sfreq`` (see :class:`skeeg.models.ATCNet`).

    The training defaults are those of the other motor-imagery classifiers
    (:class:`EEGNetClassifier`).

    Parameters
    ----------
    temporal_filters : int, default=16
        F1, the number of temporal filters.
    depth_multiplier : int, default=2
        D, spatial filters per temporal filter.
    kernel_length : int, default=64
        Length of the first temporal kernels (samples; 0.256 s at 250 Hz).
    separable_kernel_length : int, default=16
        Length of the kernels of the second temporal convolution (samples).
    pool_length : int, default=8
        First average-pooling length (samples).
    separable_pool_length : int, default=7
        Second average-pooling length (samples).
    dropout : float, default=0.3
        Dropout probability of the convolutional block.
    n_windows : int, default=5
        Number of sliding windows.
    attention_heads : int, default=2
        Number of attention heads.
    attention_head_dim : int, default=8
        Size of each head's queries, keys and values.
    attention_dropout : float, default=0.5
        Dropout probability on the attention output.
    tcn_depth : int, default=2
        Residual blocks per temporal convolutional network.
    tcn_kernel_length : int, default=4
        Length of their kernels.
    tcn_filters : int, default=32
        Number of their filters.
    tcn_dropout : float, default=0.3
        Their dropout probability.
    concat : bool, default=False
        Concatenate the windows' summaries into one dense layer instead of
        averaging the windows' logits.
    max_norm : bool, default=True
        Limit the L2 norm of each output unit's weights of the dense layers
        to 0.25 after every optimiser step. On by default, unlike the other
        classifiers' ``max_norm``, because braindecode's ATCNet and the
        authors' code always apply it.
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

    References
    ----------
    .. [1] H. Altaheri, G. Muhammad and M. Alsulaiman, "Physics-informed
       attention temporal convolutional network for EEG-based motor imagery
       classification", IEEE Trans. Ind. Informat. 19(2) (2023) 2249-2258.

    Examples
    --------
    >>> from skeeg import ATCNetClassifier
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=80, n_channels=4, n_times=384, random_state=0)
    >>> clf = ATCNetClassifier(max_epochs=2, random_state=0).fit(data.X, data.y)
    >>> clf.predict_proba(data.X[:2]).shape
    (2, 2)
    """

    _module_class = ATCNet
    _module_params = (
        "temporal_filters",
        "depth_multiplier",
        "kernel_length",
        "separable_kernel_length",
        "pool_length",
        "separable_pool_length",
        "dropout",
        "n_windows",
        "attention_heads",
        "attention_head_dim",
        "attention_dropout",
        "tcn_depth",
        "tcn_kernel_length",
        "tcn_filters",
        "tcn_dropout",
        "concat",
        "max_norm",
    )

    def __init__(
        self,
        temporal_filters=16,
        depth_multiplier=2,
        kernel_length=64,
        separable_kernel_length=16,
        pool_length=8,
        separable_pool_length=7,
        dropout=0.3,
        n_windows=5,
        attention_heads=2,
        attention_head_dim=8,
        attention_dropout=0.5,
        tcn_depth=2,
        tcn_kernel_length=4,
        tcn_filters=32,
        tcn_dropout=0.3,
        concat=False,
        max_norm=True,
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
        warm_start=False,
        freeze=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        augmentation=None,
        crop_length=None,
        crop_stride=None,
    ):
        self.temporal_filters = temporal_filters
        self.depth_multiplier = depth_multiplier
        self.kernel_length = kernel_length
        self.separable_kernel_length = separable_kernel_length
        self.pool_length = pool_length
        self.separable_pool_length = separable_pool_length
        self.dropout = dropout
        self.n_windows = n_windows
        self.attention_heads = attention_heads
        self.attention_head_dim = attention_head_dim
        self.attention_dropout = attention_dropout
        self.tcn_depth = tcn_depth
        self.tcn_kernel_length = tcn_kernel_length
        self.tcn_filters = tcn_filters
        self.tcn_dropout = tcn_dropout
        self.concat = concat
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
            warm_start=warm_start,
            freeze=freeze,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            augmentation=augmentation,
            crop_length=crop_length,
            crop_stride=crop_stride,
        )
