"""Smoke tests of the benchmark scripts, the HeldOutScoring callback and Dask sweeps.

The scripts run their ``--quick`` paths on the tiny synthetic data set with a
couple of epochs: these tests check the plumbing and the protocol, not
accuracy.
"""

import doctest
import io
import json
import re
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest

from benchmarks import _common
from skeeg._training import split_validation
from skeeg._validation import encode_labels, learn_classes
from skeeg import EEGNetClassifier
from skeeg.callbacks import HeldOutScoring
from skeeg.datasets import make_motor_imagery

from _small_models import SMALL

# EEGNet's small network (the suite's one table); each test sets its training.
TINY = SMALL["EEGNetClassifier"]


# Small networks on shared cores run fastest on one thread; the scripts set it too.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    data = make_motor_imagery(n_trials=60, n_channels=3, n_times=128, random_state=0)
    y = np.array(["left", "right"])[data.y]
    return data.X[:40], y[:40], data.X[40:], y[40:]


# ----------------------------------------------------------------------
# HeldOutScoring
def test_heldout_scoring_records_without_changing_training(tiny):
    X, y, X_test, y_test = tiny
    params = dict(max_epochs=4, early_stopping=False, random_state=0, **TINY)
    plain = EEGNetClassifier(**params).fit(X, y)
    scored = EEGNetClassifier(
        **params, callbacks=[HeldOutScoring(X_test, y_test, keep_predictions=True)]
    ).fit(X, y)
    history = scored.history_
    assert history.columns[-1] == "test_acc" and len(history) == 4
    assert history["test_acc"].between(0, 1).all()
    # Same seed, same training, with or without the callback.
    np.testing.assert_array_equal(history["train_loss"], plain.history_["train_loss"])
    np.testing.assert_array_equal(history["valid_loss"], plain.history_["valid_loss"])
    # The last per-epoch score is the fitted classifier's score; labels are decoded.
    assert history["test_acc"].iloc[-1] == pytest.approx(scored.score(X_test, y_test))
    callback = next(cb for _, cb in scored.net_.callbacks_ if isinstance(cb, HeldOutScoring))
    assert len(callback.predictions_) == 4
    np.testing.assert_array_equal(callback.predictions_[-1], scored.predict(X_test))
    # The estimator's own callback list is left as it was (fit works on copies).
    assert not hasattr(scored.callbacks[0], "predictions_")


def test_heldout_scoring_label_contract(tiny):
    X, y, X_test, y_test = tiny
    # A held-out set with one class only needs the training classes.
    only_right = y_test == "right"
    clf = EEGNetClassifier(max_epochs=2, early_stopping=False, random_state=0, **TINY,
                           callbacks=[HeldOutScoring(X_test[only_right], y_test[only_right],
                                                     classes=np.unique(y))])
    clf.fit(X, y)
    acc = np.mean(clf.predict(X_test[only_right]) == "right")
    assert clf.history_["test_acc"].iloc[-1] == pytest.approx(acc)
    with pytest.raises(ValueError, match="not among the classes"):
        HeldOutScoring(X_test, y_test, classes=["left", "up"]).initialize()
    with pytest.raises(ValueError, match="sorted unique"):
        HeldOutScoring(X_test, y_test, classes=["right", "left"]).initialize()
    with pytest.raises(ValueError, match="n_trials"):
        HeldOutScoring(X_test, y_test[:3]).initialize()
    bad = EEGNetClassifier(max_epochs=1, random_state=0, **TINY,
                           callbacks=[HeldOutScoring(X_test[only_right], y_test[only_right])])
    with pytest.raises(ValueError, match="classes=np.unique"):
        bad.fit(X, y)


def test_replayed_early_stopping_equals_an_early_stopped_fit(tiny):
    """The honest figure of the scripts: one fixed-length run replaces two fits."""
    X, y, X_test, y_test = tiny
    params = dict(max_epochs=25, patience=3, random_state=0, lr=0.01, **TINY)
    fixed = EEGNetClassifier(**params, early_stopping=False,
                             callbacks=[HeldOutScoring(X_test, y_test)]).fit(X, y)
    best, stop = _common.early_stopping_epoch(fixed.history_["valid_loss"], patience=3)
    stopped = EEGNetClassifier(**params, early_stopping=True).fit(X, y)
    assert stop < 25, "the test needs a run that early stopping ends"
    assert len(stopped.history_) == stop and best < stop  # weights restored
    assert fixed.history_["test_acc"].iloc[best - 1] == pytest.approx(
        stopped.score(X_test, y_test))


