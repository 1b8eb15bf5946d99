"""skeeg beside the libraries users would pick instead, on the same splits and seeds.

Methods (``--methods``, all by default):

* ``skeeg-EEGNet``: skeeg's ``EEGNetClassifier(separable="depthwise")``, ELU:
  the paper's EEGNet with F1=16, D=2, F2=32, kernel 51, at skeeg's defaults
  (PyTorch's initialisation, no max-norm, block-2 kernel 15).
* ``skeeg-EEGNet-paper``: the same with the rest of the paper's recipe
  (Lawhern et al. 2018): Glorot-uniform initialisation, max-norm 1 on the
  spatial filters and 0.25 on the classifier, block-2 kernel 16. This is the
  configuration closest to braindecode's, which has all of it but the
  classifier's limit (and batch-norm momentum 0.01).
* ``braindecode-EEGNet``: ``braindecode.models.EEGNetv4`` (braindecode 0.8.1)
  in the SAME configuration (F1=16, D=2, F2=32, kernel_length=51; its block-2
  kernel is fixed at 16 and it keeps braindecode's max-norm limit on the
  spatial filters), trained through braindecode's ``EEGClassifier``.
* ``braindecode-Shallow``: ``ShallowFBCSPNet`` with braindecode's defaults
  (pooling shortened for trials shorter than 150 samples).
* ``skeeg-Shallow``, ``skeeg-Conformer``, ``skeeg-ATCNet``: skeeg's
  ``ShallowFBCSPNetClassifier``, ``EEGConformerClassifier`` and
  ``ATCNetClassifier`` at their defaults (braindecode 0.8.1's architecture
  defaults, the same trainable parameter counts).
* ``braindecode-Conformer``, ``braindecode-ATCNet``: braindecode 0.8.1's
  ``EEGConformer`` and ``ATCNet`` at their defaults (ATCNet told the trial
  length in seconds, ``n_times / sfreq``), trained through braindecode's
  ``EEGClassifier``.
* ``skeeg-EEGClassifier``: braindecode 0.8.1's ``EEGNetv4`` in the
  configuration of ``braindecode-EEGNet``, trained through skeeg's generic
  ``EEGClassifier(module, module_params)``: the same network, skeeg's
  training machinery (input standardisation included).
* ``pyriemann-TS``: ``Covariances(estimator="oas")`` -> ``TangentSpace`` ->
  ``LogisticRegression``.
* ``mne-CSP``: MNE's ``CSP(n_components=4, reg="ledoit_wolf", log=True)`` ->
  ``LinearDiscriminantAnalysis``.

The networks share one protocol: Adam, lr 1e-3, batch 64, cross-entropy, the
SAME 20 % stratified validation split of the training data that a skeeg
classifier with that seed draws (braindecode gets it as a predefined split,
and keeps the last short batch like skeeg), one fixed-length run per seed
with the per-epoch test accuracy recorded by
:class:`skeeg.callbacks.HeldOutScoring`, and the honest figure taken at the
epoch that early stopping on the validation loss (patience 50, restore best)
keeps - exactly as ``benchmarks.activations`` does. The final-epoch and
"optimistic: selected on test" figures come from the same runs. pyRiemann and
CSP are deterministic and choose nothing on the test split: one fit per
split, trained on the whole training split.

Install the peers with CPU torch (see the notes of the project):
``pip install -c constraints.txt braindecode==0.8.1 pyriemann``.

``--quick``: 1 seed, 30 epochs.

Examples
--------
python -m benchmarks.peers --dataset SelfRegulationSCP1 --seeds 3 --max-epochs 100
python -m benchmarks.peers --dataset FingerMovements --methods pyriemann-TS,mne-CSP
"""

import contextlib
import time

import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder

from skeeg import (ATCNetClassifier, EEGClassifier, EEGConformerClassifier, EEGNetClassifier,
                   ShallowFBCSPNetClassifier)
from skeeg.callbacks import HeldOutScoring

from . import _common
from .activations import FINAL, HONEST, OPTIMISTIC, _stopped, evaluate_run

