"""Deep ConvNet as a scikit-learn classifier."""

from ..base import BaseEEGClassifier
from .._docs import fill_training_doc
from ..models import DeepConvNet
from ._defaults import _MI_DEFAULTS


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
        n_members=1,
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
            n_members=n_members,
        )
