"""skeeg.inspection.embed: the features that enter each network's classifier head."""

import doctest

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skeeg import ATCNetClassifier, DNNClassifier, EEGClassifier, ShallowFBCSPNetClassifier
from skeeg.datasets import make_motor_imagery
from skeeg.inspection import embed, find_head

from _small_models import CLASSIFIERS, check_every_classifier_has_a_configuration
from _small_models import fitted, one_torch_thread, small, trials  # noqa: F401  (autouse fixture)


def test_every_classifier_has_a_small_configuration():
    check_every_classifier_has_a_configuration()


def head_inputs(clf):
    return sum(head.in_features for head in find_head(clf.net_.module_))


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda cls: cls.__name__)
def test_embedding_is_what_the_head_receives(cls):
    clf = fitted(cls)
    X, _ = trials()
    module = clf.net_.module_
    features = embed(clf, X)
    assert features.dtype == np.float32 and features.flags.c_contiguous
    assert features.shape == (len(X), head_inputs(clf))
    # The head applied to the embedding gives predict_proba's logits.
    with torch.no_grad():
        heads = find_head(module)
        sizes = [head.in_features for head in heads]
        parts = torch.split(torch.as_tensor(features), sizes, dim=1)
        logits = torch.stack([head(part) for head, part in zip(heads, parts)]).mean(0)
        logits = torch.cat([-logits, logits], 1) * 0.5 if logits.shape[1] == 1 else logits
    np.testing.assert_allclose(
        torch.softmax(logits, 1).numpy(), clf.predict_proba(X), rtol=0, atol=1e-5
    )
    # Batches and single trials agree; no hook is left behind.
    np.testing.assert_allclose(embed(clf, X[:1]), features[:1], rtol=1e-5, atol=1e-6)
    assert not any(m._forward_pre_hooks for m in module.modules())


def test_embedding_follows_predict_proba_input_rules():
    clf = fitted(DNNClassifier)
    X, _ = trials()
    assert np.array_equal(embed(clf, X.astype(np.float64)), embed(clf, X))
    with pytest.raises(ValueError, match="channels"):
        embed(clf, X[:, :2])
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        embed(clf, bad)
    with pytest.raises(NotFittedError):
        embed(DNNClassifier(), X)
    with pytest.raises(TypeError, match="fitted skeeg classifier"):
        embed(object(), X)
    with pytest.raises(TypeError, match="got LogisticRegression"):
        embed(make_pipeline(FunctionTransformer(), LogisticRegression()), X)


def test_pipelines_and_searches_embed_through_their_steps():
    X, y = trials()
    halve = FunctionTransformer(lambda X: X[..., ::2])
    pipe = make_pipeline(halve, small(DNNClassifier)).fit(X, y)
    np.testing.assert_array_equal(embed(pipe, X), embed(pipe[-1], X[..., ::2]))
    search = GridSearchCV(pipe, {"dnnclassifier__lr": [0.01]}, cv=2).fit(X, y)
    best = search.best_estimator_
    np.testing.assert_array_equal(embed(search, X), embed(best[-1], X[..., ::2]))
    with pytest.raises(NotFittedError):
        embed(GridSearchCV(pipe, {"dnnclassifier__lr": [0.01]}), X)


def test_embedding_uses_the_standardisation_and_evaluation_mode():
    clf = fitted(DNNClassifier)
    X, _ = trials()
    module = clf.net_.module_
    module.train()
    try:
        # The scaling fit learned, as documented: (X - channel_mean_) / scale_.
        standardized = torch.as_tensor((X - clf.channel_mean_[:, None]) / clf.scale_,
                                       dtype=torch.float32)
        module.eval()
        with torch.no_grad():
            expected = module.features(standardized).numpy()
        module.train()
        # float32 rounding of the scaling, not a different input (unscaled
        # trials or training mode's dropout change the features by far more).
        np.testing.assert_allclose(embed(clf, X), expected, rtol=1e-5, atol=1e-5)
        assert module.training  # left as it was
    finally:
        module.eval()


def test_atcnet_windows_side_by_side():
    clf = fitted(ATCNetClassifier)
    heads = find_head(clf.net_.module_)
    assert len(heads) == (1 if clf.concat else clf.n_windows)
    assert embed(clf, trials()[0]).shape[1] == clf.n_windows * clf.tcn_filters


def test_a_network_without_a_head_name():
    """No 'classifier' or 'final_layer': the last linear layer, checked against the logits."""
    X, y = trials()
    clf = small(DNNClassifier).fit(X, y)
    expected = embed(clf, X)

    class Wrapped(torch.nn.Module):
        def __init__(self, network, extra=None):
            super().__init__()
            self.network = network
            self.n_outputs = network.n_outputs
            if extra is not None:
                self.extra = extra  # defined last, never called

        def forward(self, x):
            return self.network(x)

    network = clf.net_.module_
    clf.net_.module_ = Wrapped(network)
    np.testing.assert_array_equal(embed(clf, X), expected)
    assert find_head(clf.net_.module_) == [network.classifier]
    clf.net_.module_ = Wrapped(network, torch.nn.Linear(3, 2))
    clf.predict_proba(X)  # the classifier itself still works
    with pytest.raises(ValueError, match="last linear layer defined in Wrapped .* called it 0"):
        embed(clf, X)
    clf.net_.module_ = Wrapped(network, torch.nn.Conv1d(3, 2, 1))
    with pytest.raises(ValueError, match="Wrapped.*'classifier' or 'final_layer'.*: Conv1d"):
        embed(clf, X)
    with pytest.raises(ValueError, match="freeze='features' cannot find"):
        find_head(clf.net_.module_, "freeze='features'")


def test_a_sequential_of_ones_own_is_embedded_and_frozen():
    X, y = trials()

    class Sequential(torch.nn.Sequential):
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__(
                torch.nn.Flatten(), torch.nn.Linear(n_channels * n_times, 7), torch.nn.ReLU(),
                torch.nn.Linear(7, n_classes),
            )

    clf = EEGClassifier(Sequential, max_epochs=2, random_state=0).fit(X, y)
    assert embed(clf, X).shape == (len(X), 7)
    frozen = EEGClassifier(Sequential, max_epochs=2, random_state=0, freeze="features").fit(X, y)
    assert [p.requires_grad for p in frozen.net_.module_.parameters()] == [
        False, False, True, True
    ]


def test_classes_separate_in_the_embedding():
    """On a clearly separable synthetic set, 2-D PCA of the embedding separates the classes.

    ShallowFBCSPNet's log band power suits the synthetic mu-rhythm contrast
    and learns it in a few epochs (the test trials come from another seed).
    """
    data = make_motor_imagery(n_trials=80, n_channels=4, n_times=128, snr=3.0, random_state=0)
    test = make_motor_imagery(n_trials=80, n_channels=4, n_times=128, snr=3.0, random_state=1)
    clf = small(
        ShallowFBCSPNetClassifier, max_epochs=5, validation_fraction=0, early_stopping=False
    )
    clf.fit(data.X, data.y)
    projected = PCA(n_components=2).fit_transform(embed(clf, test.X))
    accuracy = cross_val_score(LogisticRegression(), projected, test.y, cv=5).mean()
    raw = PCA(n_components=2).fit_transform(test.X.reshape(len(test.X), -1))
    chance_like = cross_val_score(LogisticRegression(), raw, test.y, cv=5).mean()
    assert accuracy >= 0.85, accuracy
    assert accuracy > chance_like + 0.15, (accuracy, chance_like)


def test_docstring_examples_run():
    from skeeg import inspection

    result = doctest.testmod(inspection, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
