"""The benchmarks' command lines: bad values are argparse's usage errors, not tracebacks.

Each case is refused while the arguments are parsed, before any data is read
or any network trained; one case per script also runs as a child process, as
a user would run it, to see the exit status and stderr a shell sees.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CASES = [  # script, arguments, what stderr says
    ("activations", ["--max-epochs", "-3"], "argument --max-epochs: expected an integer >= 1"),
    ("activations", ["--seeds", "0"], "--seeds 0 asks for no seed"),
    ("activations", ["--threads", "0"], "argument --threads: expected an integer >= 1"),
    ("activations", ["--n-jobs", "two"], "argument --n-jobs: expected an integer >= 1, got 'two'"),
    ("activations", ["--models", "ResNet"], "argument --models: unknown name(s) ['ResNet']"),
    ("activations", ["--activations", ","], "argument --activations: unknown name(s)"),
    ("activations", ["--data-dir", __file__], "argument --data-dir: "),
    ("peers", ["--methods", "skeeg-EEGNet,nope"], "argument --methods: unknown name(s) ['nope']"),
    ("sweeps", ["--cv", "1"], "argument --cv: expected an integer >= 2"),
    ("sweeps", ["--factors", "depth"], "argument --factors: unknown name(s) ['depth']"),
    ("sweeps", ["--dask-workers", "0"], "argument --dask-workers: expected an integer >= 1"),
    ("scale", ["--max-epochs", "0"], "argument --max-epochs: expected an integer >= 1"),
    ("speed", ["--threads", "-1"], "argument --threads: expected an integer >= 1"),
    ("speed", ["--parts", "train,warp"], "argument --parts: unknown name(s) ['warp']"),
    ("deap", ["--seeds", "0"], "argument --seeds: expected an integer >= 1"),
    ("deap", ["--folds", "1"], "argument --folds: expected an integer >= 2"),
    ("deap", ["--data-dir", "/no/such/folder"], "--data-dir: '/no/such/folder' does not exist"),
    ("defaults", ["--seeds", "-2"], "argument --seeds: expected an integer >= 1"),
    ("defaults", ["--data-dir", "/no/such/folder"], "does not exist"),
    ("reducer_speed", ["--repeats", "0"], "argument --repeats: expected an integer >= 1"),
    ("export_memory", ["--trials", "0"], "argument --trials: expected an integer >= 1"),
    ("cross_subject", ["--finetune-fraction", "1.5"], "argument --finetune-fraction: expected "
                                                      "a number in (0, 1)"),
    ("cross_subject", ["--finetune-fraction", "nan"], "argument --finetune-fraction"),
    ("cross_subject", ["--folds", "1"], "argument --folds: expected an integer >= 2"),
    ("cross_subject", ["--trials-per-subject", "0"], "argument --trials-per-subject"),
    ("augmentation", ["--part", "search", "--ensemble", "-1"], "argument --ensemble"),
    ("augmentation", ["--part", "search", "--stop-after", "inf"], "argument --stop-after"),
    ("augmentation", ["--part", "search", "--networks", "ResNet"], "argument --networks"),
]


def _main(script):
    module = __import__(f"benchmarks.{script}", fromlist=["main"])
    return module.main


@pytest.mark.parametrize("script, argv, message", CASES,
                         ids=[f"{c[0]}-{' '.join(c[1])}" for c in CASES])
def test_bad_values_are_usage_errors(script, argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        _main(script)([*argv, "--out", str(tmp_path)] if script not in (
            "defaults", "export_memory") else argv)
    code = exit_info.value.code  # 2: argparse's usage error; a str: the script's message
    assert code == 2 or isinstance(code, str)
    assert message in (capsys.readouterr().err if code == 2 else code)
    assert not list(tmp_path.iterdir())  # nothing written: refused before the run


def test_a_missing_data_folder_is_refused_unless_downloading(tmp_path, capsys):
    missing = tmp_path / "none"
    with pytest.raises(SystemExit, match="does not exist; give the folder holding the data"):
        _main("activations")(["--data-dir", str(missing), "--out", str(tmp_path)])


@pytest.mark.parametrize("argv, message", [
    (["-m", "benchmarks.activations", "--max-epochs", "-3"], "--max-epochs"),
    (["-m", "benchmarks.deap", "--folds", "zero"], "--folds"),
], ids=["activations", "deap"])
def test_a_shell_sees_a_usage_error_not_a_traceback(argv, message):
    done = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "usage:" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr
