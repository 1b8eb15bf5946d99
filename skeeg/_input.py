"""One input rule for MNE ``Epochs`` and arrays.

skeeg's estimators take trials as an array ``(n_trials, n_channels,
n_times)`` or as an :class:`mne.Epochs` object. From Epochs they read the EEG
channels (bad channels left out, as MNE's ``picks="eeg"`` does) in
microvolts, the channel names, the sampling rate and, when no labels are
given, the labels named by ``event_id``. MNE is an optional dependency: it is
never imported here, an Epochs object is recognised by its class.

scikit-learn's cross-validation indexes an object that is not an array
trial by trial, so ``cross_val_score(clf, epochs, y)`` hands the estimator a
list of one-trial Epochs: such a list is read as the Epochs it came from.

Containers numpy would misread are read here too (:func:`as_numpy`): torch
tensors of any dtype and device, masked arrays, sparse matrices.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch

# The unit EEG channels are read in: the amplitudes these networks were
# designed for (and what most EEG files hold).
EPOCHS_UNITS = "uV"


@dataclass
class EpochsData:
    """What skeeg reads from an Epochs object (or a list of them)."""

    X: np.ndarray
    labels: np.ndarray
    ch_names: list
    sfreq: float


def is_epochs(X):
    """Whether ``X`` is an MNE Epochs object (without importing MNE)."""
    return any(
        cls.__name__ == "BaseEpochs" and cls.__module__.startswith("mne")
        for cls in type(X).__mro__
    )


def _is_mne(X):
    return any(cls.__module__.split(".")[0] == "mne" for cls in type(X).__mro__)


def is_epochs_input(X):
    """Epochs, or a non-empty list of them as scikit-learn's indexing makes.

    Raises
    ------
    TypeError
        For another MNE object (``Raw``, ``Evoked``...), which holds no
        trials, or a list mixing Epochs with anything else.
    """
    if is_epochs(X):
        return True
    items = list(X) if isinstance(X, (list, tuple)) else [X]
    kinds = [item for item in items[:1000] if _is_mne(item) and not is_epochs(item)]
    if kinds:
        raise TypeError(
            f"X is an MNE {type(kinds[0]).__name__} object"
            + (" (in a list)" if items[0] is not X else "")
            + "; skeeg reads trials from mne.Epochs (or arrays). Cut continuous data into "
            "Epochs around its events (mne.Epochs(raw, events, event_id, tmin, tmax)); an "
            "Evoked is an average, not trials."
        )
    if not isinstance(X, (list, tuple)) or not X:
        return False
    epochs = [is_epochs(item) for item in X]
    if any(epochs) and not all(epochs):
        raise TypeError(
            f"X is a list mixing mne.Epochs with other objects (item {epochs.index(False)} "
            f"is a {type(X[epochs.index(False)]).__name__}); pass one Epochs object or an "
            "array."
        )
    return all(epochs)


def as_numpy(value, name="X"):
    """Tensors and masked arrays as numpy arrays, or a refusal; anything else unchanged.

    What ``np.asarray`` would misread or fail on inside torch or numpy:

    - a torch tensor of any dtype and device: detached, copied to the host,
      dtypes numpy lacks (``bfloat16``, float8) as float32, quantized ones
      dequantized; refused if sparse, nested, complex or on the ``meta``
      device (which holds no values);
    - a masked array: its data if no entry is masked; refused otherwise
      (``np.asarray`` would keep the masked entries' stale values);
    - a scipy sparse matrix: refused (EEG trials are dense);
    - a list or tuple of tensors or masked arrays: each item as above.

    Parameters
    ----------
    value : object
        ``X``, ``y``, ``groups`` or ``classes`` as the user passed it.
    name : str
        Its name in messages.

    Returns
    -------
    ndarray, list or the object given
        Lists and other objects (DataFrames, arrays) come back unchanged
        when they hold no tensor or masked array.

    Raises
    ------
    ValueError
        A masked entry, a tensor on the meta device, complex numbers.
    TypeError
        A sparse tensor or matrix, a nested tensor.
    """
    if isinstance(value, torch.Tensor):
        return _tensor_to_numpy(value, name)
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmask(value)
        if mask is not np.ma.nomask and mask.any():
            raise ValueError(
                f"{name} is a masked array with {int(mask.sum())} masked entries; skeeg does "
                f"not guess their values. Fill them ({name}.filled(value)), interpolate "
                "them, or leave out the trials that hold them."
            )
        return np.ma.getdata(value)
    if scipy.sparse.issparse(value):
        raise TypeError(
            f"{name} is a scipy sparse matrix ({type(value).__name__}); skeeg reads dense "
            f"EEG trials. Pass {name}.toarray() if it is meant as dense trials."
        )
    if isinstance(value, (list, tuple)) and any(
        isinstance(item, (torch.Tensor, np.ma.MaskedArray)) for item in value[:1000]
    ):
        return [as_numpy(item, f"{name}[{i}]") for i, item in enumerate(value)]
    return value


def _tensor_to_numpy(tensor, name):
    """A tensor's values as a numpy array on the host (see :func:`as_numpy`)."""
    if tensor.layout != torch.strided:
        raise TypeError(
            f"{name} is a sparse torch tensor (layout {tensor.layout}); skeeg reads dense "
            f"EEG trials. Pass {name}.to_dense() if it is meant as dense trials."
        )
    if tensor.is_nested:
        raise TypeError(
            f"{name} is a nested torch tensor, whose items may differ in shape; pass one "
            "tensor of shape (n_trials, n_channels, n_times) (pad or crop to one length)."
        )
    if tensor.is_meta:
        raise ValueError(
            f"{name} is a torch tensor on the 'meta' device, which holds shapes but no "
            "values: pass a tensor on the CPU or a GPU."
        )
    if tensor.is_complex():
        raise ValueError(
            f"Complex data not supported: {name} is a complex torch tensor ({tensor.dtype}). "
            f"skeeg reads real EEG samples: pass {name}.real, or {name}.abs() for amplitudes."
        )
    tensor = tensor.detach()
    if tensor.is_quantized:
        tensor = tensor.dequantize()
    if tensor.is_floating_point() and tensor.dtype not in NUMPY_FLOATS:
        tensor = tensor.float()  # bfloat16, float8: numpy has no such dtype
    # resolve_neg: a lazily negated view (torch's negative bit) numpy cannot read.
    return tensor.cpu().resolve_neg().numpy()


# The floating-point tensor dtypes numpy reads as they are.
NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)


