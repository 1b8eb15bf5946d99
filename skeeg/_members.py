"""Several networks of one architecture trained in one fit: ``n_members``.

A classifier with ``n_members > 1`` trains :class:`Members`, that many
networks built like its own, each with its own initialisation and its own
dropout and augmentation draws, on the same batches. The loss is the sum of
the members' losses (:class:`MemberLoss`): a member's parameters appear in
its own term only, so each gets exactly the gradient it would get alone on
that batch, and an element-wise optimiser (Adam, SGD, RMSprop...) steps each
as it would step it alone. Prediction is the soft vote: the mean of the
members' class probabilities, returned as the logits of that mean
(:func:`skeeg._training.mean_probability_logits`), so that every path that
reads logits (``predict``, validation, crops, both exports) takes the vote
as it would one network's output.

Random numbers. Member 0 draws from torch's global generator, as a single
network does, so it is the network a fit with ``n_members=1`` and the same
``random_state`` trains (to float rounding). The other members draw their
initialisation and dropout from generators of their own, seeded from the
fit's seed and their index (:func:`member_seeds`), swapped in around their
forward pass on the CPU. On a GPU they draw in turn from the device's one
generator (a CUDA graph cannot switch generators), repeatably but not as a
fit of their own would.
"""

import contextlib
import copy

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

from ._training import log_probabilities, mean_probability_logits, module_n_times
from ._training import resolve_device


def draw_seed(random_state):
    """The seed a new fit draws from ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def member_seeds(base, n_members):
    """Seeds of members 1.. of a fit whose seed is ``base`` (member 0 uses ``base`` itself)."""
    seeds = np.random.SeedSequence([int(base), 0x6D656D]).generate_state(max(n_members - 1, 0))
    return [int(seed & 0x7FFFFFFF) for seed in seeds]


class Members(nn.Module):
    """Networks of one architecture evaluated on the same trials; their soft vote.

    Parameters
    ----------
    networks : sequence of torch.nn.Module
        The members, each mapping ``(batch, n_channels, n_times)`` to logits
        ``(batch, n_outputs)`` with the same ``n_outputs``.

    Notes
    -----
    In training mode ``forward`` returns every member's logits, ``(n_members,
    batch, n_outputs)``, for :class:`MemberLoss`; in evaluation mode the
    vote, ``(batch, n_outputs)``, unless :meth:`selected` picks one member
    or :meth:`stacked` asks for all.
    An input of shape ``(n_members, batch, n_channels, n_times)`` gives each
    member its own trials (augmentation drawn per member).
    """

    def __init__(self, networks):
        super().__init__()
        self.networks = nn.ModuleList(networks)
        outputs = {int(network.n_outputs) for network in self.networks}
        if len(outputs) != 1:
            raise ValueError(f"members must have one number of outputs; got {sorted(outputs)}.")
        self.n_outputs = outputs.pop()
        self.n_members = len(self.networks)
        self.only = None  # a member picked by selected()
        self.stack = False  # every member's logits in evaluation too: stacked()
        self.generators_ = None  # set by seed(): members 1.. draw from their own

    def seed(self, seeds):
        """Give members 1.. generators of their own, seeded with ``seeds`` (one each)."""
        self.generators_ = [torch.Generator().manual_seed(int(s)) for s in seeds]

    @contextlib.contextmanager
    def stacked(self):
        """Within the block, evaluation returns every member's logits, not the vote."""
        self.stack = True
        try:
            yield
        finally:
            self.stack = False

    @contextlib.contextmanager
    def selected(self, index):
        """Within the block, evaluation returns member ``index``'s logits alone."""
        self.only = index
        try:
            yield
        finally:
            self.only = None

    @contextlib.contextmanager
    def drawing(self, index, device):
        """Member ``index``'s random draws: its own generator on the CPU, swapped in."""
        generators = self.generators_
        if index == 0 or generators is None or torch.device(device).type != "cpu":
            yield
            return
        generator = generators[index - 1]
        saved = torch.get_rng_state()
        torch.set_rng_state(generator.get_state())
        try:
            yield
        finally:
            generator.set_state(torch.get_rng_state())
            torch.set_rng_state(saved)

    def run(self, x, member_forward, together=None):
        """The output described in the class notes, each member through ``member_forward``.

        ``member_forward(network, x)`` runs one member: its own layers
        (``forward``) or skeeg's CPU kernels (:mod:`skeeg._fast`).
        ``together(networks, x, drawing)``, where given, runs every member
        on trials they share at once (a list of logits; None where it cannot),
        with ``drawing(i)`` around member ``i``'s random draws.
        """
        if self.only is not None:
            return member_forward(self.networks[self.only], x)
        own = x.dim() == 4 and x.shape[0] == self.n_members
        outputs = None
        if together is not None and not own:
            outputs = together(list(self.networks), x,
                               lambda index: self.drawing(index, x.device))
        if outputs is None:
            outputs = []
            for index, network in enumerate(self.networks):
                with self.drawing(index, x.device):
                    outputs.append(member_forward(network, x[index] if own else x))
        stacked = torch.stack(outputs)
        return stacked if self.training or self.stack else vote(stacked)

    def forward(self, x):
        return self.run(x, _own_forward)

    def apply_max_norm(self):
        """Each member's max-norm limits (see the models' ``apply_max_norm``)."""
        for network in self.networks:
            network.apply_max_norm()


