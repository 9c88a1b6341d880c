"""The estimators that follow scikit-learn's contract pass its own checks (``check_estimator``):
input validation (NaN, sparse, 1-D, empty, complex data refused with sklearn's messages),
``n_features_in_``, cloning, pickling, idempotent fits, fit parameters. ``CorrectionLearner`` is
``fit(X, y)`` with ``y`` the clusters it starts from and the user's corrections as fit
parameters. (``SCANRefiner`` and ``ContrastiveAdapter`` train torch networks: not run here.)"""
from __future__ import annotations

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from photoclust.core.clustering.algorithms import PhotoAgglomerative, PhotoHDBSCAN, PhotoKMeans
from photoclust.core.clustering.choose_k import KChooser
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.learning.learner import CorrectionLearner

ESTIMATORS = [EmbeddingPreprocessor(), EmbeddingPreprocessor(n_components=2),
              PhotoKMeans(n_clusters=3, n_init=2), PhotoAgglomerative(n_clusters=3),
              PhotoHDBSCAN(), KChooser(n_repeats=1), CorrectionLearner(random_state=0)]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks' own convergence and small-data warnings
        check(estimator)


def test_the_learner_s_corrections_are_fit_parameters():
    import numpy as np

    X = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]])
    # (guard_moves off: with two answers, a move needs more support than this tiny set gives)
    learner = CorrectionLearner(guard_moves=False).fit(X, [7, 7, 7, 7], y_user=[7, -1, 8, -1],
                                                       cannot_link=[(1, 8)])
    assert learner.labels_.tolist() == [7, 7, 8, 8]
    with pytest.raises(ValueError, match="4 labels for 3 photos"):
        CorrectionLearner().fit(X[:3], [7, 7, 7, 7])