def read_epochs(X):
    """Read EEG trials in microvolts, their labels, channel names and sampling rate.

    Parameters
    ----------
    X : mne.Epochs or list of mne.Epochs
        A list (as scikit-learn's cross-validation builds it) must hold
        Epochs with the same channels and sampling rate.

    Returns
    -------
    EpochsData
        ``X`` float64 ``(n_trials, n_eeg_channels, n_times)`` in microvolts;
        ``labels`` the event names from ``event_id`` (None where an event's
        code has no name); ``ch_names`` and ``sfreq``.

    Raises
    ------
    ValueError
        No trials, no EEG channel (or only bad ones), Epochs in a list that
        disagree on channels or sampling rate.
    """
    parts = [X] if is_epochs(X) else list(X)
    first = parts[0]
    read = [_read_one(epochs) for epochs in parts]
    ch_names, sfreq = read[0][2], read[0][3]
    for i, (_, _, names, rate) in enumerate(read[1:], start=1):
        if names != ch_names or rate != sfreq:
            raise ValueError(
                f"The Epochs in this list disagree: item {i} has channels {names} at "
                f"{rate} Hz, item 0 {ch_names} at {sfreq} Hz. Pass one Epochs object, or "
                "Epochs with the same channels and sampling rate."
            )
    data = np.concatenate([part[0] for part in read]) if len(read) > 1 else read[0][0]
    labels = np.concatenate([part[1] for part in read]) if len(read) > 1 else read[0][1]
    if len(data) == 0:
        raise ValueError(
            f"The Epochs object holds no trials ({type(first).__name__} with 0 epochs: all "
            "dropped?). Check its drop log (epochs.drop_log) and rejection thresholds."
        )
    return EpochsData(data, labels, ch_names, sfreq)


