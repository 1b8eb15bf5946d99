"""skeeg: scikit-learn compatible deep-learning estimators for EEG classification.

The classifiers take EEG trials shaped ``(n_trials, n_channels, n_times)``
(or :class:`mne.Epochs`) and behave like any scikit-learn classifier;
:class:`DEAPReducer` turns trials into the statistical features of the DEAP
emotion study, :class:`EuclideanAlignment` aligns subjects. :func:`save` (or a
classifier's ``save`` method) writes a fitted classifier to one file and
:func:`load` reads it back; :func:`event_labels` gives the
labels of Epochs where a Pipeline needs them as ``y``.
"""

# Set before the submodules are imported: serialization and export record it.
__version__ = "0.1.0.dev0"

from .classifiers import (  # noqa: E402
    ATCNetClassifier,
    CNNClassifier,
    DeepConvNetClassifier,
    DNNClassifier,
    EEGConformerClassifier,
    EEGNetClassifier,
    ShallowFBCSPNetClassifier,
)
from ._input import event_labels
from .generic import EEGClassifier
from .preprocessing import DEAPReducer, EuclideanAlignment
from .serialization import load, save

__all__ = [
    "ATCNetClassifier",
    "CNNClassifier",
    "DEAPReducer",
    "DNNClassifier",
    "DeepConvNetClassifier",
    "EEGClassifier",
    "EEGConformerClassifier",
    "EEGNetClassifier",
    "EuclideanAlignment",
    "ShallowFBCSPNetClassifier",
    "__version__",
    "event_labels",
    "load",
    "save",
]
