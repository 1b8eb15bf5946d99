"""The DEAP emotion DNN and CNN as scikit-learn classifiers."""

from ..base import BaseEEGClassifier
from .._docs import fill_training_doc
from ..models import CNN, DNN
from ._defaults import _DEAP_ATTRIBUTES_DOC, _DNN_DEFAULTS


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
        n_members=1,
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
            n_members=n_members,
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
        n_members=1,
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
            n_members=n_members,
        )


# The field's reference networks (issue 13), added after the course and DEAP networks.
