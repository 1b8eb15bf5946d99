"""skeeg: scikit-learn compatible deep-learning estimators for EEG classification.

The classifiers take EEG trials shaped ``(n_trials, n_channels, n_times)``
and behave like any scikit-learn classifier; :class:`DEAPReducer` turns
trials into the statistical features of the DEAP emotion study.
"""

from .classifiers import (
    ATCNetClassifier,
    CNNClassifier,
    DeepConvNetClassifier,
    DNNClassifier,
    EEGConformerClassifier,
    EEGNetClassifier,
    ShallowFBCSPNetClassifier,
)
from .preprocessing import DEAPReducer

__version__ = "0.1.0.dev0"

__all__ = [
    "ATCNetClassifier",
    "CNNClassifier",
    "DEAPReducer",
    "DNNClassifier",
    "DeepConvNetClassifier",
    "EEGConformerClassifier",
    "EEGNetClassifier",
    "ShallowFBCSPNetClassifier",
    "__version__",
]
