"""Accuracy of a skeeg classifier with its default settings, on real data.

Two modes, kept apart so that no choice ever looks at the test split:

- ``--cv-on-train``: stratified k-fold cross-validation inside the official
  training split only. Use it to compare settings (``--set lr=0.01``).
- default: fit on the official training split, score once on the official
  test split, for each seed; print mean and standard deviation.

Examples
--------
python -m benchmarks.defaults --model eegnet --dataset SelfRegulationSCP1 --seeds 3
python -m benchmarks.defaults --model eegnet --cv-on-train --set patience=20
"""

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import StratifiedKFold, cross_val_score

import skeeg
from skeeg import CNNClassifier, DeepConvNetClassifier, DNNClassifier, EEGNetClassifier
from skeeg.datasets import load_uea

from ._common import (MAX_FOLDS, MAX_SEEDS, at_least, check_values, folder, parse_settings,
                      uea_name)

MODELS = {
    "eegnet": EEGNetClassifier,
    "deepconvnet": DeepConvNetClassifier,
    "dnn": DNNClassifier,
    "cnn": CNNClassifier,
}
REPO = Path(__file__).resolve().parents[1]


def data_dir(path):
    """--data-dir, else SKEEG_DATA, else ../shared/data beside the repository."""
    return Path(path or os.environ.get("SKEEG_DATA") or REPO.parent / "shared" / "data")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="eegnet")
    parser.add_argument("--dataset", type=uea_name, default="SelfRegulationSCP1")
    parser.add_argument("--data-dir", type=folder, default=None)
    parser.add_argument("--seeds", type=at_least(1, MAX_SEEDS), default=3)
    parser.add_argument("--cv-on-train", action="store_true")
    parser.add_argument("--folds", type=at_least(2, MAX_FOLDS), default=3)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    if args.data_dir is not None and not args.data_dir.is_dir():
        parser.error(f"--data-dir: {str(args.data_dir)!r} does not exist")
    settings = parse_settings(args.set)
    model = MODELS[args.model]
    if "random_state" in settings:
        parser.error("argument --set: random_state comes from --seeds")
    unknown = sorted(set(settings) - set(model().get_params()))
    if unknown:
        parser.error(f"argument --set: {', '.join(unknown)} not a parameter of {model.__name__}")
    check_values(parser, "--set", model(), {k: [v] for k, v in settings.items()})

    try:
        data = load_uea(args.dataset, data_dir(args.data_dir))
    except FileNotFoundError as exc:
        raise SystemExit(f"{args.dataset}: {exc}\nPass --data-dir or set SKEEG_DATA.") from None
    print(f"{model.__name__}({settings or 'defaults'}) on {args.dataset}: "
          f"train {data.X_train.shape}, test {data.X_test.shape}")

    rows = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        clf = model(random_state=seed, **settings)
        if args.cv_on_train:
            cv = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
            scores = cross_val_score(clf, data.X_train, data.y_train, cv=cv)
            rows.append({"seed": seed, "cv_accuracy": scores.mean(),
                         "seconds": time.perf_counter() - start})
        else:
            clf.fit(data.X_train, data.y_train)
            y_pred = clf.predict(data.X_test)
            rows.append({"seed": seed, "test_accuracy": np.mean(y_pred == data.y_test),
                         "epochs": len(clf.history_),
                         "seconds": time.perf_counter() - start})
            print(f"seed {seed}: confusion matrix (rows: true {[str(c) for c in clf.classes_]}):\n"
                  f"{confusion_matrix(data.y_test, y_pred, labels=clf.classes_)}")
        print(rows[-1], flush=True)

    table = pd.DataFrame(rows)
    metric = "cv_accuracy" if args.cv_on_train else "test_accuracy"
    scores = table[metric]
    print(table.to_markdown(index=False, floatfmt=".4f"))
    print(f"\n{metric}: {100 * scores.mean():.1f} ± {100 * scores.std(ddof=1) if len(scores) > 1 else 0:.1f} % "
          f"(mean ± sd over {len(scores)} seeds)")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), skeeg {skeeg.__version__}, "
          f"scikit-learn {sklearn.__version__}, date {time.strftime('%Y-%m-%d')}")
    return table


if __name__ == "__main__":
    main()
