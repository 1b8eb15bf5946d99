"""Smoke tests of ``benchmarks.cross_subject``: the folds, the rows, the exits.

The ``--quick`` runs use a tiny synthetic cohort, tiny networks and 2
epochs: they check the protocol (no held-out subject in training, every
subject scored, the rows asked for), not accuracy.
"""

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import cross_subject as cs

HAS_PYRIEMANN = importlib.util.find_spec("pyriemann") is not None

ROWS = ["EEGNet", "EEGNet + EA", "DeepConvNet", "DeepConvNet + EA", "CSP+LDA", "CSP+LDA + EA",
        "TS+LR", "TS+LR + EA", "EEGNet fine-tuned"]


# Small networks on shared cores run fastest on one thread; the scripts set it too.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _check_folds_table(folds, held_out_expected, scored_rows):
    """Every row: a held-out group absent from its training groups, scores in [0, 1]."""
    for _, row in folds.iterrows():
        assert str(row["held_out"]) not in str(row["train_groups"]).split(";")
        assert row["n_calibration"] + row["n_rest"] == row["n_all"]
    for label in scored_rows:
        rows = folds[folds["method"] == label]
        assert sorted(rows["held_out"].unique().tolist()) == held_out_expected, label
        assert (rows["error"].fillna("") == "").all(), label
        assert rows["acc_rest"].between(0, 1).all(), label
        assert rows["auc_rest"].dropna().between(0, 1).all(), label
        if label == "EEGNet fine-tuned":
            assert rows["acc_all"].isna().all()  # scored on the trials after calibration only
        else:
            assert rows["acc_all"].between(0, 1).all(), label


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cs.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--dataset", "--protocol", "--folds", "--subjects", "--download",
                   "--methods", "--alignment", "--finetune-epochs", "--finetune-fraction",
                   "--set", "--seeds", "--data-dir", "--quick", "--max-epochs", "--n-jobs",
                   "--threads", "--out", "eegmmidb", "deap", "synthetic", "loso", "cross-run"):
        assert option in out, option
    assert "MNE" in out and "PhysioNet" in out  # other EEGMMIDB subjects: MNE downloads them


def test_quick_loso(tmp_path, capsys):
    summary = cs.main(["--quick", "--out", str(tmp_path)])
    assert summary["method"].tolist() == ROWS
    status = dict(zip(summary["method"], summary["status"]))
    scored = [label for label in ROWS if HAS_PYRIEMANN or not label.startswith("TS+LR")]
    for label in ROWS:
        assert status[label] == ("ok" if label in scored else
                                 "skipped: pyriemann is not installed (pip install pyriemann)")
    stem = tmp_path / "cross_subject_synthetic_loso_quick"
    folds = pd.read_csv(f"{stem}_folds.csv", keep_default_na=True,
                        dtype={"train_groups": str, "error": str})
    # Four simulated subjects, each held out once, scored alone.
    _check_folds_table(folds, [1, 2, 3, 4], scored)
    assert sorted(folds["fold"].unique()) == [f"subject {k}" for k in (1, 2, 3, 4)]
    # 3 training subjects: the networks validate on a whole one of them.
    networks = folds[folds["method"].isin(["EEGNet", "DeepConvNet + EA"])]
    assert networks["validation"].str.startswith("whole subjects").all()
    for _, row in networks.iterrows():
        chosen = [g.strip() for g in row["validation"].split("[")[1].rstrip("]").split(",")]
        assert set(chosen) <= set(row["train_groups"].split(";"))
    # Rows logged as they finish: a header, then one line per row.
    lines = (tmp_path / "cross_subject_synthetic_loso_quick_runs.jsonl").read_text().splitlines()
    assert "header" in json.loads(lines[0]) and len(lines) == 1 + len(folds)
    per_subject = pd.read_csv(f"{stem}_per_subject.csv")
    assert per_subject.columns.tolist() == ["method", "1", "2", "3", "4"]
    md = (tmp_path / "cross_subject_synthetic_loso_quick_summary.md").read_text()
    assert "- command: `python -m benchmarks.cross_subject --quick" in md
    assert "- machine:" in md and "- date:" in md
    assert "transductive" in md and "SYNTHETIC" in md
    assert "82.4 %" in md and "58.1 ± 8.3 %" in md and "99.7 %" in md  # the anchors
    assert "last 80 %" in md