def test_early_stopping_epoch_rules():
    assert _common.early_stopping_epoch([3, 2, 1], patience=5) == (3, 3)
    assert _common.early_stopping_epoch([1, 2, 3, 4, 5], patience=2) == (1, 3)
    # An improvement below the relative threshold does not count.
    assert _common.early_stopping_epoch([1.0, 0.99999, 2, 2], patience=3) == (1, 4)
    assert _common.early_stopping_epoch([np.nan, np.nan], patience=2) == (2, 2)


def test_heldout_scoring_docstring_example():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(HeldOutScoring, "HeldOutScoring"):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


# ----------------------------------------------------------------------
# _common
def test_parse_seeds():
    assert _common.parse_seeds("3") == [0, 1, 2]
    assert _common.parse_seeds("0,7, 9") == [0, 7, 9]
    for bad in ("x", "0", "-1,2"):
        with pytest.raises(Exception, match="seeds"):
            _common.parse_seeds(bad)


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("SKEEG_DATA", str(tmp_path))
    assert _common.resolve_data_dir("/x") == _common.Path("/x")
    assert _common.resolve_data_dir() == tmp_path
    monkeypatch.delenv("SKEEG_DATA")
    assert _common.resolve_data_dir() == _common.REPO_ROOT.parent / "shared" / "data"


def test_auto_falls_back_to_synthetic_with_a_message(tmp_path):
    messages = []
    data = _common.load_dataset("auto", tmp_path, log=messages.append)
    assert data.name == "synthetic" and data.kind == "synthetic"
    assert "no real EEG data found" in messages[0] and "SYNTHETIC" in messages[0]
    with pytest.raises(_common.DataNotFound):
        _common.load_dataset("SelfRegulationSCP1", tmp_path)
    with pytest.raises(_common.DataNotFound):
        _common.load_dataset("eegmmidb", tmp_path)  # never downloads


def test_validation_split_is_skeegs(tiny):
    """Peers get the trials a skeeg classifier with the same seed validates on."""
    X, y, _, _ = tiny
    clf = EEGNetClassifier(random_state=3)
    learn_classes(clf, y)
    encoded = encode_labels(clf, y)
    seed = np.random.RandomState(3).randint(np.iinfo(np.int32).max)
    _, valid = split_validation(clf, encoded, seed)
    _, valid_idx = _common.validation_split(encoded, 0.2, 3)
    np.testing.assert_array_equal(valid_idx, valid)


def test_markdown_and_mean_sd():
    assert _common.mean_sd([0.5, 0.7]) == "60.0 ± 14.1"
    assert _common.mean_sd([0.5]) == "50.0"
    table = _common.to_markdown(pd.DataFrame({"a": [1, 2], "b|c": ["x", 0.125]}))
    assert table.splitlines()[0] == "| a | b\\|c |" and table.splitlines()[-1] == "| 2 | 0.125 |"


def test_real_data_splits(data_dir):
    scp1 = _common.load_dataset("SelfRegulationSCP1", data_dir)
    assert [len(scp1.splits[0].y_train), len(scp1.splits[0].y_test)] == [268, 293]
    mmi = _common.load_dataset("eegmmidb", data_dir)
    assert [s.name for s in mmi.splits] == ["test run 4", "test run 8", "test run 12"]
    assert all(len(s.y_test) == 15 and len(s.y_train) == 30 for s in mmi.splits)
    assert 1 < mmi.splits[0].X_train.std() < 1000  # microvolts, not volts
    assert set(mmi.classes) == {"left fist", "right fist"}


# ----------------------------------------------------------------------
# The scripts' --quick paths
def _argv(tmp_path, *extra):
    return ["--dataset", "synthetic-tiny", "--quick", "--max-epochs", "2",
            "--out", str(tmp_path), *extra]


