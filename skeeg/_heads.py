"""The classifier head of a network: the layer that maps learned features to class logits.

``freeze='features'`` trains it alone; :func:`skeeg.inspection.embed` records
what enters it.
"""

import torch

from ._members import Members

# Attributes that hold the classifier head, in the order they are looked
# for: skeeg's networks name it ``classifier`` (ATCNet: a ModuleList of one
# linear layer per sliding window, or one for the concatenated windows);
# braindecode's name it ``final_layer``.
HEAD_NAMES = ("classifier", "final_layer")
def find_head(module, purpose="embed"):
    """The classifier head(s) of a network: a list of modules.

    Parameters
    ----------
    module : torch.nn.Module
        A network.
    purpose : str, default="embed"
        What needs the head, named in the error (``"embed"``,
        ``"freeze='features'"``).

    Returns
    -------
    heads : list of torch.nn.Module
        The module named by the first of :data:`HEAD_NAMES` that the
        network has; the elements of a ``ModuleList`` (ATCNet's per-window
        heads), in order. A network with none of these names (an
        ``nn.Sequential`` of one's own, say) gives its last layer with
        weights, in the order the layers were defined, when that layer is
        linear (``nn.Linear``).

    Raises
    ------
    ValueError
        If the network has neither a named head nor a last linear layer.
    """
    if isinstance(module, Members):  # every member's head, in order
        return [head for network in module.networks for head in find_head(network, purpose)]
    for name in HEAD_NAMES:
        head = getattr(module, name, None)
        if isinstance(head, torch.nn.ModuleList) and len(head) > 0:
            return list(head)
        if isinstance(head, torch.nn.Module) and not isinstance(head, torch.nn.ModuleList):
            return [head]
    weighted = [
        layer for layer in module.modules()
        if next(iter(layer.children()), None) is None
        and next(layer.parameters(recurse=False), None) is not None
    ]
    if weighted and isinstance(weighted[-1], torch.nn.Linear):
        return [weighted[-1]]
    last = type(weighted[-1]).__name__ if weighted else "none"
    raise ValueError(
        f"{purpose} cannot find the classifier head of {type(module).__name__}: it looks for "
        f"a sub-module named {' or '.join(repr(n) for n in HEAD_NAMES)} (the layer that maps "
        f"the learned features to the class logits), else a last layer that is nn.Linear "
        f"(this network's last layer with weights: {last}). Name the layer that computes "
        "the logits 'classifier'."
    )
