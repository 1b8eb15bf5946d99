"""A grid search that trains candidates as members of one fit: :class:`PackedSearchCV`.

EEG searches train many small networks (seeds x folds x grid points). The
candidates of a grid that differ only in ``random_state``, ``lr`` or
``weight_decay`` build the same network and read the same batches: they are
trained together, as the members of one ``n_members`` fit per fold (see the
``n_members`` parameter of skeeg's classifiers), each member by its own loss,
optimiser settings and early stopping, and scored alone. The search's
results are :class:`~sklearn.model_selection.GridSearchCV`'s.
"""

import numbers
import time
import warnings
from collections import defaultdict

import numpy as np
from joblib import Parallel, delayed
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, indexable

from . import _fitting
from ._members import draw_seed, member_estimator
from ._params import check_params
from .base import BaseEEGClassifier

__all__ = ["PackedSearchCV", "PACKABLE"]

# What members of one fit may differ by: the rest builds the network or
# decides the batches, which members share.
PACKABLE = ("random_state", "lr", "weight_decay")


class PackedSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Exhaustive search over a grid, training candidates that differ only in seeds and rates as one fit.

    Candidates whose parameters differ only in ``random_state``, ``lr`` and
    ``weight_decay`` (:data:`PACKABLE`) are trained, on each fold, as the
    members of one fit of ``n_members`` networks (at most ``max_members``
    per fit); every other difference gives separate fits. Each member is
    built from the seed its own ``random_state`` gives a fit, optimised with
    its own ``lr`` and ``weight_decay``, stopped early on its own validation
    loss and scored alone. The members of a fit share its batches: the
    order, validation split, crops and augmentation of the first candidate's
    ``random_state``. Where those draws cannot matter (one ``random_state``,
    no dropout or augmentation) every candidate trains exactly as it would
    alone, and the search chooses what ``GridSearchCV`` chooses.

    Parameters
    ----------
    estimator : skeeg classifier
        A classifier of skeeg's (``EEGNetClassifier``, ``EEGClassifier``...)
        with ``n_members=1``.
    param_grid : dict or list of dicts
        As for ``GridSearchCV``.
    scoring : str, callable, list, tuple or dict, default=None
        As for ``GridSearchCV``; None is the classifier's ``score``
        (accuracy).
    n_jobs : int, default=None
        Fits run in parallel (one per fold and pack), as for ``GridSearchCV``.
    refit : bool or str, default=True
        Refit the best candidate on the whole data (a fit of its own),
        as ``best_estimator_``. With several metrics, the metric's name.
    cv : int, cross-validation generator or iterable, default=None
        As for ``GridSearchCV`` (5-fold stratified by default).
    verbose : int, default=0
        Above 0, the packs are listed (or that nothing could be packed).
    pre_dispatch : int or str, default="2*n_jobs"
        As for ``GridSearchCV``.
    error_score : "raise" or float, default=np.nan
        The score of every candidate of a fit that failed (with a
        ``FitFailedWarning``), or "raise".
    return_train_score : bool, default=False
        Also score each candidate on its training folds.
    max_members : int, default=16
        Members per fit at most: larger packs are split. Each member costs
        its own parameters and activations.

    Attributes
    ----------
    cv_results_ : dict of ndarrays
        As ``GridSearchCV``'s: ``params``, ``param_<name>``,
        ``split<k>_test_<metric>``, ``mean_test_<metric>``,
        ``std_test_<metric>``, ``rank_test_<metric>`` (``score`` for a single
        metric), the same for training scores, and ``mean_fit_time`` (a
        packed fit's time shared equally among its members),
        ``std_fit_time``, ``mean_score_time``, ``std_score_time``; also
        ``pack``, the index of the fit each candidate was trained in.
    best_estimator_, best_params_, best_score_, best_index_, refit_time_
        As ``GridSearchCV``'s.
    scorer_ : callable or dict
    n_splits_ : int
    packs_ : list of list of int
        The candidates trained together, by index into ``params``.
    multimetric_ : bool

    Examples
    --------
    >>> from skeeg import EEGNetClassifier
    >>> from skeeg.model_selection import PackedSearchCV
    >>> from skeeg.datasets import make_motor_imagery
    >>> data = make_motor_imagery(n_trials=60, n_channels=3, n_times=128, random_state=0)
    >>> search = PackedSearchCV(
    ...     EEGNetClassifier(max_epochs=2, kernel_length=15),
    ...     {"lr": [1e-3, 3e-3], "random_state": [0, 1]}, cv=2,
    ... ).fit(data.X, data.y)
    >>> search.packs_
    [[0, 1, 2, 3]]
    """

    _parameter_constraints = {
        "estimator": "no_validation",  # _check_estimator: a message with the fix
        "param_grid": [dict, list],
        "scoring": [None, str, callable, list, tuple, dict],
        "n_jobs": [None, Interval(numbers.Integral, None, None, closed="neither")],
        "refit": ["boolean", str, callable],
        "cv": ["cv_object"],
        "verbose": ["verbose"],
        "pre_dispatch": [numbers.Integral, str],
        "error_score": [StrOptions({"raise"}), numbers.Real],
        "return_train_score": ["boolean"],
        "max_members": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, param_grid, *, scoring=None, n_jobs=None, refit=True,
                 cv=None, verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False, max_members=16):
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.pre_dispatch = pre_dispatch
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.max_members = max_members

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.input_tags.three_d_array = True
        return tags

    # ------------------------------------------------------------------
    def fit(self, X, y=None, *, groups=None):
        """Score every candidate on every fold, training packable ones together; refit the best.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times) or mne.Epochs
            EEG trials, as the estimator takes them.
        y : array-like of shape (n_trials,), default=None
            Labels (None only for Epochs).
        groups : array-like of shape (n_trials,), default=None
            Group of each trial (subject or session), for a group-aware
            ``cv`` (``GroupKFold``...); also passed to the classifier's
            ``fit`` (whole groups in its validation split) when metadata
            routing is enabled and it requests them
            (``clf.set_fit_request(groups=True)``), as ``GridSearchCV`` does.

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            If ``estimator`` has ``n_members`` other than 1, the grid is
            empty or names a parameter the estimator lacks, ``refit`` names
            no metric, or every fit failed.
        """
        self._check_estimator()
        self._validate_params()
        estimator = self.estimator
        if estimator.n_members != 1:
            raise ValueError(
                f"PackedSearchCV packs candidates as the members of one fit; the estimator "
                f"has n_members={estimator.n_members}: give it n_members=1 (a grid over "
                "n_members is searched as any other parameter, unpacked)."
            )
        candidates = list(ParameterGrid(self.param_grid))
        if not candidates:
            raise ValueError("param_grid holds no candidate.")
        for params in candidates:  # unknown names: scikit-learn's own error, before any fit
            clone(estimator).set_params(**clone(params, safe=False))
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(estimator))
        splits = list(cv.split(X, y, groups))
        scorers = check_scoring(estimator, self.scoring)
        self.multimetric_ = isinstance(self.scoring, (list, tuple, dict))
        self._check_refit()
        alone = {i for i, params in enumerate(candidates)
                 if params.get("n_members", 1) != 1 or estimator.callbacks}
        packs = pack_candidates(candidates, self.max_members, alone)
        self._report_packs(packs, candidates, len(splits), estimator)
        # As GridSearchCV with metadata routing: groups reach the classifier's fit
        # (whole subjects in its validation split) when it requests them.
        routed = groups if groups is not None and get_config()["enable_metadata_routing"] and (
            "groups" in get_routing_for_object(estimator).consumes("fit", ["groups"])
        ) else None
        tasks = [(p, k) for p in range(len(packs)) for k in range(len(splits))]
        jobs = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)(
            delayed(_fit_pack)(
                clone(estimator), [candidates[i] for i in packs[p]], X, y, *splits[k],
                scorers, self.return_train_score, self.error_score,
                None if routed is None else _safe_indexing(routed, splits[k][0]),
                self.verbose, f"pack {p + 1}/{len(packs)}, fold {k + 1}/{len(splits)}",
            )
            for p, k in tasks
        )
        results = defaultdict(dict)
        for (p, k), outcome in zip(tasks, jobs):
            for index, record in zip(packs[p], outcome):
                results[index][k] = record
        self._check_failures(results, len(candidates) * len(splits))
        self.packs_ = packs
        self.n_splits_ = len(splits)
        self.scorer_ = scorers
        metrics = sorted(next(
            (r["test"] for c in results.values() for r in c.values() if not r["failed"]),
            {"score": None}))
        if metrics != ["score"]:  # a callable scorer may return several metrics
            self.multimetric_ = True
            self._check_refit(metrics)
        self.cv_results_ = self._results(candidates, packs, results, metrics)
        self._choose_best(candidates)
        if self.refit:
            start = time.perf_counter()
            best = clone(estimator).set_params(**clone(self.best_params_, safe=False))
            self.best_estimator_ = best.fit(X, y, **({} if routed is None else {"groups": routed}))
            self.refit_time_ = time.perf_counter() - start
            self.classes_ = self.best_estimator_.classes_
        return self

    @property
    def n_features_in_(self):
        """``best_estimator_.n_features_in_``."""
        return self._best().n_features_in_

    def _check_estimator(self):
        if isinstance(self.estimator, BaseEEGClassifier):
            return
        what = type(self.estimator).__name__
        fix = (" A Pipeline: transform X with its first steps (fit them on the whole "
               "training set only if they learn nothing from labels or trials, as filters "
               "and decimation), then search its classifier; or use GridSearchCV on the "
               "Pipeline, unpacked." if hasattr(self.estimator, "steps") else "")
        raise TypeError(
            f"PackedSearchCV searches a skeeg classifier (EEGNetClassifier...), whose members "
            f"it trains in one fit; got a {what}.{fix}"
        )

    def _check_refit(self, metrics=None):
        metrics = metrics or (_metric_names(self.scoring) if self.multimetric_ else None)
        if metrics and self.refit is not False and not callable(self.refit) and not (
            isinstance(self.refit, str) and self.refit in metrics
        ):
            raise ValueError(
                f"With several metrics, refit must name one of {metrics} (the metric the "
                f"best candidate is chosen by), be a callable, or be False; got {self.refit!r}."
            )

    def _check_failures(self, results, n_fits):
        failed = [r for c in results.values() for r in c.values() if r["failed"]]
        if not failed:
            return
        if len(failed) == n_fits:
            raise ValueError(
                f"All the {n_fits} fits failed (candidates x folds); the first error: "
                f"{failed[0]['failed']}. Check the estimator's parameters and the grid."
            )
        warnings.warn(
            f"{len(failed)} fits failed out of a total of {n_fits} (candidates x folds); "
            f"their scores are error_score={self.error_score}. The first error: "
            f"{failed[0]['failed']}",
            FitFailedWarning,
            stacklevel=3,
        )

    def _report_packs(self, packs, candidates, n_splits, estimator):
        if not self.verbose:
            return
        if all(len(pack) == 1 for pack in packs):
            why = ("the estimator's callbacks act on a whole fit, so no candidates are packed"
                   if estimator.callbacks else f"no two of the {len(candidates)} candidates "
                   f"differ only in {', '.join(PACKABLE)}")
            print(f"PackedSearchCV: {why}: each is fitted alone, as GridSearchCV would, on "
                  f"{n_splits} folds.")
            return
        print(f"PackedSearchCV: {len(candidates)} candidates in {len(packs)} fits per fold "
              f"({n_splits} folds): packs of {[len(pack) for pack in packs]} members.")

    def _results(self, candidates, packs, results, metrics):
        n, folds = len(candidates), self.n_splits_
        out = {}
        for kind in ("fit_time", "score_time"):
            times = np.array([[results[i][k]["times"][kind] for k in range(folds)]
                              for i in range(n)])
            out[f"mean_{kind}"], out[f"std_{kind}"] = times.mean(1), times.std(1)
        # In order of first appearance, as GridSearchCV lists them.
        for name in dict.fromkeys(name for params in candidates for name in params):
            out[f"param_{name}"] = _param_column([params.get(name, _MISSING)
                                                  for params in candidates])
        out["params"] = candidates
        sets = ("test", "train") if self.return_train_score else ("test",)
        for which in sets:
            for metric in metrics:
                scores = np.array([[results[i][k][which][metric] for k in range(folds)]
                                   for i in range(n)], dtype=np.float64)
                for k in range(folds):
                    out[f"split{k}_{which}_{metric}"] = scores[:, k]
                out[f"mean_{which}_{metric}"] = scores.mean(1)
                out[f"std_{which}_{metric}"] = scores.std(1)
                if which == "test":
                    out[f"rank_test_{metric}"] = _rank(scores.mean(1))
        pack_of = np.empty(n, dtype=np.int64)
        for p, pack in enumerate(packs):
            pack_of[pack] = p
        out["pack"] = pack_of
        return out

    def _choose_best(self, candidates):
        if callable(self.refit):
            self.best_index_ = int(self.refit(self.cv_results_))
            self.best_params_ = candidates[self.best_index_]
            return
        if self.refit is False and self.multimetric_:
            return
        metric = self.refit if self.multimetric_ else "score"
        ranks = self.cv_results_[f"rank_test_{metric}"]
        self.best_index_ = int(np.flatnonzero(ranks == ranks.min())[0])
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(self.cv_results_[f"mean_test_{metric}"][self.best_index_])

    # ------------------------------------------------------------------
    # The refitted best estimator's methods, as GridSearchCV offers them
    def _best(self):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_

    def _has_best(self):
        return bool(self.refit)

    @available_if(_has_best)
    def predict(self, X):
        """``best_estimator_.predict(X)``."""
        return self._best().predict(X)

    @available_if(_has_best)
    def predict_proba(self, X):
        """``best_estimator_.predict_proba(X)``."""
        return self._best().predict_proba(X)

    @available_if(_has_best)
    def score(self, X, y=None):
        """The refit metric of ``best_estimator_`` on ``X``, ``y``."""
        value = self.scorer_(self._best(), X, y)
        if isinstance(value, dict):
            return value[self.refit] if isinstance(self.refit, str) else value
        return value


_MISSING = object()


def _param_column(values):
    """A ``param_<name>`` column as GridSearchCV makes it: masked where a candidate lacks it."""
    present = [value for value in values if value is not _MISSING]
    try:
        typed = np.array(present)
        # Text, or numbers mixed with text (which numpy turns into text): objects, as
        # GridSearchCV keeps them.
        dtype = typed.dtype if typed.ndim == 1 and typed.dtype.kind in "biufc" else object
    except (TypeError, ValueError):
        dtype = object
    column = np.ma.MaskedArray(np.empty(len(values), dtype=dtype), mask=True)
    for i, value in enumerate(values):
        if value is not _MISSING:
            column[i] = value
    return column


def pack_candidates(candidates, max_members, alone=()):
    """Indices of the candidates trained together: equal but for :data:`PACKABLE`, in order.

    Parameters compare by equality (``==``, with numpy arrays compared whole)
    and type, so that transforms and lists group as they are written in the
    grid. Candidates in ``alone`` (an ensemble of their own, say) are not
    packed.
    """
    packs = []
    keys = []
    for index, params in enumerate(candidates):
        key = {name: value for name, value in params.items() if name not in PACKABLE}
        for pack, other in zip(packs, keys):
            if (index not in alone and pack[0] not in alone and len(pack) < max_members
                    and _same(key, other)):
                pack.append(index)
                break
        else:
            packs.append([index])
            keys.append(key)
    return packs


def _same(a, b):
    if a.keys() != b.keys():
        return False
    for name in a:
        try:
            equal = a[name] is b[name] or bool(np.all(a[name] == b[name]))
        except (TypeError, ValueError):
            equal = False
        if not equal or type(a[name]) is not type(b[name]):
            return False
    return True


def _invalid(estimator, params):
    """Why a candidate cannot be fitted (its parameters), or None."""
    try:
        candidate = clone(estimator).set_params(**clone(params, safe=False))
        check_params(candidate)
        draw_seed(candidate.random_state)  # a random_state numpy refuses (-3)
    except (TypeError, ValueError) as error:
        return error
    return None


def _fit_pack(estimator, candidates, X, y, train, test, scorers, train_score, error_score,
              groups, verbose, where):
    """Fit one pack of candidates on one fold: each candidate's scores and times.

    Each candidate's parameters are copied (a ``RandomState`` in the grid is
    never drawn from) and checked alone: one that cannot be fitted fails
    alone. The others are trained as one fit, which fails, or not, as one.
    """
    candidates = [clone(params, safe=False) for params in candidates]
    records = [None] * len(candidates)
    valid = []
    for index, params in enumerate(candidates):
        error = _invalid(estimator, params)
        if error is None:
            valid.append(index)
        elif error_score == "raise":
            raise error
        else:
            records[index] = _failed(error, error_score)
    if not valid:
        return records
    X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
    y_train = None if y is None else _safe_indexing(y, train)
    y_test = None if y is None else _safe_indexing(y, test)
    estimator.set_params(**candidates[valid[0]])
    settings = [{name: candidates[i].get(name, getattr(estimator, name)) for name in PACKABLE}
                for i in valid]
    start = time.perf_counter()
    try:
        if len(valid) == 1:
            estimator.fit(X_train, y_train, **({} if groups is None else {"groups": groups}))
            fitted = [estimator]
        else:
            estimator.set_params(n_members=len(valid))
            _fitting.train(estimator, X_train, y_train, groups, members=settings)
            fitted = [member_estimator(estimator, i, s) for i, s in enumerate(settings)]
    except Exception as error:  # noqa: BLE001 - reported as GridSearchCV reports it
        if len(valid) > 1:
            # One member's failure (a diverging lr) must not take its siblings down: each
            # candidate is fitted alone, as GridSearchCV fits it. A member computes what it
            # computes alone, so the others' scores are the ones the pack would have given.
            for index in valid:  # a fresh clone each, as GridSearchCV fits them
                alone = clone(estimator).set_params(n_members=1)
                records[index] = _fit_pack(alone, [candidates[index]], X, y, train, test,
                                           scorers, train_score, error_score, groups,
                                           verbose, where)[0]
            return records
        if error_score == "raise":
            raise
        for index in valid:
            records[index] = _failed(error, error_score)
        return records
    fit_time = (time.perf_counter() - start) / len(valid)
    for index, member in zip(valid, fitted):
        start = time.perf_counter()
        record = {"test": _scores(scorers, member, X_test, y_test), "failed": None}
        score_time = time.perf_counter() - start
        if train_score:
            record["train"] = _scores(scorers, member, X_train, y_train)
        record["times"] = {"fit_time": fit_time, "score_time": score_time}
        records[index] = record
        if verbose >= 2:
            print(f"[{where}] {candidates[index]}: {record['test']} "
                  f"({fit_time:.1f} s per member)", flush=True)
    return records


def _failed(error, error_score):
    scores = defaultdict(lambda: error_score)
    return {"test": scores, "train": scores, "times": {"fit_time": 0.0, "score_time": 0.0},
            "failed": f"{type(error).__name__}: {error}"}


def _scores(scorers, estimator, X, y):
    value = scorers(estimator, X, y)
    return dict(value) if isinstance(value, dict) else {"score": float(value)}


def _metric_names(scoring):
    return sorted(scoring)


def _rank(means):
    """Ranks as GridSearchCV gives them: 1 for the best mean, ties share the lowest, NaN last."""
    filled = np.where(np.isnan(means), -np.inf, means)
    return np.array([1 + int(np.sum(filled > value)) for value in filled], dtype=np.int32)
