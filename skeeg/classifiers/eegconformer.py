"""EEGConformer as a scikit-learn classifier."""

from ..base import BaseEEGClassifier
from .._docs import fill_training_doc
from ..models import EEGConformer
from ._defaults import _MI_DEFAULTS


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
        n_members=1,
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
            n_members=n_members,
        )
