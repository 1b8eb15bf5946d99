"""skeeg: scikit-learn compatible deep-learning estimators for EEG classification.

The classifiers take EEG trials shaped ``(n_trials, n_channels, n_times)``
and behave like any scikit-learn classifier; :class:`DEAPReducer` turns
trials into the statistical features of the DEAP emotion study.
"""

from .classifiers import CNNClassifier, DeepConvNetClassifier, DNNClassifier, EEGNetClassifier
# DEAPReducer lands with skeeg.preprocessing

__version__ = "0.1.0.dev0"

__all__ = [
    "CNNClassifier",
    "DNNClassifier",
    "DeepConvNetClassifier",
    "EEGNetClassifier",
    "__version__",
]
