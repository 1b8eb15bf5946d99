"""scikit-learn classifiers for skeeg's architectures, one per file.

Each class only declares its architecture's arguments and its defaults; the
training and prediction machinery lives in :class:`skeeg.base.BaseEEGClassifier`.
"""

from .atcnet import ATCNetClassifier
from .deap import CNNClassifier, DNNClassifier
from .deepconvnet import DeepConvNetClassifier
from .eegconformer import EEGConformerClassifier
from .eegnet import EEGNetClassifier
from .shallow_fbcsp import ShallowFBCSPNetClassifier

__all__ = [
    "ATCNetClassifier",
    "CNNClassifier",
    "DNNClassifier",
    "DeepConvNetClassifier",
    "EEGConformerClassifier",
    "EEGNetClassifier",
    "ShallowFBCSPNetClassifier",
]

# Their public path, whatever file defines them: saved models and pickles name
# a class by module and name (``skeeg.classifiers.EEGNetClassifier``).
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
