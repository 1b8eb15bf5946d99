"""The DEAP emotion study's evaluation protocols, side by side.

Pipelines: DEAPReducer -> DNN, DEAPReducer -> CNN, and DEAPReducer ->
StandardScaler -> LogisticRegression as a classical baseline, beside the
majority-class baseline. Protocols:

- ``fixed``: one random split with the study's proportions (100 of 1280
  trials for testing), repeated with several split seeds to show how far
  a single split's figure moves;
- ``kfold``: 10-fold stratified cross-validation over trials (a subject's
  trials fall on both sides, as in most published DEAP figures);
- ``subject``: cross-validation over participants (``GroupKFold``), the only
  one of the three that measures generalisation to new people.

The reducer has no fitted state (every statistic is computed within one
trial), so the trials are reduced once, before splitting; every fitted step
(scaler, network) is fitted inside each training fold only. Networks stop
early on a validation split carved from each training fold.

DEAP cannot be redistributed: point ``--data-dir`` at the
``data_preprocessed_python`` files. ``--dataset SelfRegulationSCP1`` runs
the same protocols on real data that is here (one subject, so no
subject-wise protocol; official train and test splits pooled).

Examples
--------
python -m benchmarks.deap --dataset SelfRegulationSCP1 --quick
python -m benchmarks.deap --dataset deap --data-dir ~/deap --target valence
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skeeg import CNNClassifier, DEAPReducer, DNNClassifier
from skeeg.datasets import load_deap, load_uea

from ._common import MAX_FOLDS, MAX_SEEDS, at_least, folder, out_folder, uea_name

REPO = Path(__file__).resolve().parents[1]

# Published figures (accuracy, %), to print beside ours.
ANCHORS = """\
Published anchors (DEAP, accuracy %):
- Tripathi et al. 2017 (AAAI), fixed split of 1180 / 100 trials (subjects mixed; the
  paper does not say how epochs were chosen): DNN valence 75.8, arousal 73.1;
  CNN valence 81.4, arousal 73.4.
- An independent PyTorch reproduction, 32-fold trial-level CV: DNN valence 58.7,
  arousal 56.9; CNN valence 59.2, arousal 59.1.
