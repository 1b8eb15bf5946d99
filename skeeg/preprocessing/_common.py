"""What the transformers share: 3-D output kept as arrays, and the chunk size of their loops."""

import functools

# Trials are reduced in chunks of about this many samples so that the float64
# work buffers stay a few MiB (cache friendly, and far below the input's size).
CHUNK_SAMPLES = 2**20


def three_d_output_as_array(cls):
    """Class decorator: 3-D output is returned as an array under ``set_output``.

    scikit-learn wraps ``transform`` and ``fit_transform`` of every
    transformer so that ``set_output(transform="pandas")`` (or ``"polars"``,
    or the global ``transform_output``) turns their output into a DataFrame.
    A DataFrame has two axes, so wrapping 3-D output fails inside pandas
    ("Must pass 2-d input"). The methods are rewrapped to call the unwrapped
    computation when ``cls._output_is_3d(X)`` says the output will be 3-D,
    and scikit-learn's wrapper (a DataFrame when configured) otherwise.
    """
    for name in ("transform", "fit_transform"):
        wrapped = cls.__dict__[name]
        compute = getattr(wrapped, "__wrapped__", None)  # set by functools.wraps
        if compute is not None:  # None: this scikit-learn did not wrap it
            setattr(cls, name, _array_when_3d(wrapped, compute))
    return cls


def _array_when_3d(wrapped, compute):
    """``compute`` for 3-D output, scikit-learn's ``wrapped`` for 2-D output."""

    # functools.wraps keeps the signature (which metadata routing reads) and
    # the docstring of the computation, through __wrapped__.
    @functools.wraps(wrapped)
    def method(self, X, *args, **kwargs):
        if self._output_is_3d(X):
            return compute(self, X, *args, **kwargs)
        return wrapped(self, X, *args, **kwargs)

    return method