def test_activations_quick(tmp_path, capsys):
    from benchmarks import activations

    summary = activations.main(_argv(tmp_path))
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "Confusion matrices" in out and "predicted 1" in out
    assert list(summary["model"]) == ["EEGNet-full", "DeepConvNet"]
    assert list(summary["activation"]) == ["ELU", "ELU"]
    assert "optimistic: selected on test (%)" in summary.columns
    assert (summary["selected on validation"] == "yes").sum() == 1
    assert "selected on validation:" in out
    # Progress: one line per finished fit.
    assert out.count("  fit done: ") == 2 and "fit done: EEGNet-full ELU, seed 0, fixed" in out
    # The labelled answer comes last: what ran, what was picked (on validation), its test score.
    result = out[out.index("RESULT: synthetic-tiny (SYNTHETIC EEG)"):]
    chosen = summary.loc[summary["selected on validation"] == "yes"].iloc[0]
    assert (f"picked on validation accuracy (the test split plays no part): {chosen['model']} "
            f"with ELU") in result
    assert (f"its test accuracy: {chosen['test acc, early-stopped on validation (%)']} % "
            "(24 test trials per run, 1 run(s); chance 50 %)") in result
    assert "rows: true class, columns: predicted class" in result
    assert "predicted 0  predicted 1" in result and "true 1" in result
    stem = tmp_path / "activations_synthetic-tiny_quick"
    for suffix in ("summary.csv", "summary.md", "runs.csv", "histories.csv",
                   "learning_curves.png", "confusion_EEGNet-full_ELU.png"):
        assert (tmp_path / f"{stem.name}_{suffix}").is_file(), suffix
    md = (tmp_path / f"{stem.name}_summary.md").read_text()
    assert "- command: `python" in md and "usable CPU cores" in md and "torch 2." in md
    runs = pd.read_csv(tmp_path / f"{stem.name}_runs.csv")
    assert (runs["optimistic_acc"] >= runs["honest_acc"]).all()
    assert (runs["optimistic_acc"] >= runs["final_acc"]).all()


