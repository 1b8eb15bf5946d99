"""EuclideanAlignment: He and Wu's alignment of EEG trials across subjects or sessions."""

import warnings

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.covariance import shrunk_covariance
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._input import epochs_to_array
from .._validation import check_float32_range, check_groups, numeric_input
from .._constraints import RealRange
from ._common import CHUNK_SAMPLES, three_d_output_as_array


@three_d_output_as_array
class EuclideanAlignment(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Align EEG trials across subjects or sessions (Euclidean alignment).

    He and Wu's Euclidean alignment [1]_: the trials of each group (a
    subject, a session, a recording) are multiplied on the left by
    ``R^(-1/2)``, the inverse square root of the group's reference ``R``, the
    mean spatial covariance of its trials. The mean covariance of every
    group's aligned trials is then the identity, which removes differences
    between groups (head and skull, electrode placement and impedance, gain)
    that a classifier trained on other groups would otherwise have to
    overcome. It works on raw trials, so it can precede any classifier,
    skeeg's networks included.

    Parameters
    ----------
    shrinkage : "auto" or float in [0, 1], default="auto"
        Regularisation of each reference toward the scaled identity,
        ``(1 - a) R + a (trace(R) / n_channels) I``, as
        :func:`sklearn.covariance.shrunk_covariance` computes it. ``"auto"``
        chooses ``a`` for each group by the Ledoit-Wolf formula [2]_, as
        :func:`sklearn.covariance.ledoit_wolf_shrinkage` computes it on the
        group's samples pooled over its trials (treated as centred, like
        ``R``); a float is used for every group, and 0 gives the paper's
        plain mean.

        ``"auto"`` is the default because EEG is often rank-deficient:
        average-referenced data have rank ``n_channels - 1``, and so do data
        with an ICA component removed or a channel interpolated. Their ``R``
        is singular and has no inverse square root, or is near-singular and
        amplifies rounding noise. Ledoit-Wolf needs no tuning, gives a
        well-conditioned reference whatever the rank, and shrinks less as
        the number of pooled samples (``n_trials * n_times``) grows, so on
        well-conditioned data it stays close to the paper's estimate. It treats successive samples as independent, which
        EEG samples are not, and so shrinks little; pass a float for more.

    Attributes
    ----------
    groups_ : ndarray of shape (n_groups,) or None
        The distinct groups seen in :meth:`fit`, sorted; None when ``fit``
        had no groups (one reference for all trials).
    references_ : ndarray of shape (n_groups, n_channels, n_channels)
        The regularised reference of each group of ``groups_`` (a single one
        without groups), float64, in the unit of ``X`` squared.
    inv_sqrt_references_ : ndarray of shape (n_groups, n_channels, n_channels)
        ``R^(-1/2)`` of each reference, float64: :meth:`transform` multiplies
        the trials of group ``groups_[k]`` by ``inv_sqrt_references_[k]``.
    shrinkage_ : ndarray of shape (n_groups,)
        The shrinkage intensity used for each reference.
    n_channels_ : int
        Number of channels seen in :meth:`fit` (1 for 2-D ``X``).
    n_features_in_ : int
        ``X.shape[1]`` in :meth:`fit`: the number of channels for 3-D ``X``,
        of samples for 2-D ``X``.
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Column names of a 2-D ``X`` given as a DataFrame with string columns.

    See Also
    --------
    skeeg.datasets.make_motor_imagery : Synthetic trials of several subjects
        (``n_subjects``), with subject-specific mixing, gain and noise.

    Notes
    -----
    **Reference.** A trial ``X_i`` of shape ``(n_channels, n_times)`` has
    the covariance ``C_i = X_i X_i^T / n_times``, and ``R`` is the mean of
    ``C_i`` over the group's trials. Trials are not centred, as in the
    paper, which aligns band-pass filtered EEG: remove offsets and slow
    drifts (high-pass or band-pass filter) before aligning. Dividing by ``n_times`` changes the paper's
    ``R`` by a constant factor only: aligned trials have unit power per
    channel and sample (they are dimensionless), and a reference applies to
    trials of any length. ``R^(-1/2) = V diag(l^(-1/2)) V^T`` from the
    eigendecomposition ``R = V diag(l) V^T`` (:func:`scipy.linalg.eigh`) is
    symmetric, so each aligned channel remains the one closest to the input
    channel of the same position, and output channels keep the input's
    names. With shrinkage ``a > 0``, the aligned trials' mean covariance
    is ``R_a^(-1/2) R R_a^(-1/2)``: the identity up to the shrinkage.

    **Groups in fit and transform.** ``fit(X, groups=g)`` learns one
    reference per distinct value of ``g``. ``transform(X, groups=g)``
    aligns the trials of a group seen in ``fit`` with its stored reference.
    The trials of a group NOT seen in ``fit`` are aligned with a reference
    computed from those trials, in that call. This is transductive: it uses
    the new group's unlabelled trials (never labels: ``transform`` has none),
    as the paper does for a new subject, so give ``transform`` all of a new
    subject's trials at once (or a calibration block before the rest); the
    reference is not stored, and every call recomputes it from the trials it
    gets. Without groups, ``fit`` learns one reference from all trials and
    ``transform`` applies it to any trials. Groups go to both ``fit`` and
    ``transform`` or to neither: a mismatch is an error, since it would
    align training and test trials by different rules.

    **Too few trials.** A reference needs at least 2 trials of its group,
    else a ``ValueError``: aligning a single trial with its own reference
    would make its covariance the identity and remove all its spatial
    information. References from a few trials are noisy.

    **Labels.** ``y`` is accepted for pipelines and never read.

    **In a Pipeline.** A Pipeline passes ``groups`` to ``transform`` only
    through scikit-learn's metadata routing::

        sklearn.set_config(enable_metadata_routing=True)
        align = EuclideanAlignment().set_fit_request(groups=True)
        align.set_transform_request(groups=True)
        pipe = make_pipeline(align, classifier)
        pipe.fit(X, y, groups=subjects)
        pipe.predict(X_new, groups=new_subjects)
        cross_validate(pipe, X, y, cv=LeaveOneGroupOut(),
                       params={"groups": subjects})

    In the last line each test fold is a held-out subject, aligned
    transductively with its own trials. ``cross_val_predict`` routes
    ``params`` to ``fit`` only, so its predictions cannot carry groups:
    for out-of-fold predictions (a confusion matrix), loop over
    ``LeaveOneGroupOut().split(X, y, subjects)`` and call
    ``pipe.fit(..., groups=...)`` and ``pipe.predict(..., groups=...)``.
    A new group whose label reads like a fitted one (``"1"`` after ``1``)
    is aligned as new, with a warning.

    **Input shape.** ``X`` is ``(n_trials, n_channels, n_times)``; a 2-D
    ``X`` is read as ONE channel, as :class:`DEAPReducer` reads it (the
    alignment is then a scaling to unit power per group). ``transform``
    takes ``X`` laid out as in ``fit``: 3-D with the fitted channels (any
    ``n_times``), or 2-D with the fitted number of samples.

    **Input rule.** As the classifiers read it: a masked array is read
    when nothing is masked and refused otherwise; a torch tensor (any
    device, half and bfloat16 as float32, detached) as its values, a sparse
    or meta one refused; NaN, infinity and finite values beyond float32 are
    refused.

    **Precision and output.** References are computed in float64. The
    output has the shape of ``X`` and its dtype when float32 or float64
    (float32 trials, which skeeg's classifiers train on, stay float32), else
    float64. 3-D output is always a numpy array, whatever ``set_output``
    says (a DataFrame holds two axes); 2-D output follows ``set_output``.

    **Singular references.** An eigenvalue of the regularised reference
    below ``l_max * max((n_channels * eps) ** 2, n_channels * eps64)``,
    with ``eps`` the machine epsilon of ``X``'s dtype, cannot be told from
    zero at the precision of the data (amplitudes rounded to ``eps``) or of
    the eigendecomposition (``eps64``). Such a reference is refused with an
    error that suggests shrinkage: this happens with ``shrinkage=0`` on
    rank-deficient data.

    References
    ----------
    .. [1] H. He and D. Wu, "Transfer learning for brain-computer
           interfaces: a Euclidean space data alignment approach", IEEE
           Transactions on Biomedical Engineering 67(2), 2020, pp. 399-410.
    .. [2] O. Ledoit and M. Wolf, "A well-conditioned estimator for
           large-dimensional covariance matrices", Journal of Multivariate
           Analysis 88(2), 2004, pp. 365-411.

    Examples
    --------
    >>> import numpy as np
    >>> from skeeg.datasets import make_motor_imagery
    >>> from skeeg.preprocessing import EuclideanAlignment
    >>> data = make_motor_imagery(n_trials=60, n_channels=4, n_subjects=3,
    ...                           random_state=0)
    >>> align = EuclideanAlignment(shrinkage=0).fit(data.X, groups=data.subject)
    >>> align.groups_
    array([0, 1, 2])
    >>> X = align.transform(data.X, groups=data.subject)
    >>> X.shape, X.dtype
    ((60, 4, 500), dtype('float32'))
    >>> first = X[data.subject == 0]
    >>> mean_cov = np.mean(first @ first.transpose(0, 2, 1), axis=0) / 500
    >>> bool(np.allclose(mean_cov, np.eye(4), atol=1e-5))
    True
    """

    _parameter_constraints = {
        "shrinkage": [StrOptions({"auto"}), RealRange(0, 1, closed="both")],
    }

    def __init__(self, shrinkage="auto"):
        self.shrinkage = shrinkage

    def fit(self, X, y=None, groups=None):
        """Learn one reference per group of trials (one for all without groups).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or \
                (n_trials, n_times)
            EEG trials (2-D ``X`` is one channel). Never stored.
        y : None
            Ignored, never read.
        groups : array-like of shape (n_trials,), default=None
            Group (subject, session) of each trial: numbers or strings,
            without missing values. None: one reference for all trials.

        Returns
        -------
        self : EuclideanAlignment
            The fitted transformer.

        Raises
        ------
        ValueError
            For a bad ``shrinkage``; ``X`` that is not 2-D or 3-D, empty,
            non-finite, beyond the float32 range, a masked array with masked
            values, a sparse or meta tensor, or with fewer samples than
            channels; ``groups`` of the wrong length or with missing or
            infinite values; a group of one trial; a singular reference.
        """
        self._validate_params()
        X = self._validate(X, reset=True)
        groups = check_groups(groups, len(X))
        if groups is None:
            labels, members = None, [slice(None)]
        else:
            labels, inverse = np.unique(groups, return_inverse=True)
            members = [np.flatnonzero(inverse == k) for k in range(len(labels))]
        names = [None] if labels is None else labels.tolist()
        fitted = [_reference(X[rows], name, self.shrinkage) for rows, name in zip(members, names)]
        self.groups_ = labels
        self.references_ = np.stack([reference for reference, _, _ in fitted])
        self.inv_sqrt_references_ = np.stack([inv_sqrt for _, inv_sqrt, _ in fitted])
        self.shrinkage_ = np.array([shrinkage for _, _, shrinkage in fitted])
        self.n_channels_ = X.shape[1]
        return self

    def transform(self, X, groups=None):
        """Align trials: stored references for known groups, own ones for new.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or \
                (n_trials, n_times)
            EEG trials laid out as in :meth:`fit`: 3-D with the fitted
            number of channels, or 2-D with the fitted number of samples.
        groups : array-like of shape (n_trials,), default=None
            Group of each trial; required if and only if :meth:`fit` had
            groups. The trials of a group not seen in ``fit`` are aligned
            with a reference computed from these trials (transductive: their
            values only, no labels), at least 2 per such group.

        Returns
        -------
        X_new : ndarray of shape (n_trials, n_channels, n_times), or ndarray \
                or DataFrame of shape (n_trials, n_times)
            Aligned trials, dimensionless, in ``X``'s dtype when float32 or
            float64, else float64. 3-D output is always an ndarray.

        Raises
        ------
        ValueError
            For ``X`` laid out unlike the fitted data, non-finite, beyond
            the float32 range, masked, or with fewer samples than channels;
            aligned trials that overflow their dtype; ``groups`` given when ``fit`` had
            none or missing when it had some, of the wrong length or with
            missing values; a new group of one trial or with a singular
            reference.
        """
        check_is_fitted(self)
        self._validate_params()
        # Epochs first: their channels are checked (and named) by name.
        X = epochs_to_array(self, X, reset=False)
        two_d = self._check_layout(X)
        X = self._validate(X, reset=False)
        groups = check_groups(groups, len(X))
        if (groups is None) != (self.groups_ is None):
            if groups is None:
                mismatch = "with groups, but transform got none"
            else:
                mismatch = (
                    "without groups (one reference for all trials), but transform "
                    "got groups"
                )
            raise ValueError(
                f"EuclideanAlignment was fitted {mismatch}. Pass groups to both "
                "fit and transform, or to neither; in a "
                "Pipeline, with metadata routing enabled, call "
                "set_fit_request(groups=True) and set_transform_request(groups=True) "
                "and pass groups to fit and to predict, score or transform."
            )
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: _check_aligned
            if groups is None:
                Xt = np.matmul(self.inv_sqrt_references_[0].astype(X.dtype), X)
            else:
                Xt = np.empty_like(X)
                fitted = {label: k for k, label in enumerate(self.groups_.tolist())}
                labels, inverse = np.unique(groups, return_inverse=True)
                for k, label in enumerate(labels.tolist()):
                    rows = np.flatnonzero(inverse == k)
                    trials = X[rows]
                    if label in fitted:
                        inv_sqrt = self.inv_sqrt_references_[fitted[label]]
                    else:  # transductive: this call's trials of the new group
                        _warn_if_lookalike(label, fitted)
                        inv_sqrt = _reference(trials, label, self.shrinkage)[1]
                    Xt[rows] = np.matmul(inv_sqrt.astype(X.dtype), trials)
        _check_aligned(Xt)
        return Xt[:, 0] if two_d else Xt

    def fit_transform(self, X, y=None, groups=None):
        """Fit, then align the same trials: ``fit(X, y, groups).transform(X, groups)``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or \
                (n_trials, n_times)
            EEG trials.
        y : None
            Ignored, never read.
        groups : array-like of shape (n_trials,), default=None
            Group of each trial, or None for one reference.

        Returns
        -------
        X_new : ndarray or DataFrame
            As :meth:`transform` returns it.
        """
        return self.fit(X, y, groups=groups).transform(X, groups=groups)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _output_is_3d(self, X):
        """Whether :meth:`transform` returns 3-D output (then never a DataFrame)."""
        return _ndim(X) == 3

    def _check_layout(self, X):
        """Refuse X laid out unlike the fitted data; return whether X is 2-D."""
        ndim = _ndim(X)
        # Fitted on 2-D X: n_features_in_ counts samples, n_channels_ is 1.
        fitted_2d = self.n_features_in_ != self.n_channels_
        if ndim == 2 and self.n_channels_ > 1:
            raise ValueError(
                f"EuclideanAlignment was fitted on trials of {self.n_channels_} "
                f"channels, but X is 2-D (shape {_shape(X)}), which is read as "
                "one channel per trial. Pass X shaped (n_trials, "
                f"{self.n_channels_}, n_times); for a single trial, X[np.newaxis]."
            )
        if ndim == 3 and not fitted_2d and _shape(X)[1] != self.n_channels_:
            raise ValueError(
                f"X has {_shape(X)[1]} channel(s), but EuclideanAlignment was "
                f"fitted on {self.n_channels_}. Transform trials with the fitted "
                "channels."
            )
        if ndim == 3 and fitted_2d:
            raise ValueError(
                "EuclideanAlignment was fitted on 2-D X (one channel of "
                f"{self.n_features_in_} samples), but X is 3-D. Transform X laid "
                "out as in fit."
            )
        return ndim == 2

    def _validate(self, X, reset):
        """Check ``X``; return it as a 3-D float array."""
        X = epochs_to_array(self, X, reset)  # Epochs: as the classifiers read them
        # Masked arrays, tensors and values beyond float32 as the classifiers
        # read them: the covariance of 1e300 overflows.
        X = numeric_input(X)  # the classifiers' rule: dtypes, ragged lists, 0-/1-D
        check_float32_range(X)
        ndim = _ndim(X)
        if ndim not in (2, 3):
            raise ValueError(
                "EuclideanAlignment expects X of shape (n_trials, n_channels, "
                f"n_times), or (n_trials, n_times) for one channel; got {ndim} "
                "dimension(s). Reshape your data to one of these shapes."
            )
        with np.errstate(over="ignore", invalid="ignore"):  # the check's sum may overflow
            X = validate_data(
                self, X, reset=reset, allow_nd=True, dtype=[np.float64, np.float32]
            )
        if X.ndim == 2:
            X = X[:, np.newaxis, :]
        n_channels, n_times = X.shape[1:]
        if n_channels == 0 or n_times == 0:
            raise ValueError(
                f"X has {n_channels} channel(s) and {n_times} sample(s) per trial; "
                "EuclideanAlignment needs at least one of each."
            )
        if not reset and n_channels != self.n_channels_:
            raise ValueError(
                f"X has {n_channels} channel(s), but EuclideanAlignment was fitted "
                f"on {self.n_channels_}. Transform trials with the fitted channels."
            )
        if n_times < n_channels:
            # Almost always transposed axes; each trial's covariance is singular.
            raise ValueError(
                f"X has {n_times} samples per trial but {n_channels} channels: "
                "fewer samples than channels, so each trial's covariance is "
                "singular. Is X shaped (n_trials, n_times, n_channels)? "
                "EuclideanAlignment expects (n_trials, n_channels, n_times)."
            )
        return X

_EPS64 = np.finfo(np.float64).eps


def _reference(X, label, shrinkage):
    """Reference, its inverse square root and the shrinkage for trials ``X``.

    ``shrinkage`` is the parameter: "auto" or a real number in [0, 1].
    """
    where = "all trials" if label is None else f"group {label!r}"
    n_trials, n_channels, n_times = X.shape
    if n_trials < 2:
        raise ValueError(
            f"EuclideanAlignment needs at least 2 trials to compute a reference; "
            f"{where} has n_samples=1 (one trial). Aligning one trial with its "
            "own reference would make its covariance the identity and remove "
            "its spatial information; give more trials of this group."
        )
    covariance, fourth = _pooled_moments(X)
    if isinstance(shrinkage, str):  # "auto", the only string the table takes
        shrinkage = _ledoit_wolf_shrinkage(covariance, fourth, n_trials * n_times)
    else:
        shrinkage = float(shrinkage)
    reference = shrunk_covariance(covariance, shrinkage)
    eigenvalues, eigenvectors = scipy.linalg.eigh(reference)
    largest = eigenvalues[-1]
    if not largest > 0:
        raise ValueError(
            f"The reference of {where} is zero: its trials are all zeros, or so small "
            "(below about 1e-154) that their squares vanish in float64. Remove them, or "
            "check the unit of X; no alignment can scale them."
        )
    eps = np.finfo(X.dtype).eps
    # Rounding in the sum over the pooled samples grows as their root count.
    pooled = np.sqrt(n_trials * n_times)
    tolerance = largest * max((n_channels * eps) ** 2, n_channels * pooled * _EPS64)
    rank = int(np.sum(eigenvalues > tolerance))
    if rank < n_channels:
        raise ValueError(
            f"The reference covariance of {where} is singular (rank {rank} of "
            f"{n_channels} channels, shrinkage={shrinkage:.3g}): it has no "
            "inverse square root. Average-referenced EEG, or EEG with a "
            "component removed or a channel interpolated, has rank below its "
            "number of channels; use shrinkage='auto' or a larger float "
            "shrinkage."
        )
    inv_sqrt = (eigenvectors / np.sqrt(eigenvalues)) @ eigenvectors.T
    if not (np.isfinite(reference).all() and np.isfinite(inv_sqrt).all()):
        raise ValueError(
            f"The reference of {where} is not finite (its trials' squares overflow float64); "
            "check the unit of X."
        )
    return reference, inv_sqrt, shrinkage


def _check_aligned(Xt):
    """Refuse aligned trials that overflowed their dtype (trials far larger than fit's)."""
    if not np.isfinite(Xt).all():
        raise ValueError(
            f"The aligned trials overflow {Xt.dtype} (infinite values): the trials are far "
            "larger than those the references were fitted on. Check their unit, or pass "
            "float64 trials."
        )


def _warn_if_lookalike(label, fitted):
    """Warn when a new group's label reads like a fitted one (``"1"`` after ``1``)."""
    text = str(label).strip().casefold()
    twins = [known for known in fitted if str(known).strip().casefold() == text]
    if twins:
        warnings.warn(
            f"Group {label!r} was not seen in fit, so it is aligned with a reference "
            f"computed from its own trials; fit saw {twins[0]!r}, which reads the same. "
            "If they are the same subject, pass group labels of the same type and "
            "spelling to fit and transform (labels read back from a CSV file become "
            "strings).",
            UserWarning,
            stacklevel=3,
        )


def _shape(X):
    """Shape of array-like ``X`` (arrays, sparse matrices, DataFrames, lists)."""
    shape = getattr(X, "shape", None)
    return tuple(shape) if shape is not None else np.asarray(X).shape


def _ndim(X):
    return len(_shape(X))


def _pooled_moments(X):
    """Covariance of the samples of trials ``X`` pooled, and their fourth moment.

    Returns the float64 ``(n_channels, n_channels)`` mean of
    ``X_i X_i^T / n_times`` over trials, and the sum over all samples ``x``
    (columns of the trials) of ``|x|^4``, which Ledoit-Wolf needs. Computed
    in chunks of trials, so no pooled float64 copy of ``X`` is made.
    """
    n_trials, n_channels, n_times = X.shape
    covariance = np.zeros((n_channels, n_channels))
    fourth = 0.0
    step = max(1, CHUNK_SAMPLES // (n_channels * n_times))
    for start in range(0, n_trials, step):
        chunk = X[start : start + step].astype(np.float64, copy=False)
        covariance += np.sum(chunk @ chunk.transpose(0, 2, 1), axis=0)
        power = np.einsum("ict,ict->it", chunk, chunk)
        fourth += float(np.sum(power * power))
    return covariance / (n_trials * n_times), fourth


def _ledoit_wolf_shrinkage(covariance, fourth, n_samples):
    """Ledoit-Wolf shrinkage intensity from pooled moments.

    The same value as :func:`sklearn.covariance.ledoit_wolf_shrinkage` on the
    ``(n_samples, n_channels)`` pooled samples with ``assume_centered=True``,
    from the covariance ``S`` and the sum of ``|x|^4`` over samples, which
    are all its formula uses: this avoids pooling a copy of the trials.
    """
    n_channels = len(covariance)
    if n_channels == 1:
        return 0.0  # any shrinkage leaves a 1 x 1 covariance unchanged
    mu = np.trace(covariance) / n_channels
    squared_norm = np.sum(covariance**2)
    # Variance of the entries of S around their expectation, and distance of
    # S from mu * I, both per channel.
    beta = (fourth / n_samples - squared_norm) / (n_channels * n_samples)
    delta = (squared_norm - n_channels * mu**2) / n_channels
    if not delta > 0:
        return 0.0  # S is already a multiple of the identity
    # Clipped: rounding can make beta slightly negative.
    return float(np.clip(beta / delta, 0.0, 1.0))
