"""The input rule at its boundary: odd arrays, masked arrays, tensors, labels, parameters.

Each kind of input of issue 20 (kinds 5 and 6) on its smallest example and on
the others of its kind: what can be read is read as the plain float32 array
would be (same predictions), the rest is refused with a message that names
the problem. Allocation failures reach the user named with the shape of X.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import torch

from skeeg import DNNClassifier, EEGClassifier, EuclideanAlignment
from _small_models import N_CHANNELS, N_TIMES, fitted, labelled_trials, one_torch_thread  # noqa: F401
from _small_models import small, trials

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clf():
    """A small fitted classifier and its probabilities on its own trials."""
    return fitted(DNNClassifier)


def X_y():
    """40 trials of 3 channels x 96 samples, labelled 'left' and 'right'."""
    return labelled_trials()


# ----------------------------------------------------------------------
# Masked arrays: the mask is never ignored
def test_masked_trials_with_a_masked_entry_are_refused_by_fit_and_predict(clf):
    X, y = X_y()
    masked = np.ma.masked_array(X, mask=np.zeros(X.shape, bool))
    masked.mask[3, 1, 7] = True
    for call in (lambda: clf.predict_proba(masked), lambda: small(DNNClassifier).fit(masked, y),
                 lambda: EuclideanAlignment().fit_transform(masked)):
        with pytest.raises(ValueError, match=r"X is a masked array with 1 masked entries.*"
                           r"X\.filled\(value\)"):
            call()


def test_masked_labels_with_a_masked_entry_are_refused():
    X, y = X_y()
    with pytest.raises(ValueError, match=r"y is a masked array with 1 masked.*y\.filled"):
        small(DNNClassifier).fit(X, np.ma.masked_array(y, mask=np.arange(len(y)) == 0))


@pytest.mark.parametrize("mask", [np.ma.nomask, False], ids=["nomask", "all-false"])
def test_masked_trials_without_a_masked_entry_read_as_their_data(clf, mask):
    X, y = X_y()
    masked = np.ma.masked_array(X, mask=mask)
    np.testing.assert_array_equal(clf.predict_proba(masked), clf.predict_proba(X))
    np.testing.assert_array_equal(
        small(DNNClassifier).fit(masked, y).predict_proba(X),
        small(DNNClassifier).fit(X, y).predict_proba(X),
    )


# ----------------------------------------------------------------------
# Tensors: any dtype and device read; what holds no values, or is sparse, refused
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64, torch.int32,
                                   torch.bool], ids=str)
def test_tensors_of_any_dtype_predict_as_their_values(clf, dtype):
    X, _ = X_y()
    tensor = torch.from_numpy(X * 10).to(dtype)
    values = tensor.float().numpy()  # the values the tensor holds
    np.testing.assert_allclose(clf.predict_proba(tensor), clf.predict_proba(values), rtol=1e-6)


def test_a_fit_on_a_bfloat16_tensor_is_the_fit_on_its_values():
    X, y = X_y()
    tensor = torch.from_numpy(X).bfloat16()
    values = tensor.float().numpy()
    np.testing.assert_array_equal(small(DNNClassifier).fit(tensor, y).predict_proba(values),
                                  small(DNNClassifier).fit(values, y).predict_proba(values))


def test_tensors_that_require_grad_are_read_detached_and_left_unchanged(clf):
    X, y = X_y()
    tensor = torch.from_numpy(X.copy()).requires_grad_()
    np.testing.assert_array_equal(clf.predict_proba(tensor), clf.predict_proba(X))
    labels = torch.from_numpy((y == "right").astype(np.float32)).requires_grad_()
    fitted_on_tensors = small(DNNClassifier).fit(tensor, labels)
    np.testing.assert_array_equal(fitted_on_tensors.classes_, [0.0, 1.0])
    assert tensor.requires_grad and tensor.grad is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_tensors_on_a_gpu_are_read(clf):
    X, y = X_y()
    np.testing.assert_allclose(clf.predict_proba(torch.from_numpy(X).cuda()),
                               clf.predict_proba(X), rtol=1e-6)
    small(DNNClassifier).fit(torch.from_numpy(X).cuda(), y)


def test_a_tensor_on_the_meta_device_is_refused(clf):
    X, y = X_y()
    meta = torch.empty(X.shape, device="meta")
    with pytest.raises(ValueError, match="X is a torch tensor on the 'meta' device, which holds "
                       "shapes but no values"):
        clf.predict_proba(meta)
    with pytest.raises(ValueError, match="'meta' device"):
        small(DNNClassifier).fit(meta, y)
    with pytest.raises(ValueError, match="y is a torch tensor on the 'meta' device"):
        small(DNNClassifier).fit(X, torch.empty(len(y), device="meta"))


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("make", [
    lambda X: torch.from_numpy(X).to_sparse(),
    lambda X: torch.from_numpy(X[:, 0]).to_sparse_csr(),
    lambda X: scipy.sparse.csr_matrix(X[:, 0]),
], ids=["torch-coo", "torch-csr", "scipy-csr"])
def test_sparse_trials_are_refused(clf, make):
    X, y = X_y()
    with pytest.raises(TypeError, match=r"X is a (sparse torch tensor|scipy sparse matrix).*"
                       r"dense EEG trials\. Pass X\.(to_dense|toarray)\(\)"):
        clf.predict_proba(make(X))
    with pytest.raises(TypeError, match="sparse"):
        small(DNNClassifier).fit(make(X), y)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_nested_and_complex_tensors_are_refused(clf):
    X, _ = X_y()
    nested = torch.nested.nested_tensor([torch.from_numpy(X[0]), torch.from_numpy(X[1, :, :9])])
    with pytest.raises(TypeError, match="X is a nested torch tensor.*pad or crop"):
        clf.predict_proba(nested)
    with pytest.raises(ValueError, match=r"Complex data not supported: X is a complex torch "
                       r"tensor.*X\.real"):
        clf.predict_proba(torch.from_numpy(X).to(torch.complex64))


def test_labels_groups_and_classes_as_tensors_read_as_arrays():
    X, y = X_y()
    codes = (y == "right").astype(np.int64)
    expected = small(DNNClassifier).fit(X, codes).predict_proba(X)
    np.testing.assert_array_equal(
        small(DNNClassifier).fit(X, torch.from_numpy(codes)).predict_proba(X), expected)
    groups = np.arange(len(y)) % 4
    np.testing.assert_array_equal(
        small(DNNClassifier, validation_fraction=0.25).fit(
            X, codes, groups=torch.from_numpy(groups)).predict_proba(X),
        small(DNNClassifier, validation_fraction=0.25).fit(X, codes, groups=groups).predict_proba(X),
    )
    partial = small(DNNClassifier).partial_fit(X[:2], torch.tensor([0, 0]),
                                               classes=torch.tensor([0, 1]))
    np.testing.assert_array_equal(partial.classes_, [0, 1])
    fitted_codes = small(DNNClassifier).fit(X, codes)
    assert fitted_codes.score(torch.from_numpy(X), torch.from_numpy(codes),
                              sample_weight=torch.ones(len(y), requires_grad=True)) == (
        fitted_codes.score(X, codes))


# ----------------------------------------------------------------------
# Empty trials: zero channels or samples
@pytest.mark.parametrize("shape", [(40, 0, N_TIMES), (40, N_CHANNELS, 0)], ids=["channels", "times"])
def test_trials_without_channels_or_samples_are_refused_by_fit_and_predict(clf, shape):
    X, y = X_y()
    empty = np.zeros(shape, np.float32)
    message = "at least one channel and one sample"
    with pytest.raises(ValueError, match=message):
        small(DNNClassifier).fit(empty, y)
    with pytest.raises(ValueError, match=message):
        clf.predict_proba(empty)
    with pytest.raises(ValueError, match=message):
        small(DNNClassifier).partial_fit(torch.from_numpy(empty), y)


def test_zero_trials_are_refused_by_fit_and_give_zero_rows_in_predict(clf):
    X, y = X_y()
    with pytest.raises(ValueError, match="0 sample"):
        small(DNNClassifier).fit(X[:0], y[:0])
    assert clf.predict_proba(X[:0]).shape == (0, 2)
    assert clf.predict_proba(torch.from_numpy(X[:0]).bfloat16()).shape == (0, 2)


# ----------------------------------------------------------------------
# Arrays of other dtypes, layouts and containers
def _readonly(X):
    X = X.copy()
    X.flags.writeable = False
    return X


def _memmap(X, tmp_path):
    path = tmp_path / "trials.dat"
    copy = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    copy[:] = X
    copy.flush()
    return np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)


def _strided(X):
    wide = np.zeros(X.shape[:2] + (2 * X.shape[2],), np.float32)
    wide[..., ::2] = X
    return wide[..., ::2]


READ_AS_VALUES = {
    "object-floats": lambda X, tmp: X.astype(object),
    "big-endian": lambda X, tmp: X.astype(">f8"),
    "fortran-order": lambda X, tmp: np.asfortranarray(X),
    "strided-view": lambda X, tmp: _strided(X),
    "read-only": lambda X, tmp: _readonly(X),
    "memmap": _memmap,
    "nested-lists": lambda X, tmp: X.tolist(),
    "list-of-tensors": lambda X, tmp: [torch.from_numpy(trial).requires_grad_() for trial in X],
    "list-of-masked": lambda X, tmp: [np.ma.masked_array(trial) for trial in X],
}


@pytest.mark.parametrize("kind", READ_AS_VALUES)
def test_other_layouts_and_containers_predict_as_the_plain_array(clf, kind, tmp_path):
    X, _ = X_y()
    np.testing.assert_array_equal(clf.predict_proba(READ_AS_VALUES[kind](X, tmp_path)),
                                  clf.predict_proba(X))


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_a_dataframe_is_one_channel_of_its_columns():
    X, y = X_y()
    frame = pd.DataFrame(X[:, 0], columns=[f"t{i}" for i in range(N_TIMES)])
    model = small(DNNClassifier).fit(frame, y)
    assert (model.n_channels_, model.n_times_) == (1, N_TIMES)
    np.testing.assert_array_equal(model.predict_proba(frame), model.predict_proba(X[:, 0]))
    with pytest.raises(ValueError, match="holding text"):
        model.predict_proba(frame.astype(str))


REFUSED = {
    "0-D": (np.float32(1.0), ValueError, "X is 0-D"),
    "1-D": (np.zeros(N_TIMES), ValueError, r"X is 1-D .*X\.reshape\(1, 1, -1\)"),
    "4-D": (np.zeros((2, 1, N_CHANNELS, N_TIMES)), ValueError, "X must be 3-D"),
    "complex": (np.zeros((2, N_CHANNELS, N_TIMES), complex), ValueError,
                r"Complex data not supported.*X\.real"),
    "text": (np.full((2, N_CHANNELS, N_TIMES), "1.0"), ValueError, r"holds text.*astype\(float\)"),
    "object-text": (np.full((2, N_CHANNELS, N_TIMES), "1.0", dtype=object), ValueError,
                    "object array holding text"),
    "object-dict": (np.full((2, N_CHANNELS, N_TIMES), None, dtype=object), TypeError,
                    "object array holding a NoneType, not a real number"),
    "dates": (np.zeros((2, N_CHANNELS, N_TIMES), "M8[s]"), ValueError, "holds dates"),
    "structured": (np.zeros((2, N_CHANNELS, N_TIMES), [("uV", "f4"), ("t", "f4")]), ValueError,
                   r"structured records.*X\['name'\]"),
    "ragged-list": ([[[0.0] * N_TIMES] * N_CHANNELS, [[0.0] * 5] * N_CHANNELS], ValueError,
                    "X is ragged"),
}


@pytest.mark.parametrize("kind", REFUSED)
def test_inputs_that_are_not_trials_of_numbers_are_refused_by_fit_and_predict(clf, kind):
    X, error, message = REFUSED[kind]
    with pytest.raises(error, match=message):
        clf.predict_proba(X)
    with pytest.raises(error, match=message):
        small(DNNClassifier).fit(X, ["left", "right"])


def test_an_object_array_of_ragged_trials_is_refused(clf):
    X, _ = X_y()
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = X[0], X[1, :, :9]
    with pytest.raises(ValueError, match="object array holding sequences.*ragged"):
        clf.predict_proba(ragged)


# ----------------------------------------------------------------------
# Parameters refused at the start of fit
CLASS_WEIGHTS = {
    "float32-overflow": ({"left": 1e300, "right": 1}, "finite, non-negative weight"),
    "underflow": ({"left": 1e-40, "right": 1}, "finite, non-negative weight"),
    "nan": ({"left": np.nan, "right": 1}, "finite, non-negative weight"),
    "inf": ({"left": np.inf, "right": 1}, "finite, non-negative weight"),
    "negative": ({"left": -1.0, "right": 1}, "finite, non-negative weight"),
    "all-zero": ({"left": 0, "right": 0.0}, "not all zero"),
    "text-weight": ({"left": "a", "right": 1}, "weight of 'left' is 'a', not a real number"),
    "bool-weight": ({"left": True}, "not a real number"),
    "unknown-class": ({"up": 1.0}, r"\['up'\] are not among them"),
    "other-kind": ({0: 2.0, "right": 1.0}, r"\[0\] are not among them.*0 and '0' differ"),
}


@pytest.mark.parametrize("kind", CLASS_WEIGHTS)
def test_bad_class_weights_are_refused_at_the_start_of_fit(kind, monkeypatch):
    weights, message = CLASS_WEIGHTS[kind]
    X, y = X_y()
    model = small(DNNClassifier, class_weight=weights)
    # Refused before anything is built: a network built first would fail here.
    monkeypatch.setattr(DNNClassifier, "_build_network", pytest.fail)
    with pytest.raises(ValueError, match=f"class_weight.*{message}|{message}"):
        model.fit(X, y)
    assert not hasattr(model, "net_")


def test_class_weight_labels_match_by_value_within_their_kind():
    X, y = trials()
    model = small(DNNClassifier, class_weight={0.0: 2.0, np.int64(1): 3.0}).fit(X, y)
    torch.testing.assert_close(model.net_.criterion_.weight, torch.tensor([2.0, 3.0]))


@pytest.mark.parametrize("device", ["meta", "mps", "xla"])
def test_devices_skeeg_cannot_train_on_are_refused_before_reading_X(device):
    with pytest.raises(ValueError, match=f"device='{device}': skeeg trains on 'cpu' or 'cuda'"):
        small(DNNClassifier, device=device).fit(None, None)


@pytest.mark.parametrize("switch", [(True, False), (False, True)])
def test_a_warm_start_fit_refuses_another_input_scaling(switch):
    X, y = X_y()
    model = small(DNNClassifier, standardize=switch[0], warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match=f"standardize={switch[1]}, but the network being "
                       f"continued .*standardize={switch[0]}: its input scaling cannot change"):
        model.set_params(standardize=switch[1]).fit(X, y)


# ----------------------------------------------------------------------
# Allocation failures, named with the shape of X
ALLOCATOR_FAILURES = {
    "cpu-allocator": RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator:"
                                  " not enough memory: you tried to allocate 4000000000000 bytes."),
    "out-of-memory": torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    "numpy": MemoryError("Unable to allocate 3.6 TiB for an array"),
}


class Greedy(torch.nn.Module):
    """A network whose forward raises a failure of ALLOCATOR_FAILURES (or "other").

    ``failure`` in training mode, ``eval_failure`` in evaluation mode (the
    check of a user's module at build time, and prediction).
    """

    def __init__(self, n_channels, n_times, n_classes, failure=None, eval_failure=None):
        super().__init__()
        self.linear = torch.nn.Linear(n_channels, n_classes)
        self.failure, self.eval_failure = failure, eval_failure

    def forward(self, x):
        failure = self.failure if self.training else self.eval_failure
        if failure == "other":
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
        if failure is not None:
            raise ALLOCATOR_FAILURES[failure]
        return self.linear(x.mean(dim=2))


def greedy(**module_params):
    return EEGClassifier(module=Greedy, module_params=module_params, max_epochs=1,
                         batch_size=16, validation_fraction=0, early_stopping=False,
                         random_state=0)


@pytest.mark.parametrize("failure", ALLOCATOR_FAILURES)
def test_an_allocation_failure_in_fit_names_the_shape_and_batch_size(failure):
    X, y = X_y()
    with pytest.raises(MemoryError, match=r"EEGClassifier\.fit ran out of memory on X of shape "
                       rf"\(40, {N_CHANNELS}, {N_TIMES}\) during training, with batch_size=16"
                       ) as info:
        greedy(failure=failure).fit(X, y)
    assert isinstance(info.value, ValueError)  # skeeg's refusals are ValueErrors too
    assert info.value.__cause__ is ALLOCATOR_FAILURES[failure]


def test_an_allocation_failure_of_members_names_n_members():
    X, y = X_y()
    # The members' memory is measured on a training step while they are built.
    with pytest.raises(MemoryError, match=r"ran out of memory on X of shape \(40, 3, 96\) .*"
                                          r"n_members=2"):
        greedy(failure="cpu-allocator").set_params(n_members=2).fit(X, y)


def test_an_allocation_failure_while_building_names_the_network_sizes():
    X, y = X_y()
    with pytest.raises(MemoryError, match=r"during the building of the network \(n_channels=3, "
                       r"n_times=96, module=.*Greedy.*, module_params=\{'eval_failure': "
                       r"'cpu-allocator'\}\).*DefaultCPUAllocator: not enough memory"):
        greedy(eval_failure="cpu-allocator").fit(X, y)


def test_an_allocation_failure_in_predict_names_the_shape():
    X, y = X_y()
    model = greedy().fit(X, y)
    model.net_.module_.eval_failure = "out-of-memory"
    for call in (model.predict_proba, model.predict):
        with pytest.raises(MemoryError, match=r"EEGClassifier's evaluation ran out of memory on "
                           rf"X of shape \(7, {N_CHANNELS}, {N_TIMES}\) during the evaluation of "
                           "64 trials per pass"):
            call(X[:7])


def test_other_runtime_errors_are_not_called_allocation_failures():
    X, y = X_y()
    with pytest.raises(RuntimeError, match="cannot be multiplied") as info:
        greedy(failure="other").fit(X, y)
    assert not isinstance(info.value, MemoryError)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_a_fit_on_a_million_channels_under_a_memory_limit_names_the_network_sizes(tmp_path):
    # A real allocator failure, in a child process whose address space is
    # capped 200 MB above what it holds after import: the first layer of a
    # DNN on 10**6 channels x 2 samples needs 512 MB.
    script = textwrap.dedent("""
        import resource, sys
        import numpy as np
        import skeeg

        def size():
            for line in open("/proc/self/status"):
                if line.startswith("VmSize"):
                    return int(line.split()[1]) * 1024

        X = np.ones((4, 10**6, 2), np.float32)
        X[::2] = -1
        resource.setrlimit(resource.RLIMIT_AS, (size() + 200 * 2**20, resource.RLIM_INFINITY))
        try:
            skeeg.DNNClassifier(max_epochs=1, validation_fraction=0, early_stopping=False,
                                hidden_sizes=(64,)).fit(X, [0, 1, 0, 1])
        except MemoryError as error:
            print(type(error).__name__, error)
            sys.exit(0)
        sys.exit(3)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "AllocationError DNNClassifier.fit ran out of memory on X of shape (4, 1000000, 2) " \
           "during the building of the network (n_channels=1000000, n_times=2" in done.stdout
    assert "hidden_sizes=(64,)" in done.stdout


@pytest.mark.parametrize("bad, match", [
    (lambda n: np.array([1, "a"] * (n // 2), dtype=object), "mixes types that cannot be compared"),
    (lambda n: np.r_[np.zeros(n - 1), np.nan], r"missing values \(NaN or None\) at position"),
    (lambda n: np.array([None] + [1] * (n - 1), dtype=object), "missing values"),
    (lambda n: np.r_[np.zeros(n - 1), np.inf], "infinite values at position"),
    (lambda n: np.zeros(n - 1), r"groups has \d+ entries, but X has \d+ trials"),
    (lambda n: np.zeros((n, 2)), "groups must be 1-D"),
])
def test_groups_have_one_rule_in_fit_and_in_alignment(bad, match):
    # One check_groups (skeeg._validation) for the classifiers and EuclideanAlignment.
    X, y = X_y()
    groups = bad(len(X))
    with pytest.raises(ValueError, match=match):
        small(DNNClassifier, max_epochs=1).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match=match):
        EuclideanAlignment().fit(X, groups=groups)


def test_data_no_fitted_model_may_hold_is_refused_before_training(monkeypatch):
    # Refused by the fitted-attribute table when learnt, not after every epoch has run.
    import mne

    from skeeg import _fitting

    X, y = X_y()
    monkeypatch.setattr(_fitting, "make_net", lambda *a, **k: pytest.fail("a net was built"))
    dates = np.where(np.asarray(y) == "left", np.datetime64("2020-01-01"),
                     np.datetime64("2021-01-01"))
    with pytest.raises(ValueError, match=r"cannot be fitted: the fitted attribute classes_ is"):
        small(DNNClassifier, max_epochs=50).fit(X, dates)
    info = mne.create_info(X.shape[1], 1e-4, "eeg")
    epochs = mne.EpochsArray(X * 1e-5, info, verbose="error")
    with pytest.raises(ValueError, match=r"cannot be fitted: the fitted attribute sfreq_ is 0.0001"):
        small(DNNClassifier, max_epochs=50).fit(epochs, y)


@pytest.mark.parametrize("value, what", [(np.nan, "NaN"), (np.inf, "infinity"),
                                         (-np.inf, "infinity")])
def test_non_finite_trials_are_located_with_an_eeg_remedy(value, what):
    # One message in fit, predict and both transformers (scikit-learn's suggested models
    # that take missing values).
    from skeeg import DEAPReducer

    X, y = X_y()
    clf = small(DNNClassifier, max_epochs=1).fit(X, y)
    X = X.astype(np.float64)
    X[3, 1, 7] = value
    match = (rf"Input X contains {what} \(1 value\(s\); the first at trial 3, channel 1, "
             r"sample 7\)\. .*interpolate_bads")
    for call in (lambda: small(DNNClassifier, max_epochs=1).fit(X, y),
                 lambda: clf.predict_proba(X), lambda: DEAPReducer(n_windows=2).fit(X),
                 lambda: EuclideanAlignment().fit(X)):
        with pytest.raises(ValueError, match=match):
            call()