def _own_forward(network, x):
    return network(x)


def vote(stacked):
    """Logits of the members' mean probabilities: ``(n_members, batch, n)`` -> ``(batch, n)``."""
    logs = torch.stack([log_probabilities(logits.float()) for logits in stacked], dim=1)
    return mean_probability_logits(logs, stacked.shape[-1])


def n_members(module):
    """Members in ``module``: its ``n_members``, else 1."""
    return getattr(module, "n_members", 1) if isinstance(module, Members) else 1


class MemberLoss(nn.Module):
    """The sum of the members' losses; a single network's loss for one output.

    Parameters
    ----------
    criterion : torch.nn.Module
        The loss of one network: ``(logits, targets) -> scalar``.

    Notes
    -----
    Stacked logits ``(n_members, batch, n_outputs)`` give the sum of each
    member's ``criterion`` (targets shared, or ``(n_members, batch,
    n_classes)`` soft targets per member); the members' losses are kept,
    detached, in ``last_`` ``(n_members,)``. Logits ``(batch, n_outputs)``
    (the vote) give ``criterion`` on them.
    """

    def __init__(self, criterion):
        super().__init__()
        self.criterion = criterion
        self.last_ = None

    @property
    def weight(self):
        return self.criterion.weight

    @weight.setter
    def weight(self, value):
        self.criterion.weight = value

    def forward(self, logits, targets):
        if logits.dim() == 2:
            return self.criterion(logits, targets)
        own = targets.dim() == 3
        losses = torch.stack([
            self.criterion(member, targets[index] if own else targets)
            for index, member in enumerate(logits)
        ])
        self.last_ = losses.detach()
        return losses.sum()


# ----------------------------------------------------------------------
# Members of a classifier's fit
def build_network(est, n_classes, seed, n_trials, settings=None, forward=None):
    """The network of a new fit: the estimator's own, or ``n_members`` of them.

    Member 0 is built from torch's global generator (seeded with the fit's
    ``seed``), as a single network is; each other member from a generator
    of its own (:func:`skeeg._members.member_seeds`), whose state then
    carries on into its dropout draws. With ``settings`` (see :func:`train`),
    member ``i`` is built from the seed a fit with its ``random_state``
    would draw. Members are refused before they are built when their
    estimated memory exceeds what the device has free (a training step of
    ``forward``, the training loop's, measured on two trials), and after
    when they are not independent networks.
    """
    first = est._build_network(n_classes)
    if est.n_members == 1:
        return first
    check_member_memory(est, first, n_trials, forward)
    networks, states = [first], []
    seeds = (member_seeds(seed, est.n_members) if settings is None else
             [draw_seed(member["random_state"]) for member in settings[1:]])
    for member_seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(member_seed)
            networks.append(est._build_network(n_classes))
            states.append(torch.get_rng_state())
    _check_independent(networks, distinct_seeds=seeds[0] != seed)
    members = Members(networks)
    members.generators_ = [torch.Generator() for _ in states]
    for generator, state in zip(members.generators_, states):
        generator.set_state(state)
    return members


