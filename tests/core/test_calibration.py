"""One confidence: centre margins, the Platt map refitted on answers, one number everywhere."""
import json

import numpy as np

from _edit_fixtures import labelled_library
from photoclust.cli import main
from photoclust.core import editing
from photoclust.core.clustering.calibration import (
    ConfidenceCalibrator,
    answer_margins,
    calibrated_confidences,
    centre_margins,
)
from photoclust.core.clustering.preprocess import l2_normalize
from photoclust.core.jobs import run_job
from photoclust.core.learning.job import LearnJob


def brute_force_margin(Z, labels, i, target):
    sims = {}
    for c in np.unique(labels[labels >= 0]):
        members = (labels == c) & (np.arange(len(labels)) != i)
        if members.any():
            sims[c] = float(Z[i] @ l2_normalize(Z[members].sum(0, keepdims=True))[0])
    return sims[target] - max(v for c, v in sims.items() if c != target)


def test_centre_margins_leave_the_photo_out_of_its_own_centre():
    rng = np.random.default_rng(0)
    Z = l2_normalize(rng.normal(size=(30, 6)))
    labels = np.repeat([4, 7, 9], 10)
    margins = centre_margins(Z, labels)
    for i in (0, 12, 29):
        assert np.isclose(margins[i], brute_force_margin(Z, labels, i, labels[i]), atol=1e-6)
    targets = labels.copy()
    targets[3] = 9  # the margin of another cluster: its full centre
    assert np.isclose(centre_margins(Z, labels, targets)[3],
                      brute_force_margin(Z, labels, 3, 9), atol=1e-6)


def test_no_honest_number_for_one_cluster_a_lone_photo_or_no_cluster():
    Z = l2_normalize(np.random.default_rng(1).normal(size=(6, 4)))
    assert np.isnan(centre_margins(Z, np.zeros(6, int))).all()
    margins = centre_margins(Z, np.array([0, 0, 0, 1, 1, -1]))
    assert np.isfinite(margins[:5]).all() and np.isnan(margins[5])
    assert np.isnan(centre_margins(Z, np.array([0, 0, 0, 0, 0, 1]))[5])  # alone in its cluster
    conf = calibrated_confidences(Z, np.array([0, 0, 0, 1, 1, -1]),
                                  np.array([-1, 0, -1, -1, -1, -1]))
    assert conf[1] == 1.0 and np.isnan(conf[5]) and 0 < conf[0] < 1


def test_calibrator_follows_the_answers():
    rng = np.random.default_rng(2)
    margins = rng.uniform(-0.1, 0.2, 300)  # answers sit at small margins, as the queue asks
    truth = 1 / (1 + np.exp(-(10 * margins - 1.5)))  # a collection less right than the prior
    right = rng.uniform(size=300) < truth
    prior = (10.0, 1.0)
    fitted = ConfidenceCalibrator(prior=prior).fit(margins, right)
    assert abs(fitted.coef_[1] - (-1.5)) < 0.4 and fitted.coef_[0] == 10.0
    grid = np.linspace(-0.2, 0.6, 9)
    want = 1 / (1 + np.exp(-(10 * grid - 1.5)))
    assert np.abs(fitted.predict(grid) - want).max() < 0.1
    assert np.abs(ConfidenceCalibrator(prior=prior).predict(grid) - want).max() > 0.4
    # A few answers nudge the map; none leave it as shipped.
    few = ConfidenceCalibrator(prior=prior).fit(margins[:3], [False] * 3)
    assert -1.5 < few.coef_[1] < 1.0
    unfitted = ConfidenceCalibrator(prior=prior).fit([], [])
    assert np.allclose(unfitted.predict(grid), ConfidenceCalibrator(prior=prior).predict(grid))


def test_answer_margins_say_whether_the_nearest_centre_is_the_users_cluster():
    Z = l2_normalize(np.array([[1, 0], [0.9, 0.1], [0.95, 0.05], [0, 1], [0.1, 0.9],
                               [0.8, 0.2]], dtype=float))
    labels = np.array([0, 0, 0, 1, 1, 1])  # the last photo sits with cluster 0's look
    user = np.array([-1, -1, -1, 1, -1, 1])
    margins, right = answer_margins(Z, labels, user)
    assert right.tolist() == [True, False] and margins[0] > 0 and margins[1] > 0


def test_review_list_and_photos_show_the_same_number(library, capsys):
    ids, y, clusters = labelled_library(library)
    editing.new_cluster_from_photos(library, [int(ids[40])])
    run_job(LearnJob(library))
    path = str(library.path)
    assert main(["review", "--limit", "30", "--json", "--library", path]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert main(["photos", "--json", "--library", path]) == 0
    photos = {p["id"]: p for p in json.loads(capsys.readouterr().out)}
    same = [i for i in items if photos[i["photo_id"]]["cluster_id"] == i["suggested_cluster_id"]]
    assert same
    for item in same:
        assert item["confidence"] == photos[item["photo_id"]]["confidence"]
    assert all(0 <= p["confidence"] <= 1 for p in photos.values() if p["confidence"] is not None)


def test_margins_are_the_same_computed_in_chunks(monkeypatch):
    from photoclust.core.clustering import calibration

    rng = np.random.default_rng(3)
    Z = l2_normalize(rng.normal(size=(50, 8)))
    labels = rng.integers(0, 4, 50)
    user = np.where(rng.uniform(size=50) < 0.3, labels, -1)
    whole = centre_margins(Z, labels), answer_margins(Z, labels, user)
    monkeypatch.setattr(calibration, "CHUNK", 7)
    chunked = centre_margins(Z, labels), answer_margins(Z, labels, user)
    assert np.allclose(whole[0], chunked[0], equal_nan=True)
    assert np.allclose(whole[1][0], chunked[1][0]) and (whole[1][1] == chunked[1][1]).all()