- Majority class on DEAP: valence 55.3, arousal 57.6."""


def flatten(X):
    return X.reshape(len(X), -1)


def pipelines(quick, seed):
    """The three pipelines of the study, after the (shared) reducer."""
    epochs = 30 if quick else 250
    dnn_sizes = (512, 128, 128) if quick else (5000, 500, 1000)
    return {
        "majority class": DummyClassifier(strategy="most_frequent"),
        "logistic regression": make_pipeline(
            FunctionTransformer(flatten), StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "DNN": DNNClassifier(hidden_sizes=dnn_sizes, max_epochs=epochs, random_state=seed),
        "CNN": CNNClassifier(max_epochs=epochs, random_state=seed),
    }


def load(args):
    data_dir = Path(args.data_dir or os.environ.get("SKEEG_DATA") or REPO.parent / "shared" / "data")
    if args.dataset == "deap":
        data = load_deap(data_dir, target=args.target)
        return data.X, data.y, data.subject
    data = load_uea(args.dataset, data_dir)
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    return X, y, None


def evaluate(models, X, y, cv, groups=None):
    rows = []
    for name, model in models.items():
        start = time.perf_counter()
        scores = cross_validate(
            model, X, y, groups=groups, cv=cv, scoring=("accuracy", "balanced_accuracy")
        )
        for fold, (acc, bacc) in enumerate(zip(scores["test_accuracy"], scores["test_balanced_accuracy"])):
            rows.append({"model": name, "fold": fold, "accuracy": acc, "balanced_accuracy": bacc})
        print(f"  {name}: {100 * scores['test_accuracy'].mean():.1f} % "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=uea_name, default="SelfRegulationSCP1",
                        help="'deap' or a UEA data set name")
    parser.add_argument("--data-dir", type=folder, default=None)
    parser.add_argument("--target", default="valence",
                        choices=["valence", "arousal", "dominance", "liking"])
    parser.add_argument("--protocols", nargs="+", default=["fixed", "kfold", "subject"],
                        choices=["fixed", "kfold", "subject"])
    parser.add_argument("--seeds", type=at_least(1, MAX_SEEDS), default=3,
                        help="split seeds of the fixed protocol (and network seeds)")
    parser.add_argument("--folds", type=at_least(2, MAX_FOLDS), default=10)
    parser.add_argument("--quick", action="store_true",
                        help="30 epochs, a smaller DNN, 5 folds: a smoke run, not the study")
    parser.add_argument("--out", type=out_folder, default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    if args.data_dir is not None and not args.data_dir.is_dir():
        parser.error(f"--data-dir: {str(args.data_dir)!r} does not exist")
    repeated = [p for i, p in enumerate(args.protocols) if p in args.protocols[:i]]
    if repeated:  # it would only run the same protocol again
        parser.error(f"argument --protocols: {', '.join(dict.fromkeys(repeated))} given twice")
    folds = 5 if args.quick else args.folds

    try:
        X, y, subjects = load(args)
    except FileNotFoundError as exc:
        raise SystemExit(f"{args.dataset}: {exc}\nPass --data-dir or set SKEEG_DATA.") from None
    start = time.perf_counter()
    X = DEAPReducer(flatten=False).fit_transform(X)
    print(f"{args.dataset}: {X.shape[0]} trials reduced to {X.shape[1:]} features "
          f"in {time.perf_counter() - start:.1f} s; classes {dict(zip(*np.unique(y, return_counts=True)))}")

    rows = []
    if "fixed" in args.protocols:
        test_size = 100 / 1280  # the study's proportion
        for seed in range(args.seeds):
            print(f"fixed split, seed {seed}:")
            train, test = train_test_split(np.arange(len(y)), test_size=test_size,
                                           stratify=y, random_state=seed)
            cv = [(train, test)]
            for row in evaluate(pipelines(args.quick, seed), X, y, cv):
                rows.append({"protocol": "fixed split", "seed": seed, **row})
    if "kfold" in args.protocols:
        print(f"{folds}-fold stratified CV over trials:")
        cv = StratifiedKFold(folds, shuffle=True, random_state=0)
        for row in evaluate(pipelines(args.quick, 0), X, y, cv):
            rows.append({"protocol": f"{folds}-fold over trials", "seed": 0, **row})
    if "subject" in args.protocols:
        if subjects is None or len(np.unique(subjects)) < 2:
            print("subject-wise CV skipped: this data set has one subject")
        else:
            n_groups = min(folds, len(np.unique(subjects)))
            print(f"{n_groups}-fold CV over subjects:")
            cv = GroupKFold(n_groups)
            for row in evaluate(pipelines(args.quick, 0), X, y, cv, groups=subjects):
                rows.append({"protocol": f"{n_groups}-fold over subjects", "seed": 0, **row})

    table = pd.DataFrame(rows)
    summary = (
        table.groupby(["protocol", "model"], sort=False)[["accuracy", "balanced_accuracy"]]
        .agg(["mean", "std", "min", "max"])
        .mul(100)
        .round(1)
    )
    summary.columns = [f"{metric} {stat}" for metric, stat in summary.columns]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"deap_{args.dataset}_{args.target if args.dataset == 'deap' else 'label'}"
    table.to_csv(out / f"{stem}.csv", index=False)
    markdown = summary.reset_index().to_markdown(index=False)
    (out / f"{stem}.md").write_text(markdown + "\n")
    print("\nAccuracy and balanced accuracy (%), mean / sd / min / max over folds or split seeds:")
    print(markdown)
    print("\n" + ANCHORS)
    print(f"\ncommand: python -m benchmarks.deap {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"scikit-learn {sklearn.__version__}, date {time.strftime('%Y-%m-%d')}")
    return table


if __name__ == "__main__":
    main()