def test_quick_cross_run_and_finetuned_alone(tmp_path):
    summary = cs.main(["--quick", "--protocol", "cross-run", "--methods",
                       "CSP+LDA,EEGNet-finetuned", "--alignment", "ea", "--out", str(tmp_path)])
    assert summary["method"].tolist() == ["CSP+LDA + EA", "EEGNet fine-tuned"]
    folds = pd.read_csv(tmp_path / "cross_subject_synthetic_cross-run_quick_folds.csv",
                        dtype={"train_groups": str, "error": str})
    _check_folds_table(folds, [1, 2, 3], ["CSP+LDA + EA", "EEGNet fine-tuned"])
    # The EEGNet behind the fine-tuned row is trained but not reported.
    assert set(folds["method"]) == {"CSP+LDA + EA", "EEGNet fine-tuned"}
    tuned = folds[folds["method"] == "EEGNet fine-tuned"]
    assert (tuned["n_calibration"] == 3).all() and (tuned["n_rest"] == 12).all()
    assert (tuned["epochs"] == 2).all()
    assert (tmp_path / "cross_subject_synthetic_cross-run_quick_per_run.csv").is_file()


def test_folds_keep_subjects_whole():
    groups = np.repeat([1, 2, 3, 4, 5, 6], [5, 6, 5, 7, 5, 5])
    for n_folds, expected in ((None, 6), (3, 3)):
        folds, how = cs.make_folds(groups, "loso", n_folds)
        assert len(folds) == expected
        tested = np.concatenate([test for _, _, test in folds])
        assert sorted(tested.tolist()) == list(range(len(groups)))  # each trial tested once
        for _, train, test in folds:
            assert not set(groups[train]) & set(groups[test])
            assert len(train) + len(test) == len(groups)
    assert "leave-one-subject-out" in cs.make_folds(groups, "loso")[1]
    runs = np.repeat([4, 8, 12], 15)
    folds, how = cs.make_folds(runs, "cross-run")
    assert [name for name, _, _ in folds] == ["run 4", "run 8", "run 12"]
    assert "leave-one-run-out" in how
    with pytest.raises(SystemExit, match="cross-run"):
        cs.make_folds(np.ones(10), "loso")
    with pytest.raises(SystemExit, match="--folds"):
        cs.make_folds(groups, "loso", 7)


def test_scores():
    classes = np.array(["left", "right"])
    y = np.array(["left", "right", "right", "left"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    acc, auc = cs.scores(y, proba, classes)
    assert acc == 0.75 and auc == 1.0
    assert np.isnan(cs.scores(y[:1], proba[:1], classes)[1])  # one class: AUC undefined
    three = np.array([0, 1, 2])
    acc, auc = cs.scores([0, 1, 2], np.eye(3, dtype=np.float32), three)
    assert acc == 1.0 and auc == 1.0
    assert cs.calibration_size(15, 0.2) == 3 and cs.calibration_size(5, 0.2) == 2


@pytest.mark.parametrize("argv, message", [
    (["--methods", "EEGNet,LSTM"], "unknown name"),
    (["--dataset", "bci_iv"], "invalid choice"),
    (["--protocol", "within"], "invalid choice"),
])
def test_unknown_choices_exit(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cs.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "eegmmidb"], "use --protocol cross-run"),
    (["--dataset", "eegmmidb", "--protocol", "cross-run", "--subjects", "1,2"], "ONE subject"),
    (["--subjects", "1,2"], "--n-subjects"),
    (["--protocol", "cross-run", "--folds", "2"], "--folds applies"),
    (["--set", "EEGNet.depth=3"], "not a parameter"),
    (["--set", "Transformer.depth=3"], "unknown network"),
])
def test_inconsistent_options_exit(argv, message):
    with pytest.raises(SystemExit, match=message):
        cs.main(argv)