MODULE = "benchmarks.peers"

#: skeeg's networks in the comparison, as ``EEGNetClassifier`` arguments.
SKEEG_NETWORKS = {
    "skeeg-EEGNet": {"separable": "depthwise", "activation": "elu"},
    "skeeg-EEGNet-paper": {"separable": "depthwise", "activation": "elu",
                           "separable_kernel_length": 16, "max_norm": True,
                           "init": "xavier_uniform"},
}
#: skeeg's other classifiers, at their defaults.
SKEEG_CLASSIFIERS = {
    "skeeg-Shallow": ShallowFBCSPNetClassifier,
    "skeeg-Conformer": EEGConformerClassifier,
    "skeeg-ATCNet": ATCNetClassifier,
}
#: braindecode 0.8.1's EEGNetv4 in the configuration of ``braindecode-EEGNet``.
EEGNETV4_PARAMS = {"F1": 16, "D": 2, "F2": 32, "kernel_length": 51, "drop_prob": 0.25}
BRAINDECODE = ("braindecode-EEGNet", "braindecode-Shallow", "braindecode-Conformer",
               "braindecode-ATCNet")
NETWORKS = (*SKEEG_NETWORKS, *SKEEG_CLASSIFIERS, "skeeg-EEGClassifier", *BRAINDECODE)
CLASSICAL = ("pyriemann-TS", "mne-CSP")
METHODS = NETWORKS + CLASSICAL
DESCRIPTIONS = {
    "skeeg-EEGNet": "skeeg EEGNetClassifier(separable='depthwise'), ELU; F1=16, D=2, F2=32, "
    "kernel 51, block-2 kernel 15",
    "skeeg-EEGNet-paper": "skeeg EEGNetClassifier(separable='depthwise', "
    "separable_kernel_length=16, max_norm=True, init='xavier_uniform'), ELU; F1=16, D=2, "
    "F2=32, kernel 51",
    "braindecode-EEGNet": "braindecode 0.8.1 EEGNetv4(F1=16, D=2, F2=32, kernel_length=51), "
    "ELU; block-2 kernel 16, max-norm 1 on spatial filters; EEGClassifier",
    "braindecode-Shallow": "braindecode 0.8.1 ShallowFBCSPNet (defaults, "
    "final_conv_length='auto'; pool 75 / stride 15, shortened to (n_times-24)//2 / pool//5 "
    "below 150 samples); EEGClassifier",
    "skeeg-Shallow": "skeeg ShallowFBCSPNetClassifier() (braindecode 0.8.1's defaults)",
    "skeeg-Conformer": "skeeg EEGConformerClassifier() (braindecode 0.8.1's defaults)",
    "skeeg-ATCNet": "skeeg ATCNetClassifier() (braindecode 0.8.1's defaults)",
    "skeeg-EEGClassifier": "skeeg EEGClassifier(braindecode 0.8.1 EEGNetv4, module_params="
    "dict(F1=16, D=2, F2=32, kernel_length=51, drop_prob=0.25)), ELU",
    "braindecode-Conformer": "braindecode 0.8.1 EEGConformer (defaults); EEGClassifier",
    "braindecode-ATCNet": "braindecode 0.8.1 ATCNet (defaults, input_window_seconds = "
    "n_times / sfreq); EEGClassifier",
    "pyriemann-TS": "pyRiemann Covariances('oas') -> TangentSpace -> LogisticRegression",
    "mne-CSP": "MNE CSP(n_components=4, reg='ledoit_wolf', log=True) -> LDA",
}
#: Sampling rate of each benchmark data set (ATCNet's window is given in seconds).
SFREQ = {"SelfRegulationSCP1": 256.0, "FingerMovements": 100.0, "eegmmidb": 160.0,
         "bci_iiib": 125.0}
TRAINING = {"lr": 1e-3, "batch_size": 64, "validation_fraction": 0.2, "patience": 50}


