"""EEGNet as a scikit-learn classifier."""

from ..base import BaseEEGClassifier
from .._docs import fill_training_doc
from ..models import EEGNet
from ._defaults import _MI_DEFAULTS


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
        n_members=1,
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
            n_members=n_members,
        )