def test_missing_eegmmidb_files_exit_without_downloading(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cs.main(["--dataset", "eegmmidb", "--protocol", "cross-run", "--data-dir",
                 str(tmp_path), "--out", str(tmp_path)])
    message = str(exit_info.value)
    assert "S001R04.edf" in message and "--download" in message
    assert not (tmp_path / "MNE-eegbci-data").exists()


def test_set_parses_network_parameters():
    params = cs._parse_set(["EEGNet.dropout=0.5", "DeepConvNet.n_filters=8,8,8", "lr=0.01",
                            "activation=relu"])
    assert params["EEGNet"] == {"dropout": 0.5, "lr": 0.01, "activation": "relu"}
    assert params["DeepConvNet"] == {"n_filters": (8, 8, 8), "lr": 0.01, "activation": "relu"}


def test_eegmmidb_cross_run_real(data_dir, tmp_path):
    """Subject 1's three runs: one fold per run, 15 cues each, 3 of them for calibration."""
    if importlib.util.find_spec("mne") is None:
        pytest.skip("mne not installed")
    if cs._eegmmidb_files_missing(data_dir, [1]):
        pytest.skip(f"EEGMMIDB subject 1 not in {data_dir}")
    summary = cs.main(["--dataset", "eegmmidb", "--protocol", "cross-run", "--data-dir",
                       str(data_dir), "--methods", "EEGNet-finetuned", "--seeds", "1",
                       "--max-epochs", "1", "--finetune-epochs", "1", "--out", str(tmp_path),
                       *[f"--set=EEGNet.{k}={v}" for k, v in cs.QUICK_PARAMS["EEGNet"].items()]])
    assert summary["method"].tolist() == ["EEGNet fine-tuned"]
    folds = pd.read_csv(tmp_path / "cross_subject_eegmmidb_cross-run_folds.csv",
                        dtype={"train_groups": str, "error": str})
    _check_folds_table(folds, [4, 8, 12], ["EEGNet fine-tuned"])
    assert (folds["n_all"] == 15).all() and (folds["n_calibration"] == 3).all()
    md = (tmp_path / "cross_subject_eegmmidb_cross-run_summary.md").read_text()
    assert "REAL EEG" in md and "leave-one-run-out" in md


def test_quick_group_k_fold_scores_each_held_out_subject_alone(tmp_path):
    """--folds 3 over 6 subjects: two held-out subjects per fold, each scored and tuned alone."""
    cs.main(["--quick", "--n-subjects", "6", "--trials-per-subject", "20", "--folds", "3",
             "--methods", "CSP+LDA,EEGNet-finetuned", "--alignment", "ea",
             "--out", str(tmp_path)])
    folds = pd.read_csv(tmp_path / "cross_subject_synthetic_loso_quick_folds.csv",
                        dtype={"train_groups": str, "error": str})
    _check_folds_table(folds, [1, 2, 3, 4, 5, 6], ["CSP+LDA + EA", "EEGNet fine-tuned"])
    assert folds["fold"].nunique() == 3
    assert (folds.groupby("fold")["held_out"].nunique() == 2).all()
    assert (folds["n_calibration"] == 4).all() and (folds["n_rest"] == 16).all()


def test_deap_rows_from_the_loader(monkeypatch, tmp_path):
    """DEAP goes through load_deap (replaced here by a small stand-in with its fields)."""
    import skeeg.datasets
    from sklearn.utils import Bunch

    from skeeg.datasets import make_motor_imagery

    asked = {}

    def fake_load_deap(data_dir=None, target="valence", threshold=5.0, subjects=None,
                       baseline="keep"):
        asked.update(target=target, subjects=subjects, baseline=baseline)
        data = make_motor_imagery(n_trials=60, n_channels=4, n_times=128, n_subjects=3,
                                  random_state=1)
        return Bunch(X=data.X, y=data.y.astype(np.int64), subject=data.subject + 1, unit="uV")

    monkeypatch.setattr(skeeg.datasets, "load_deap", fake_load_deap)
    summary = cs.main(["--quick", "--dataset", "deap", "--subjects", "1-3", "--deap-target",
                       "arousal", "--methods", "CSP+LDA", "--out", str(tmp_path)])
    assert asked == {"target": "arousal", "subjects": [1, 2, 3], "baseline": "drop"}
    assert summary["status"].tolist() == ["ok", "ok"]
    folds = pd.read_csv(tmp_path / "cross_subject_deap_loso_quick_folds.csv",
                        dtype={"train_groups": str, "error": str})
    _check_folds_table(folds, [1, 2, 3], ["CSP+LDA", "CSP+LDA + EA"])
    with pytest.raises(SystemExit, match="DEAP has one session"):
        cs.main(["--dataset", "deap", "--protocol", "cross-run"])


def test_missing_deap_exits_with_the_reason(tmp_path):
    with pytest.raises(SystemExit, match="s01.dat"):
        cs.main(["--dataset", "deap", "--data-dir", str(tmp_path), "--out", str(tmp_path)])


def test_a_method_whose_every_fit_fails_ends_the_run_with_an_error(tmp_path, capsys):
    # Crops longer than the trials (128 samples): a valid parameter that fails in fit.
    with pytest.raises(SystemExit, match="every fit of EEGNet failed"):
        cs.main(["--quick", "--methods", "EEGNet", "--alignment", "none", "--set",
                 "crop_length=1000", "--out", str(tmp_path)])
    assert any(tmp_path.glob("*_summary.md"))  # the tables, with the errors, are written
    with pytest.raises(SystemExit) as exit_info:  # a usage error, before any fit
        cs.main(["--quick", "--set", "lr=-1", "--out", str(tmp_path / "none")])
    assert exit_info.value.code == 2 and "argument --set: lr=-1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cs.main(["--dataset", "eegmmidb", "--protocol", "cross-run", "--subjects", "0"])
    assert exit_info.value.code == 2
    assert "argument --subjects: subjects are 1-109; got [0]" in capsys.readouterr().err
