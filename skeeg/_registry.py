"""The classes that ``skeeg.save``, ``skeeg.load``, the exports and ``embed`` know.

Filled as the classes are defined (``BaseEEGClassifier.__init_subclass__``),
so that those modules need not import the estimators: the estimators import
them (``clf.save``), not the other way round. Only skeeg's own classes are
recorded as loadable; a user's subclass is loaded through ``trusted``.
"""

_BASE = []
_CLASSIFIERS = []


def register_base(cls):
    """Record the base class every skeeg classifier derives from; returns it."""
    _BASE[:] = [cls]
    return cls


def register_classifier(cls):
    """Record one of skeeg's classifier classes as loadable by name."""
    if cls.__module__.split(".")[0] == "skeeg":
        _CLASSIFIERS.append(cls)
    return cls


def is_classifier(obj):
    """Whether ``obj`` is a skeeg classifier (an instance of the base class)."""
    return bool(_BASE) and isinstance(obj, _BASE[0])


def is_classifier_class(cls):
    """Whether ``cls`` is a skeeg classifier class."""
    return isinstance(cls, type) and bool(_BASE) and issubclass(cls, _BASE[0])


def classifier_classes():
    """skeeg's classifier classes, by ``module.qualname`` (their public path, read now)."""
    return {f"{cls.__module__}.{cls.__qualname__}": cls for cls in _CLASSIFIERS}
