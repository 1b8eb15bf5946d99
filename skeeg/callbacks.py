"""skorch callbacks that skeeg's classifiers add to the training loop."""

from skorch.callbacks import Callback


class MaxNormConstraint(Callback):
    """Renormalise constrained weights after every optimiser step.

    Calls the module's ``apply_max_norm()``, which knows which layers carry
    a max-norm limit (EEGNet: the spatial filters and the classifier;
    DeepConvNet: every convolution and the classifier). skorch notifies
    ``on_batch_end`` after the step, for training batches only when
    ``training`` is true.
    """

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            net.module_.apply_max_norm()
