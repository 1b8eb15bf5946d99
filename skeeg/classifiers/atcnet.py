"""ATCNet as a scikit-learn classifier."""

from ..base import BaseEEGClassifier
from .._docs import fill_training_doc
from ..models import ATCNet
from ._defaults import _MI_DEFAULTS


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
        n_members=1,
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
            n_members=n_members,
        )
