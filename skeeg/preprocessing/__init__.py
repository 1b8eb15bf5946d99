"""Transformers for EEG trials: feature reduction and alignment.

:class:`DEAPReducer` turns trials into the windowed statistics of the DEAP
emotion study; :class:`EuclideanAlignment` aligns the trials of subjects or
sessions. Both declare their parameters in one table (scikit-learn's
``_parameter_constraints``), checked when they are used.
"""

from .alignment import EuclideanAlignment
# STAT_NAMES: the statistics' names, in the order of DEAPReducer's output.
from .deap_reducer import STAT_NAMES, DEAPReducer  # noqa: F401

__all__ = ["DEAPReducer", "EuclideanAlignment"]

# Named by their public path in pickles, messages and documentation.
DEAPReducer.__module__ = EuclideanAlignment.__module__ = __name__