def _read_one(epochs):
    """``(X, labels, ch_names, sfreq)`` of one Epochs object."""
    info = epochs.info
    types = dict(zip(epochs.ch_names, epochs.get_channel_types()))
    eeg = [name for name in epochs.ch_names if types[name] == "eeg"]
    usable = [name for name in eeg if name not in info["bads"]]
    if not usable:
        raise ValueError(
            f"The Epochs object has no usable EEG channel: {len(eeg)} EEG channels, "
            f"{len(eeg) - len(usable)} of them marked bad (info['bads'] = {info['bads']}), "
            f"among {len(epochs.ch_names)} channels. skeeg reads the EEG channels that are "
            "not marked bad: interpolate or unmark bad channels, or set their type to 'eeg'."
        )
    # Read first: for Epochs not loaded yet, reading drops the bad epochs and
    # only then are their number and events known.
    X = epochs.get_data(picks=usable, units=EPOCHS_UNITS)
    if len(X) == 0:
        return X, np.empty(0, object), usable, float(info["sfreq"])
    names = {}
    for name, code in epochs.event_id.items():
        if code in names:  # a label chosen between two names would be a guess
            raise ValueError(
                f"event_id gives the event code {code} two names, {names[code]!r} and "
                f"{name!r}, so its epochs' label is ambiguous: keep one name per code "
                "(epochs.event_id) or pass y explicitly."
            )
        names[code] = name
    labels = np.array([names.get(code) for code in epochs.events[:, 2]], dtype=object)
    if all(isinstance(label, str) for label in labels):
        labels = labels.astype(str)
    return X, labels, usable, float(info["sfreq"])


def labels_from_events(data):
    """The event names of the trials, or a clear error for events ``event_id`` does not name."""
    unnamed = np.array([label is None for label in data.labels.tolist()])
    if unnamed.any():
        raise ValueError(
            f"{int(unnamed.sum())} of {len(unnamed)} epochs have an event code that "
            "event_id does not name, so they have no label: pass y explicitly, or give "
            "every event code a name in event_id."
        )
    return data.labels


def order_channels(data, ch_names, sfreq, estimator):
    """The trials with their channels in the fitted order; refuse other channels or rates."""
    name = type(estimator).__name__
    if sfreq is not None and not np.isclose(data.sfreq, sfreq):
        raise ValueError(
            f"These Epochs are sampled at {data.sfreq:g} Hz, but {name} was fitted on "
            f"{sfreq:g} Hz: resample them (epochs.resample({sfreq:g})) first."
        )
    if ch_names is None:
        return data.X
    missing = [c for c in ch_names if c not in data.ch_names]
    extra = [c for c in data.ch_names if c not in ch_names]
    if missing or extra:
        raise ValueError(
            f"These Epochs' EEG channels differ from those {name} was fitted on: "
            + "; ".join(
                text for text in (
                    f"missing {missing}" if missing else "",
                    f"not seen in fit {extra}" if extra else "",
                ) if text
            )
            + ". Pick the fitted channels (epochs.pick(clf.ch_names_)) or interpolate the "
            "missing ones."
        )
    order = [data.ch_names.index(c) for c in ch_names]
    return data.X if order == list(range(len(order))) else data.X[:, order]


def epochs_to_array(estimator, X, reset):
    """For transformers: ``X`` as an array if it is Epochs, recording or checking its channels.

    ``fit`` (``reset=True``) records ``ch_names_`` and ``sfreq_`` (None for
    arrays); later calls reorder the channels to them or refuse other ones.
    Tensors and masked arrays are read by :func:`as_numpy`.
    """
    if is_epochs_input(X):
        data = read_epochs(X)
        if reset:
            estimator.ch_names_, estimator.sfreq_ = list(data.ch_names), data.sfreq
            return data.X
        return order_channels(data, getattr(estimator, "ch_names_", None),
                              getattr(estimator, "sfreq_", None), estimator)
    if reset:
        estimator.ch_names_ = estimator.sfreq_ = None
    return as_numpy(X)


def event_labels(epochs):
    """The label of each epoch: its event's name in ``event_id``.

    What a skeeg classifier reads when ``fit(epochs)`` gets no ``y``. Pass
    it as ``y`` where the Epochs do not reach the classifier themselves: a
    ``Pipeline`` whose transformer (``DEAPReducer``, ``EuclideanAlignment``)
    turns them into an array first, or scikit-learn's splitters and scorers
    that need ``y`` up front.

    Parameters
    ----------
    epochs : mne.Epochs
        Epochs whose every event code is named in ``event_id`` (Epochs not
        loaded yet are loaded, which drops the epochs they reject).

    Returns
    -------
    labels : ndarray of shape (n_epochs,)
        Event names, for example ``"left_hand"``.

    Raises
    ------
    TypeError
        If ``epochs`` is not an mne.Epochs object.
    ValueError
        If an event code has no name, or two names.

    Examples
    --------
    >>> pipe = make_pipeline(EuclideanAlignment(), EEGNetClassifier())  # doctest: +SKIP
    >>> pipe.fit(epochs, event_labels(epochs))  # doctest: +SKIP
    """
    if not is_epochs_input(epochs):
        raise TypeError(f"event_labels takes mne.Epochs; got {type(epochs).__name__}.")
    return labels_from_events(read_epochs(epochs))
