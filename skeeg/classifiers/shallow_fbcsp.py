"""Shallow ConvNet as a scikit-learn classifier."""

from ..base import BaseEEGClassifier
from .._docs import fill_training_doc
from ..models import ShallowFBCSPNet
from ._defaults import _MI_DEFAULTS


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
        n_members=1,
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
            n_members=n_members,
        )