def _check_independent(networks, distinct_seeds=True):
    """Refuse members that share layers, or that start alike from distinct seeds."""
    name = type(networks[0]).__name__
    seen = {}
    for index, network in enumerate(networks):
        for parameter in network.parameters():
            if seen.setdefault(id(parameter), index) != index:
                raise ValueError(
                    f"n_members: the {name} networks share a layer (a parameter of member "
                    f"{seen[id(parameter)]} is also in member {index}): a layer created "
                    "outside the module's __init__, at module level say, is shared by every "
                    "instance, and members must be independent networks. Create every layer "
                    "in __init__."
                )
    first, second = (list(network.parameters()) for network in networks[:2])
    if distinct_seeds and first and all(torch.equal(a, b) for a, b in zip(first, second)):
        raise ValueError(
            f"n_members: the {name} networks all start from the same weights: their "
            "initialisation does not draw from torch's global generator (constant weights, "
            "or a generator or seed of the module's own?), which skeeg seeds per member, so "
            "the vote would be one network counted n_members times. Initialise from torch's "
            "global generator (torch.nn.init does), or use n_members=1."
        )


def member_estimator(est, index, settings=None):
    """Member ``index`` of a fitted ``n_members`` classifier, as a fitted classifier of one network.

    Shares the member's weights (no copy): for scoring one member, as
    :class:`skeeg.model_selection.PackedSearchCV` does. ``settings`` (that
    member's ``random_state``, ``lr`` and ``weight_decay``) become its
    parameters.
    """
    view = copy.copy(est)
    view.n_members = 1
    for name, value in (settings or {}).items():
        setattr(view, name, value)
    net = object.__new__(type(est.net_))  # skorch's copy would pickle the module
    net.__dict__.update(est.net_.__dict__)
    net.module_ = est.net_.module_.networks[index]
    net.criterion_ = est.net_.criterion_.criterion
    view.net_ = net
    keep = [c for c in est.history_.columns if not c.endswith(tuple(
        f"_m{i}" for i in range(est.n_members)))]
    view.history_ = est.history_[keep].assign(
        train_loss=est.history_[f"train_loss_m{index}"],
        **({"valid_loss": est.history_[f"valid_loss_m{index}"]}
           if f"valid_loss_m{index}" in est.history_ else {}),
    )
    return view


def check_member_memory(est, network, n_trials, forward=None):
    """Refuse ``n_members`` networks whose estimated training memory exceeds the device's.

    Each member holds its weights, their gradients, the optimiser's state
    (two tensors per weight for Adam), early stopping's copy of its best
    weights, and the activations that a training step keeps for its backward
    pass: measured on two trials through ``forward(network, x)`` (the
    training loop's function; the module itself when None), tensors saved
    for the backward pass that are not weights, scaled to ``batch_size``.
    """
    weights = sum(p.numel() * p.element_size() for p in network.parameters())
    weights += sum(b.numel() * b.element_size() for b in network.buffers())
    batch = min(int(est.batch_size), int(n_trials))
    activations = _activation_bytes(est, network, forward) * batch / 2
    each = 5 * weights + activations
    estimate = est.n_members * each
    device = resolve_device(est.device)
    free = free_memory(device)
    if free is not None and estimate > free:
        raise ValueError(
            f"n_members={est.n_members} {type(network).__name__} networks need about "
            f"{estimate / 2**30:.2f} GiB to train ({each / 2**20:.1f} MiB each: weights, "
            f"gradients, optimiser state and the activations of a batch of {batch}), but "
            f"{device} has {free / 2**30:.2f} GiB free. Use fewer members, a smaller "
            "batch_size, or fit them in several classifiers."
        )


def _activation_bytes(est, network, forward=None):
    """Bytes autograd keeps for the backward pass of one training step on two trials."""
    weights = {p.data_ptr() for p in network.parameters()}
    saved = [0]

    def pack(tensor):
        if tensor.data_ptr() not in weights:
            saved[0] += tensor.numel() * tensor.element_size()
        return tensor

    # The pass updates batch-norm statistics: they are put back after it.
    buffers = [(buffer, buffer.clone()) for buffer in network.buffers()]
    try:
        with torch.random.fork_rng(devices=[]), torch.enable_grad():  # no draw of the fit's
            trials = torch.randn(2, est.n_channels_, module_n_times(est),
                                 device=next(network.parameters()).device)
            weights.add(trials.data_ptr())
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
                network(trials) if forward is None else forward(network, trials)
    finally:
        with torch.no_grad():
            for buffer, value in buffers:
                buffer.copy_(value)
    return saved[0]


def free_memory(device):
    """Bytes free on ``device`` (a CUDA device's, else the system's available memory), or None."""
    if str(device).startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


