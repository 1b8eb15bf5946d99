"""skeeg: scikit-learn compatible deep-learning estimators for EEG classification."""

__version__ = "0.1.0.dev0"