def test_scale_quick(tmp_path, capsys):
    from benchmarks import scale

    # A run stopped after its first part, then resumed: only the missing fits are trained.
    first = scale.main(["--quick", "--parts", "scp1", "--out", str(tmp_path)])
    assert len(first) == 3
    log = tmp_path / "scale_quick_runs.jsonl"
    summary = scale.main(["--quick", "--resume", str(log), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "SYNTHETIC stand-in" in out and "6 fits" in out and "20 fits" in out
    assert "resuming" in out and "6 fits already there are not run again" in out
    assert list(summary["model"]) == ["EEGNet"] * 7 + ["DeepConvNet"] * 2
    assert list(summary["input"])[:3] == ["as given (uV)", "x 1e-6 (V)", "+ 4000 (DC offset)"]
    assert summary["data set"].str.startswith("synthetic (").all()
    assert list(summary["fits each"]) == [1, 1, 1, 3, 3, 1, 1, 1, 1]  # eegmmidb: 3 run folds
    assert summary[scale.BEFORE + " (%)"].str.match(r"^\d").all()
    pd.testing.assert_frame_equal(summary.iloc[:3], first)
    runs = pd.read_csv(tmp_path / "scale_quick_runs.csv")
    assert len(runs) == 26 and (runs["error"].isna() | (runs["error"] == "")).all()
    assert not runs.duplicated(["part", "input", "seed", "split", "standardize"]).any()
    # Before: the network saw X as given (scale_ 1); after: a scale learned from X.
    before, after = runs[~runs["standardize"]], runs[runs["standardize"]]
    assert (before["scale_"] == 1).all()
    volts = after[after["input"].str.contains("1e-6")]
    assert np.allclose(volts["scale_"], volts["input_sd"], rtol=0.05)
    lines = log.read_text().splitlines()
    assert len(lines) == 28 and "\"command\": \"python -m benchmarks.scale --quick" in lines[0]
    assert "--resume" in lines[7] and '"resumed": true' in lines[7]
    md = (tmp_path / "scale_quick_summary.md").read_text()
    assert "- command: `python -m benchmarks.scale --quick" in md and "SYNTHETIC" in md
    assert "resumed run: 6 fits from earlier invocations, 20 from this one" in md
    # The same tables come back from the log alone.
    again = scale.main(["--from-log", str(log), "--out", str(tmp_path / "again")])
    pd.testing.assert_frame_equal(again, summary)


def test_scale_help_and_bad_parts(capsys):
    from benchmarks import scale

    with pytest.raises(SystemExit) as exit_:
        scale.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--quick", "--seeds", "--data-dir", "--threads", "--parts", "GroupKFold"):
        assert option in text
    with pytest.raises(SystemExit):
        scale.main(["--parts", "scp2"])
    assert "argument --parts: unknown name(s) ['scp2']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        scale.main(["--parts", "scp1,scp1"])
    assert "argument --parts: scp1 given twice" in capsys.readouterr().err


def test_readme_example_prints_a_labelled_result(monkeypatch, capsys):
    """examples/readme_example.py (the README's example) on a tiny stand-in of SCP1."""
    import runpy

    import sklearn.model_selection
    from sklearn.utils import Bunch

    import skeeg
    import skeeg.datasets

    rng = np.random.default_rng(0)
    names = np.array(["negativity", "positivity"])

    def fake_load_uea(name, data_dir=None, download=False):
        calls.append((name, download))
        y = names[np.arange(56) % 2]
        X = rng.normal(size=(56, 3, 256)).astype(np.float32)
        X[y == "positivity", 0] += 1.5  # a slow potential on channel 0
        return Bunch(X_train=X[:36], y_train=y[:36], X_test=X[36:], y_test=y[36:])

    calls = []
    grid_search = sklearn.model_selection.GridSearchCV
    monkeypatch.setattr(skeeg.datasets, "load_uea", fake_load_uea)
    monkeypatch.setattr(skeeg, "EEGNetClassifier",
                        lambda **kw: EEGNetClassifier(max_epochs=2, **TINY, **kw))
    # One process, so that the per-fit lines are printed here (n_jobs=2 prints them in workers).
    monkeypatch.setattr(sklearn.model_selection, "GridSearchCV",
                        lambda *a, **kw: grid_search(*a, **{**kw, "n_jobs": 1}))
    example = _common.REPO_ROOT / "examples" / "readme_example.py"
    runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    assert calls == [("SelfRegulationSCP1", True)]
    # Progress: what runs, then one line per fit with its score and time.
    assert "Searching on the training split, then refitting the best on all of it..." in out
    assert "Fitting 3 folds for each of 2 candidates, totalling 6 fits" in out
    fits = re.findall(r"\[CV (\d)/3\] END \.*eegnetclassifier__activation=(elu|relu);, "
                      r"score=\d\.\d+ total time=", out)
    assert sorted(fits) == sorted((str(k), a) for k in (1, 2, 3) for a in ("elu", "relu"))
    # The labelled result.
    picked = re.search(r"Activation picked by 3-fold CV on the training split: (elu|relu) "
                       r"\(CV accuracy \d+\.\d%\)", out)
    assert picked, out
    assert re.search(r"Test accuracy: \d+\.\d% on 20 test trials", out)
    assert "Confusion matrix (rows: true class, columns: predicted class):" in out
    table = out.split("predicted class):\n", 1)[1].splitlines()
    assert table[0].split() == ["predicted", "negativity", "predicted", "positivity"]
    assert table[1].split()[:2] == ["true", "negativity"]
    assert table[2].split()[:2] == ["true", "positivity"]
    assert sum(int(v) for row in table[1:3] for v in row.split()[2:]) == 20
    # The example is the README's, line for line.
    readme = (_common.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8").strip() in readme


def test_sweeps_quick(tmp_path):
    from benchmarks import sweeps

    results, cv_results = sweeps.main(_argv(tmp_path, "--factors", "lr"))
    assert list(results["factor"]) == ["lr"]
    assert sorted(cv_results["lr"]) == ["0.0007", "0.001", "0.01"]
    assert (tmp_path / "sweeps_synthetic-tiny_quick_cv_results.md").is_file()


def test_peers_quick(tmp_path):
    pytest.importorskip("braindecode")
    pytest.importorskip("pyriemann")
    from benchmarks import peers

    summary = peers.main(_argv(tmp_path, "--methods", ",".join(
        m for m in peers.METHODS if "ATCNet" not in m)))
    assert list(summary["method"]) == [m for m in peers.METHODS if "ATCNet" not in m]
    # Like with like: the two EEGNets have (nearly) the same size.
    params = dict(zip(summary["method"], summary["params"]))
    assert abs(params["skeeg-EEGNet"] - params["braindecode-EEGNet"]) < 100
    assert params["skeeg-EEGNet-paper"] == params["braindecode-EEGNet"]
    # The same networks on both sides: skeeg's architectures and braindecode's EEGNetv4
    # through skeeg's generic EEGClassifier.
    assert params["skeeg-EEGClassifier"] == params["braindecode-EEGNet"]
    assert params["skeeg-Conformer"] == params["braindecode-Conformer"]
    runs = pd.read_csv(tmp_path / "peers_synthetic-tiny_quick_runs.csv")
    assert runs["honest_acc"].between(0, 1).all()


def test_peers_skip_networks_too_short_for_the_trials(tmp_path, capsys):
    pytest.importorskip("braindecode")
    from benchmarks import peers

    # ATCNet needs 280 samples at its defaults; the tiny set has 128.
    summary = peers.main(_argv(tmp_path, "--methods", "skeeg-ATCNet,braindecode-ATCNet,mne-CSP"))
    out = capsys.readouterr().out
    assert "SKIPPED skeeg-ATCNet on synthetic-tiny: ValueError: n_times=128 is too short" in out
    assert "SKIPPED braindecode-ATCNet on synthetic-tiny" in out
    assert list(summary["method"]) == ["mne-CSP"]
    with pytest.raises(SystemExit, match="none of the methods"):
        peers.main(_argv(tmp_path, "--methods", "skeeg-ATCNet"))


def test_unknown_choice_exits(tmp_path):
    from benchmarks import activations

    with pytest.raises(SystemExit):
        activations.main(_argv(tmp_path, "--models", "ResNet"))
    # A named real data set that is missing ends the script with the reason.
    with pytest.raises(SystemExit, match="SKEEG_DATA"):
        activations.main(["--dataset", "FingerMovements", "--data-dir", str(tmp_path)])


def test_models_too_short_for_the_trials_are_skipped():
    from types import SimpleNamespace

    from benchmarks.activations import _too_short

    finger_movements = SimpleNamespace(n_channels=28, n_times=50, classes=np.array([0, 1]))
    assert "too short" in _too_short("DeepConvNet", finger_movements)
    assert _too_short("EEGNet-full", finger_movements) is None


# ----------------------------------------------------------------------
# Dask
def test_grid_search_on_dask_matches_local():
    pytest.importorskip("distributed")
    from sklearn.model_selection import StratifiedKFold

    from benchmarks.sweeps import dask_backend, grid_search

    data = make_motor_imagery(n_trials=48, n_channels=3, n_times=128, random_state=0)
    estimator = EEGNetClassifier(max_epochs=3, random_state=0, **TINY)
    grid = {"lr": [1e-3, 1e-2], "batch_size": [8, 16]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    local = grid_search(estimator, grid, data.X, data.y, cv, n_jobs=1)
    # Worker processes: threads would share torch's global random generator.
    with dask_backend(n_workers=2, processes=True) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        remote = grid_search(estimator, grid, data.X, data.y, cv, n_jobs=-1)
    np.testing.assert_array_equal(local.cv_results_["mean_test_score"],
                                  remote.cv_results_["mean_test_score"])
    assert local.best_params_ == remote.best_params_


def test_selection_uses_validation_only():
    from benchmarks.activations import select_on_validation

    runs = pd.DataFrame({
        "model": ["A", "A", "B", "B", "C", "C"],
        "activation": ["ELU"] * 6,
        # B has the best test figure, but A and C share the best validation
        # accuracy; C wins the tie on validation loss.
        "valid_acc": [0.9, 0.8, 0.7, 0.7, 0.85, 0.85],
        "valid_loss": [0.30, 0.40, 0.20, 0.20, 0.30, 0.30],
        "honest_acc": [0.5, 0.5, 0.99, 0.99, 0.6, 0.6],
    })
    assert select_on_validation(runs) == ("C", "ELU")
    runs.loc[runs["model"] == "C", "valid_loss"] = 0.36
    assert select_on_validation(runs) == ("A", "ELU")


def test_sweeps_any_parameter(tmp_path):
    from benchmarks import sweeps

    results, cv_results = sweeps.main(_argv(tmp_path, "--grid", "dropout=0.25,0.5",
                                            "--grid", "max_norm=false,true", "--factorial"))
    assert list(results["factor"]) == ["dropout x max_norm"]
    assert len(cv_results) == 4
    assert set(cv_results["max_norm"]) == {"True", "False"}
    with pytest.raises(SystemExit, match="no parameter 'kernel'"):
        sweeps.main(_argv(tmp_path, "--grid", "kernel=3,5"))


@pytest.mark.parametrize("per_epoch", [False, True])
def test_speed_training_times_at_several_channel_counts(per_epoch):
    from benchmarks import speed

    for n_channels in (2, 6):  # both EEGNet block-1 paths
        times = speed.time_training("EEGNet", 2, 1, n_trials=32, n_channels=n_channels,
                                    n_times=128, per_epoch=per_epoch)
        assert set(times) == {"reference loop", "skeeg classifier", "plain loop, skeeg module"}
        assert all(0 < seconds < 60 for seconds in times.values())


def test_augmentation_search_and_ablation_quick(tmp_path):
    from benchmarks import augmentation

    augmentation.main(["--part", "search", "--dataset", "synthetic-tiny", "--quick",
                       "--out", str(tmp_path)])
    search = pd.read_csv(tmp_path / "augmentation_search_synthetic-tiny_search.csv")
    # Every candidate scored on every inner fold of the training split, ranked.
    assert len(search) == 7 and search["rank"].min() == 1 and search["rank"].max() <= 7
    assert search["mean (%)"].is_monotonic_decreasing  # best first
    assert search[[f"fold {i} (%)" for i in range(3)]].notna().all().all()
    assert "crop_length=112" in set(search["candidate"])
    test = pd.read_csv(tmp_path / "augmentation_search_synthetic-tiny_test.csv")
    assert list(test["seed"]) == [0] and test["test accuracy (%)"].between(0, 100).all()
    augmentation.main(["--part", "ablation", "--datasets", "synthetic-tiny", "--quick",
                       "--networks", "EEGNet", "--rows", "none,SignFlip,crops",
                       "--out", str(tmp_path)])
    ablation = pd.read_csv(tmp_path / "augmentation_ablation_ablation.csv")
    assert list(ablation["training"]) == ["none", "SignFlip", "crops"]
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage error
        augmentation.main(["--part", "ablation", "--quick", "--networks", "ResNet",
                           "--out", str(tmp_path)])
    assert exit_info.value.code == 2


def test_augmentation_search_over_networks_with_an_ensemble_stage(tmp_path):
    from benchmarks import augmentation

    augmentation.main(["--part", "search", "--dataset", "synthetic-tiny", "--quick",
                       "--grid", "all", "--search-networks", "EEGNet,DeepConvNet",
                       "--ensemble", "2", "--set", "lr=0.002", "--out", str(tmp_path)])
    stem = tmp_path / "augmentation_search_synthetic-tiny"
    search = pd.read_csv(f"{stem}_search.csv")
    # Every transform and crops, for each network: 2 x (none + 9 transforms + crops).
    assert len(search) == 22
    assert {c.split(",")[0] for c in search["candidate"]} == {"EEGNet", "DeepConvNet"}
    assert any("SignFlip()" in c for c in search["candidate"])
    stage = pd.read_csv(f"{stem}_ensemble.csv")
    best = search.iloc[0]
    assert stage["candidate"][0] == best["candidate"]
    assert stage["candidate"][1] == f"soft vote of 2 x ({best['candidate']})"
    assert stage["mean (%)"][0] == pytest.approx(best["mean (%)"])
    chosen = "test_ensemble" if stage["mean (%)"][1] > stage["mean (%)"][0] else "test"
    notes = {kind: (tmp_path / f"augmentation_search_synthetic-tiny_{kind}.md").read_text()
             for kind in ("test", "test_ensemble")}
    assert "the configuration chosen on the training split" in notes[chosen]
    assert sum("NOT chosen" in text for text in notes.values()) == 1
    assert "lr=0.002" in (tmp_path / "augmentation_search_synthetic-tiny_search.md").read_text()


def test_augmentation_ablation_table_uses_complete_seeds_and_pairs_fits():
    from benchmarks.augmentation import ablation_summary

    def fit(row, seed, split, accuracy):
        return dict(dataset="d", network="EEGNet", row=row, seed=seed, split=split,
                    accuracy=accuracy, fit_s=1.0, epochs=10)

    rows = [fit("none", 0, "a", 0.8), fit("none", 0, "b", 0.6),
            fit("Mixup", 0, "a", 0.9), fit("Mixup", 0, "b", 0.8),
            fit("none", 1, "a", 0.7), fit("none", 1, "b", 0.7),
            fit("Mixup", 1, "a", 0.75), fit("Mixup", 1, "b", 0.65),
            fit("none", 2, "a", 0.1)]  # seed 2 was stopped part-way: left out
    table, seeds = ablation_summary(rows)
    assert seeds == {"d": {0: None, 1: None}}
    assert list(table["training"]) == ["none", "Mixup"] and list(table["fits"]) == [4, 4]
    # Paired by split and seed: +10, +20, +5, -5 points.
    assert table["paired difference to none (points)"][1] == "7.5 ± 10.4"
    assert table["test accuracy (%)"][0] == "70.0 ± 8.2"


def test_augmentation_benchmark_refuses_bad_options(tmp_path):
    from benchmarks import augmentation

    for argv, message in [(["--set", "lr"], "NAME=VALUE"),
                          (["--ensemble", "1"], "--ensemble"),
                          (["--set", "random_state=3"], "--seeds")]:
        with pytest.raises(SystemExit, match=message):
            augmentation.main(["--part", "search", "--quick", "--out", str(tmp_path), *argv])
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage error, on stderr
        augmentation.main(["--part", "search", "--quick", "--search-networks", "ResNet"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit, match="needs --log"):
        augmentation.main(["--part", "table"])
    # A network that cannot take the trials: the search says which and what to do.
    with pytest.raises(SystemExit, match=r"too short.*Check the --set values, and that each of "
                                         r"--search-networks takes these trials"):
        augmentation.main(["--part", "search", "--dataset", "synthetic-tiny", "--quick",
                           "--search-networks", "DeepConvNet", "--set", "n_filters=(4,4,4,4,4,4)",
                           "--out", str(tmp_path)])


def test_augmentation_ablation_table_joins_runs_seed_by_seed(tmp_path):
    from benchmarks.augmentation import main

    def fit(row, seed, accuracy):
        return dict(dataset="d", network="EEGNet", row=row, seed=seed, split="s",
                    accuracy=accuracy, fit_s=1.0, epochs=10, params={})

    first = [fit("none", 0, 0.8), fit("Mixup", 0, 0.9), fit("none", 1, 0.5)]  # seed 1 cut short
    second = [fit("none", 1, 0.6), fit("Mixup", 1, 0.7), fit("none", 2, 0.6)]
    paths = []
    for name, machine, fits in [("a", "gpu box", first), ("b", "cpu box", second)]:
        path = tmp_path / f"{name}.jsonl"
        lines = [{"header": {"machine": machine}}, *fits]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        paths += ["--log", str(path)]
    out = io.StringIO()
    with redirect_stdout(out):
        main(["--part", "table", *paths])
    text = out.getvalue()
    # Seed 0 from the first run, seed 1 whole from the second; seed 2 incomplete.
    assert "d: seeds [0, 1]" in text
    assert "seed 0: gpu box" in text and "seed 1: cpu box" in text
    assert "| d | EEGNet | Mixup | 2 | 80.0 ± 14.1 | 10.0 ± 0.0 |" in text


def test_augmentation_table_refuses_logs_it_cannot_read(tmp_path, capsys):
    from benchmarks import augmentation

    fit = {"dataset": "d", "network": "EEGNet", "row": "none", "seed": 0, "split": "s",
           "accuracy": 0.5, "fit_s": 1.0, "epochs": 3, "params": {}}
    ablation = json.dumps({"header": {"command": "... --part ablation", "part": "ablation"}})
    cases = {
        "search.jsonl": ([json.dumps({"header": {"command": "--part search",
                                                  "part": "search"}}), json.dumps(fit)],
                         "a log of --part search"),
        "text.jsonl": (["not json", json.dumps(fit)], "line 1: not a JSON record"),
        "list.jsonl": ([ablation, "[1, 2]"], "line 2: not a record"),
    }
    for name, (lines, message) in cases.items():
        path = tmp_path / name
        if lines is not None:
            path.write_text("\n".join(lines) + "\n")
        with pytest.raises(SystemExit, match=message):
            augmentation.main(["--part", "table", "--log", str(path)])
    for path, message in [(tmp_path / "missing.jsonl", "cannot be read"),
                          (tmp_path, "is a folder")]:  # usage errors, naming --log
        with pytest.raises(SystemExit) as exit_info:
            augmentation.main(["--part", "table", "--log", str(path)])
        assert exit_info.value.code == 2
        assert f"argument --log: {str(path)!r} {message}" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="cannot be read"):  # read_log alone
        augmentation.read_log(tmp_path / "missing.jsonl")
    # A run killed while writing its last line: that line is left out, the rest read.
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join([ablation, json.dumps(fit), json.dumps(fit)[:20]]))
    assert len(augmentation.read_log(cut)) == 1


def test_augmentation_benchmark_checks_options_before_running(tmp_path, capsys):
    from benchmarks import augmentation

    for argv, message in [
        (["--part", "search", "--set", "foo=1"], r"--set foo: not a parameter of EEGNetClassifier"),
        (["--part", "search", "--set", "lr=abc"], r"^--set: The 'lr' parameter of EEGNetClassifier must be a real number"),
        (["--part", "ablation", "--set", "max_epochs=0"], r"--set max_epochs: the script sets "
                                                          r"it, from --max-epochs"),
        (["--part", "ablation", "--set", "augmentation=None"], r"--set augmentation: the script"),
        (["--part", "search", "--log", __file__], "--log is read by --part table only"),
    ]:
        with pytest.raises(SystemExit, match=message):
            augmentation.main([*argv, "--quick", "--out", str(tmp_path)])
    assert not list(tmp_path.iterdir())  # refused before any log was started
    for argv, message in [  # argparse's own exit, its message on stderr
        (["--seeds", "0"], "--seeds 0 asks for no seed"),
        (["--stop-after", "-5"], "argument --stop-after: expected a finite number > 0"),
        (["--rows", ""], "argument --rows: unknown name(s) ''"),
        (["--rows", "none,Nope"], "argument --rows: unknown name(s) ['Nope']; choose among "
                                  "none, TimeShift"),
        (["--dataset", "Nope"], "argument --dataset: invalid choice: 'Nope'"),
    ]:
        with pytest.raises(SystemExit):
            augmentation.main(["--part", "search", *argv, "--out", str(tmp_path)])
        assert message in capsys.readouterr().err


def test_augmentation_table_reads_repeated_runs_and_plans(tmp_path):
    from benchmarks import augmentation

    out = tmp_path / "out"
    argv = ["--part", "ablation", "--datasets", "synthetic-tiny", "--quick", "--networks",
            "EEGNet", "--rows", "none,SignFlip", "--out", str(out)]
    augmentation.main(argv)
    augmentation.main([*argv, "--seeds", "0,1"])  # a second run, same --out: the same log
    log = out / "augmentation_ablation_runs.jsonl"
    rows = augmentation.read_log(log)
    assert {r["source"] for r in rows} == {(0, 1), (0, 2)} and len(rows) == 6
    table, seeds = augmentation.ablation_summary(rows)
    # Seed 0 ran twice: the later run's fits are taken, never both.
    assert sorted(seeds["synthetic-tiny"]) == [0, 1] and list(table["fits"]) == [2, 2]
    # A run cut after its first fit: that seed is not complete, whatever the log holds.
    lines = log.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:2]) + "\n")
    with pytest.raises(SystemExit, match="no seed has every fit"):
        augmentation.ablation_summary(augmentation.read_log(cut))
