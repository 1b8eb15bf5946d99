"""Many networks in one fit (``n_members``) against separate fits: speed and accuracy.

    python -m benchmarks.members --parts speed            # CPU: about 3 minutes on 2 cores
    python -m benchmarks.members --parts speed --quick    # about 1 minute
    python -m benchmarks.members --parts scp1 --seeds 5   # SelfRegulationSCP1, about 2 hours on 2 cores
    python -m benchmarks.members --parts gpu --device cuda

Parts (``--parts``):

* ``speed``: wall time of one ``n_members=5`` fit against 5 separate fits
  (``random_state`` 0..4), interleaved (separate, packed, separate...) and
  summarised by medians, on synthetic trials: EEGNet at 2 channels x 750
  samples and at 22 x 1000, DeepConvNet at 22 x 1000; 256 trials, batch 64,
  ``validation_fraction=0.2`` (validation every epoch) and a fixed number
  of epochs (``early_stopping=False``), one torch thread. The target: at
  most 0.7 times the separate fits' time.
* ``gpu`` (CUDA only): 5 and 20 members against separate fits, as a ratio
  to one fit's time (targets: 5 members within 1.5 times one fit's, 20
  within 3 times), and a 20-candidate x 3-fold ``PackedSearchCV`` against
  ``GridSearchCV`` on the same grid.
* ``scp1``: SelfRegulationSCP1's official split. For each test seed ``s``,
  one EEGNet with the defaults (``random_state=s``) and one
  ``n_members=5`` EEGNet with the defaults (``random_state=s``: member 0
  is that single network); each scored once on the 293 test trials.
  Nothing is chosen on the test split: both configurations are fixed in
  advance.
"""

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GridSearchCV

from skeeg import DeepConvNetClassifier, EEGNetClassifier
from skeeg.datasets import make_motor_imagery
from skeeg.model_selection import PackedSearchCV

from ._common import (DATASETS, Report, add_run_options, device, finish_args, load_for_script,
                      mean_sd, names)

CONFIGS = {  # name -> (classifier, channels, samples)
    "EEGNet 2 ch": (EEGNetClassifier, 2, 750),
    "EEGNet 22 ch": (EEGNetClassifier, 22, 1000),
    "DeepConvNet 22 ch": (DeepConvNetClassifier, 22, 1000),
}
PARTS = ("speed", "gpu", "scp1")


def _fit_seconds(make, X, y, members, n_members):
    """Seconds of ``members`` separate fits, or of one fit of ``n_members``."""
    start = time.perf_counter()
    if n_members == 1:
        for seed in range(members):
            make(random_state=seed).fit(X, y)
    else:
        make(random_state=0, n_members=n_members).fit(X, y)
    return time.perf_counter() - start


def speed(args, report, device="cpu", counts=(5,)):
    rows = []
    repeats = 1 if args.quick else 3
    epochs = args.max_epochs or (2 if args.quick else 5)
    for name, (cls, channels, samples) in CONFIGS.items():
        data = make_motor_imagery(n_trials=256, n_channels=channels, n_times=samples,
                                  random_state=0)
        X, y = data.X.astype(np.float32), data.y

        def make(**kw):
            return cls(max_epochs=epochs, early_stopping=False, device=device, **kw)

        for members in counts:
            make(random_state=0).set_params(max_epochs=1).fit(X, y)  # warm caches and kernels
            separate, packed, single = [], [], []
            for _ in range(repeats):  # interleaved: load hits both sides alike
                separate.append(_fit_seconds(make, X, y, members, 1))
                packed.append(_fit_seconds(make, X, y, members, members))
                if device != "cpu":
                    single.append(_fit_seconds(make, X, y, 1, 1))
            row = {"network": name, "members": members, "epochs": epochs,
                   "separate fits (s)": statistics.median(separate),
                   "n_members fit (s)": statistics.median(packed)}
            row["ratio"] = row["n_members fit (s)"] / row["separate fits (s)"]
            if single:
                row["one fit (s)"] = statistics.median(single)
                row["ratio to one fit"] = row["n_members fit (s)"] / row["one fit (s)"]
            rows.append(row)
            print(row, flush=True)
    notes = [f"256 synthetic trials, batch 64, {epochs} epochs, validation 0.2, "
             f"medians of {repeats} interleaved repeats, device {device}"]
    report.table(pd.DataFrame(rows), f"speed_{device.split(':')[0]}",
                 f"n_members against separate fits ({device})", notes)


def packed_search(args, report, device):
    data = make_motor_imagery(n_trials=256, n_channels=2, n_times=750, random_state=0)
    est = EEGNetClassifier(max_epochs=args.max_epochs or 20, early_stopping=False,
                           device=device)
    grid = {"random_state": [0, 1, 2, 3, 4], "lr": [3e-4, 1e-3, 3e-3, 1e-2]}
    rows = []
    for name, search in (("GridSearchCV", GridSearchCV(est, grid, cv=3, refit=False)),
                         ("PackedSearchCV", PackedSearchCV(est, grid, cv=3, refit=False))):
        start = time.perf_counter()
        search.fit(data.X, data.y)
        rows.append({"search": name, "candidates x folds": "20 x 3",
                     "seconds": time.perf_counter() - start,
                     "best mean accuracy": search.cv_results_["mean_test_score"].max()})
    report.table(pd.DataFrame(rows), "search_gpu", "20-candidate x 3-fold search (GPU)")


def scp1(args, report):
    args.dataset = "SelfRegulationSCP1"
    data = load_for_script(args)
    split = data.splits[0]
    rows = []
    for seed in args.seeds:
        for members in (1, 5):
            start = time.perf_counter()
            clf = EEGNetClassifier(random_state=seed, n_members=members, device=args.device)
            clf.fit(split.X_train, split.y_train)
            rows.append({"seed": seed, "n_members": members,
                         "test accuracy": clf.score(split.X_test, split.y_test),
                         "epochs": len(clf.history_), "fit s": time.perf_counter() - start})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    summary = pd.DataFrame([
        {"configuration": f"EEGNet defaults, n_members={m}",
         "test accuracy (%)": mean_sd(frame[frame.n_members == m]["test accuracy"]),
         "per seed (%)": ", ".join(f"{100 * a:.1f}" for a in
                                   frame[frame.n_members == m]["test accuracy"]),
         "fit s (mean)": frame[frame.n_members == m]["fit s"].mean()}
        for m in (1, 5)
    ])
    report.table(frame, "scp1_runs", "SelfRegulationSCP1: every fit", show=False)
    report.table(summary, "scp1", "SelfRegulationSCP1: n_members=5 against one network",
                 [f"seeds {args.seeds}; mean ± sd over seeds; official test split (293 trials)"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=names(PARTS), default=("speed",),
                        help=f"comma list of {', '.join(PARTS)} (default speed)")
    parser.add_argument("--device", type=device, default="cpu", help="cpu, cuda or cuda:N")
    add_run_options(parser, "fewer repeats and epochs")
    args = finish_args(parser.parse_args(argv), quick_seeds=1, full_seeds=5)
    if "gpu" in args.parts and not torch.cuda.is_available():
        parser.error("--parts gpu needs CUDA, which this machine lacks")
    report = Report(args.out, "members", "benchmarks.members", argv)
    if "speed" in args.parts:
        speed(args, report)
    if "gpu" in args.parts:
        speed(args, report, device=args.device, counts=(5, 20))
        packed_search(args, report, args.device)
    if "scp1" in args.parts:
        assert "SelfRegulationSCP1" in DATASETS
        scp1(args, report)
    report.done()


if __name__ == "__main__":
    main()