def _braindecode_module(method, n_channels, n_times, n_classes, sfreq):
    if method == "braindecode-EEGNet":
        from braindecode.models import EEGNetv4

        return EEGNetv4(n_chans=n_channels, n_outputs=n_classes, n_times=n_times,
                        **EEGNETV4_PARAMS)
    if method == "braindecode-Conformer":
        from braindecode.models import EEGConformer

        return EEGConformer(n_chans=n_channels, n_outputs=n_classes, n_times=n_times,
                            final_fc_length="auto", add_log_softmax=False)
    if method == "braindecode-ATCNet":
        from braindecode.models import ATCNet

        return ATCNet(n_chans=n_channels, n_outputs=n_classes, n_times=n_times, sfreq=sfreq,
                      input_window_seconds=n_times / sfreq, add_log_softmax=False)
    from braindecode.models import ShallowFBCSPNet

    pool, stride = 75, 15
    if n_times < 150:  # the defaults need 25 + 75 - 1 samples at least
        pool = max(2, (n_times - 24) // 2)
        stride = max(1, pool // 5)
    return ShallowFBCSPNet(n_chans=n_channels, n_outputs=n_classes, n_times=n_times,
                           final_conv_length="auto", pool_time_length=pool,
                           pool_time_stride=stride, add_log_softmax=False)


def _fit_braindecode(method, split, seed, max_epochs, device, callbacks, sfreq):
    import torch
    from braindecode import EEGClassifier
    from skorch.callbacks import EpochScoring
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    encoder = LabelEncoder().fit(split.y_train)
    X = np.ascontiguousarray(split.X_train, dtype=np.float32)
    y = encoder.transform(split.y_train).astype(np.int64)
    train, valid = _common.validation_split(y, TRAINING["validation_fraction"], seed)
    n_train = len(train)
    torch.manual_seed(seed)
    np.random.seed(seed)
    module = _braindecode_module(method, X.shape[1], X.shape[2], len(encoder.classes_), sfreq)
    net = EEGClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=TRAINING["lr"],
        batch_size=TRAINING["batch_size"],
        max_epochs=max_epochs,
        train_split=predefined_split(Dataset(X[valid], y[valid])),
        # Keep the last short batch, as skeeg does, unless it is a single trial.
        iterator_train__drop_last=n_train % TRAINING["batch_size"] == 1,
        callbacks=[("train_acc", EpochScoring("accuracy", on_train=True, name="train_acc",
                                              lower_is_better=False)), *callbacks],
        classes=np.arange(len(encoder.classes_)),
        device=device,
        verbose=0,
    )
    net.fit(X[train], y[train])
    n_params = sum(p.numel() for p in net.module_.parameters())
    history = pd.DataFrame([{k: v for k, v in epoch.items() if np.isscalar(v)}
                            for epoch in net.history])
    return history, n_params, encoder, net


def _too_short(method, data, sfreq):
    """Why network ``method`` cannot take the data's trials (a dry forward pass fails), or None."""
    import torch

    n_classes = len(data.classes)
    try:
        if method in SKEEG_NETWORKS:
            params = {k: v for k, v in SKEEG_NETWORKS[method].items() if k != "init"}
            module = EEGNetClassifier._module_class(data.n_channels, data.n_times, n_classes,
                                                    **params)  # init is the classifier's
        elif method in SKEEG_CLASSIFIERS:
            module = SKEEG_CLASSIFIERS[method]._module_class(data.n_channels, data.n_times,
                                                             n_classes)
        else:
            name = "braindecode-EEGNet" if method == "skeeg-EEGClassifier" else method
            module = _braindecode_module(name, data.n_channels, data.n_times, n_classes, sfreq)
        with torch.no_grad():
            module.eval()(torch.zeros(1, data.n_channels, data.n_times))
    except Exception as exc:  # noqa: BLE001 - any failure is the reason reported
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def run_network(task):
    """One fixed-length run of a network; the three figures from its history."""
    method, split, seed = task["method"], task["split"], task["seed"]
    classes = np.unique(split.y_train)
    start = time.perf_counter()
    if method.startswith("skeeg-"):
        scorer = HeldOutScoring(split.X_test, split.y_test, classes=classes)
        shared = {"max_epochs": task["max_epochs"], "early_stopping": False,
                  "random_state": seed, "device": task["device"],
                  "callbacks": [scorer, _common.EpochTick()]}
        if method in SKEEG_NETWORKS:
            clf = EEGNetClassifier(**SKEEG_NETWORKS[method], **shared)
        elif method in SKEEG_CLASSIFIERS:
            clf = SKEEG_CLASSIFIERS[method](**shared)
        else:
            from braindecode.models import EEGNetv4

            clf = EEGClassifier(EEGNetv4, module_params=EEGNETV4_PARAMS, **shared)
        clf.fit(split.X_train, split.y_train)
        history = clf.history_
        n_params = sum(p.numel() for p in clf.net_.module_.parameters())
    else:
        encoder = LabelEncoder().fit(split.y_train)
        scorer = HeldOutScoring(split.X_test, encoder.transform(split.y_test),
                                classes=np.arange(len(classes)))
        history, n_params, _, _ = _fit_braindecode(
            method, split, seed, task["max_epochs"], task["device"],
            [scorer, _common.EpochTick()], task["sfreq"])
    fit_time = time.perf_counter() - start
    return {
        "method": method, "seed": seed, "split": split.name, "params": n_params,
        "max_epochs": task["max_epochs"],
        **evaluate_run(history, TRAINING["patience"]),
        "fit_time_s": round(fit_time, 1), "s_per_epoch": round(fit_time / len(history), 3),
    }


def run_classical(task):
    """pyRiemann or CSP on one split (deterministic: no seed)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    method, split = task["method"], task["split"]
    if method == "pyriemann-TS":
        from pyriemann.estimation import Covariances
        from pyriemann.tangentspace import TangentSpace

        pipe = make_pipeline(Covariances(estimator="oas"), TangentSpace(),
                             LogisticRegression(max_iter=1000))
    else:
        from mne.decoding import CSP

        pipe = make_pipeline(CSP(n_components=4, reg="ledoit_wolf", log=True),
                             LinearDiscriminantAnalysis())
    X_train = np.asarray(split.X_train, dtype=np.float64)
    quiet = contextlib.nullcontext()
    if method == "mne-CSP":
        import mne

        quiet = mne.utils.use_log_level("WARNING")
    with quiet:
        start = time.perf_counter()
        pipe.fit(X_train, split.y_train)
        fit_time = time.perf_counter() - start
        acc = pipe.score(np.asarray(split.X_test, dtype=np.float64), split.y_test)
    return {"method": method, "seed": "-", "split": split.name, "params": np.nan,
            "max_epochs": np.nan, "honest_acc": acc, "final_acc": np.nan,
            "optimistic_acc": np.nan, "es_epoch": np.nan, "es_stop_epoch": np.nan,
            "optimistic_epoch": np.nan, "fit_time_s": round(fit_time, 2),
            "s_per_epoch": np.nan}


def run_task(task):
    return run_network(task) if task["method"] in NETWORKS else run_classical(task)


def summarise(runs):
    rows = []
    for method, group in runs.groupby("method", sort=False):
        network = method in NETWORKS
        rows.append({
            "method": method,
            "configuration": DESCRIPTIONS[method],
            "params": int(group["params"].iloc[0]) if network else "-",
            "runs": len(group),
            "early-stop epoch (mean)": round(group["es_epoch"].mean(), 1) if network else "-",
            "stopped within run": _stopped(group) if network else "-",
            f"{HONEST} (%)": _common.mean_sd(group["honest_acc"]),
            f"{FINAL} (%)": _common.mean_sd(group["final_acc"]) if network else "-",
            f"{OPTIMISTIC} (%)": _common.mean_sd(group["optimistic_acc"]) if network else "-",
            "fit time per run (s)": round(group["fit_time_s"].mean(), 1),
        })
    return pd.DataFrame(rows)


def main(argv=None):
    parser = _common.base_parser(__doc__.split("\n")[0], "1 seed, 30 epochs")
    parser.epilog = __doc__.split("\n", 2)[2]
    parser.add_argument("--methods", type=_common.names(METHODS), default=None,
                        help=f"comma list among {', '.join(METHODS)} (default: all)")
    args = _common.finish_args(parser.parse_args(argv))
    methods = METHODS if args.methods is None else args.methods
    missing = _missing_packages(methods)
    if missing:
        raise SystemExit(
            f"{', '.join(missing)} not installed: pip install -c constraints.txt "
            "braindecode==0.8.1 pyriemann (or pass --methods without them)")
    max_epochs = args.max_epochs or (30 if args.quick else 300)

    data = _common.load_for_script(args)
    sfreq = SFREQ.get(data.name, 256.0)
    skipped = {m: reason for m in methods
               if m in NETWORKS and (reason := _too_short(m, data, sfreq)) is not None}
    for method, reason in skipped.items():
        print(f"SKIPPED {method} on {data.name}: {reason}", flush=True)
    methods = tuple(m for m in methods if m not in skipped)
    if not methods:
        raise SystemExit("none of the methods takes trials of this shape")
    stem = f"peers_{data.name}" + ("_quick" if args.quick else "")
    report = _common.Report(args.out, module=MODULE, argv=argv, stem=stem,
                            extra_versions=("braindecode", "pyriemann", "mne"))
    tasks = [{"method": m, "seed": s, "split": split, "max_epochs": max_epochs,
              "device": args.device, "sfreq": sfreq}
             for m in methods if m in NETWORKS for s in args.seeds for split in data.splits]
    tasks += [{"method": m, "split": split} for m in methods if m in CLASSICAL
              for split in data.splits]
    print(f"{len(tasks)} fits: networks {max_epochs} epochs x seeds {args.seeds}, "
          f"{len(data.splits)} split(s).", flush=True)
    # Progress in epochs; a classical fit counts as one epoch.
    steps = [t.get("max_epochs", 1) for t in tasks]
    runs = pd.DataFrame(_common.run_tasks(run_task, tasks, n_jobs=args.n_jobs, desc="peers",
                                          steps_per_task=steps, unit="epoch", threads=args.threads))
    runs.insert(0, "dataset", data.name)
    networks = [m for m in methods if m in NETWORKS]
    notes = [data.summary().replace("\n", " ")]
    if networks:
        notes += [
            f"networks: Adam, lr 1e-3, batch 64, one fixed-length run of {max_epochs} epochs "
            "per seed on the same 20 % stratified validation split (that of a skeeg classifier "
            "with the same seed).",
            f"'{HONEST}': at the epoch early stopping on the validation loss (patience 50, "
            f"restore best) keeps. '{FINAL}': after the last epoch. '{OPTIMISTIC}': best "
            "per-epoch test accuracy, the epoch chosen ON THE TEST SET.",
            f"networks: mean ± sd over {len(args.seeds)} seed(s) x {len(data.splits)} "
            "split(s).",
        ]
    if len(networks) < len(methods):
        notes.append("pyRiemann and CSP: deterministic, trained on the whole training split; "
                     f"mean ± sd over {len(data.splits)} split(s).")
    notes += [f"SKIPPED {m}: {reason}" for m, reason in skipped.items()]
    summary = summarise(runs)
    summary.insert(0, "dataset", data.name)
    report.table(runs, "runs", f"peers on {data.name}: every run", notes, show=False)
    report.table(summary, "summary", f"peers on {data.name}", notes)
    report.done()
    return summary


def _missing_packages(methods):
    import importlib.util

    need = {"braindecode": any(m.startswith("braindecode") or m == "skeeg-EEGClassifier"
                               for m in methods),
            "pyriemann": "pyriemann-TS" in methods, "mne": "mne-CSP" in methods}
    return [name for name, needed in need.items()
            if needed and importlib.util.find_spec(name) is None]


if __name__ == "__main__":
    main()
