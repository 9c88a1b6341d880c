"""One confidence: centre margins, the Platt map refitted on answers, one number everywhere."""
import json

import numpy as np

from _edit_fixtures import labelled_library
from photoclust.cli import main
from photoclust.core.clustering import editing
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
    # Two clusters: the margins exist, but no number (below); the user's photo keeps its 1.
    assert conf[1] == 1.0 and np.isnan(conf[[0, 2, 3, 4, 5]]).all()


def test_no_number_in_a_library_of_two_clusters_split_by_source():
    """Photos of 6 kinds from two sources that differ more than the kinds do: two clusters, one
    per source, each as clean as can be by every structural sign, and a third of the photos in
    the right cluster. Two clean kinds look the same, so no number is honest for either; a third
    cluster brings the numbers back."""
    rng = np.random.default_rng(10)
    source = 6 * np.eye(8)[:2]
    kinds = 0.6 * rng.normal(size=(6, 8))
    y = np.repeat(np.arange(6), 40)
    Z = source[y // 3] + kinds[y] + 0.3 * rng.normal(size=(y.size, 8))
    labels = y // 3
    right = np.zeros(y.size, bool)
    for c in (0, 1):
        members = labels == c
        right[members] = y[members] == np.bincount(y[members]).argmax()
    assert right.mean() < 0.4
    assert np.isnan(calibrated_confidences(Z, labels)).all()
    two_kinds = np.repeat([0, 1], 120)
    assert np.isnan(calibrated_confidences(source[two_kinds] + rng.normal(size=(240, 8)),
                                           two_kinds)).all()
    three = np.where(y == 5, 2, labels)
    assert np.isfinite(calibrated_confidences(Z, three)).all()


def test_calibrator_follows_the_answers():
    rng = np.random.default_rng(2)
    margins = rng.uniform(-0.1, 0.2, 300)  # answers sit at small margins, as the queue asks
    truth = 1 / (1 + np.exp(-(10 * margins - 1.5)))  # a collection less right than the prior
    right = rng.uniform(size=300) < truth
    prior = (10.0, 1.0)
    fitted = ConfidenceCalibrator(prior=prior, prior_strength=1.0).fit(margins, right)
    assert abs(fitted.coef_[1] - (-1.5)) < 0.4 and fitted.coef_[0] == 10.0
    grid = np.linspace(-0.2, 0.6, 9)
    want = 1 / (1 + np.exp(-(10 * grid - 1.5)))
    assert np.abs(fitted.predict(grid) - want).max() < 0.1
    assert np.abs(ConfidenceCalibrator(prior=prior).predict(grid) - want).max() > 0.4
    # A few answers nudge the map; none leave it as shipped.
    few = ConfidenceCalibrator(prior=prior, prior_strength=1.0).fit(margins[:3], [False] * 3)
    assert -1.5 < few.coef_[1] < 1.0
    unfitted = ConfidenceCalibrator(prior=prior).fit([], [])
    assert np.allclose(unfitted.predict(grid), ConfidenceCalibrator(prior=prior).predict(grid))


def test_the_review_queues_hard_answers_do_not_drag_down_the_photos_nobody_answered():
    """The queue asks the photos the learner is least sure of: they are wrong more often than
    their score says, while the photos nobody answered are right as their score says. A few
    dozen such answers leave the unanswered photos' numbers near right (a weak prior, precision
    10, followed them down by 0.05)."""
    rng = np.random.default_rng(3)
    scores = rng.normal(2.0, 1.5, 2000)  # log-odds the structure gives, calibrated here
    right = rng.uniform(size=scores.size) < 1 / (1 + np.exp(-scores))
    asked = np.argsort(scores)[:60]  # the least sure photos...
    asked_right = rng.uniform(size=asked.size) < 0.3 / (1 + np.exp(-scores[asked]))  # wronger
    rest = np.setdiff1d(np.arange(scores.size), asked)
    shown = ConfidenceCalibrator().fit(scores[asked], asked_right).predict(scores[rest])
    assert abs(shown.mean() - right[rest].mean()) < 0.03
    weak = ConfidenceCalibrator(prior_strength=10.0).fit(scores[asked], asked_right)
    assert right[rest].mean() - weak.predict(scores[rest]).mean() > 0.04


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



def test_confidences_of_some_rows_are_those_of_every_row():
    """Placing 10,000 photos in a million scores only them (issue 26): the same numbers, user
    placements and rows without an honest number included."""
    rng = np.random.default_rng(4)
    Z = l2_normalize(rng.normal(size=(300, 8)) + 3 * np.eye(8)[rng.integers(0, 4, 300)])
    labels = rng.integers(0, 4, 300)
    labels[:5] = -1
    labels[7] = 9  # a lone photo: no honest number
    user = np.where(rng.uniform(size=300) < 0.2, labels, -1)
    every = calibrated_confidences(Z, labels, user)
    rows = np.array([250, 3, 7, 0, *np.flatnonzero(user >= 0)[:4], 120])
    some = calibrated_confidences(Z, labels, user, rows=rows)
    # The same numbers to the last bits of rounding: a subset's matrix products may be summed in
    # another order by another CPU's BLAS kernel (3e-18 apart with OpenBLAS's Sandybridge one).
    assert np.array_equal(np.isnan(some), np.isnan(every[rows]))
    assert np.allclose(some, every[rows], rtol=1e-12, atol=0, equal_nan=True)
    assert np.isnan(some[2]) and (some[4:8] == 1.0).all()

# --- The confidence from the library's structure (issue 27) ---

def test_nearest_clustered_matches_brute_force_in_blocks_and_samples(monkeypatch):
    from photoclust.core.clustering import calibration

    rng = np.random.default_rng(4)
    Z = l2_normalize(rng.normal(size=(60, 5))).astype(np.float32)
    labels = rng.integers(-1, 3, 60)  # some photos in no cluster: never anyone's neighbour
    rows = np.arange(60)
    monkeypatch.setattr(calibration, "NEIGHBOUR_BLOCK", 100)  # blocks of 2 photos
    got = calibration.nearest_clustered(Z, labels, rows, k=4)
    clustered = np.flatnonzero(labels >= 0)
    for i in rows:
        others = clustered[clustered != i]
        want = others[np.argsort(-(Z[others] @ Z[i]))[:4]]
        assert set(got[i].tolist()) == set(want.tolist())
    # A library bigger than the reference: the neighbours come from a fixed sample of it.
    monkeypatch.setattr(calibration, "MAX_REFERENCE", 20)
    sampled = calibration.nearest_clustered(Z, labels, rows, k=4)
    assert np.array_equal(sampled, calibration.nearest_clustered(Z, labels, rows, k=4))
    assert len(np.unique(sampled)) <= 20 and (labels[sampled] >= 0).all()


def test_features_say_how_a_photo_sits_and_how_clean_the_library_is(monkeypatch):
    from photoclust.core.clustering import calibration
    from photoclust.core.clustering.calibration import FEATURES, confidence_features

    rng = np.random.default_rng(5)
    centres = 5 * np.eye(4)
    Z = np.concatenate([c + 0.3 * rng.normal(size=(20, 4)) for c in centres])
    labels = np.repeat([0, 1, 2, 3], 20)
    wrong = labels.copy()
    wrong[0] = 1  # a photo of the first group put in the second cluster
    f = confidence_features(Z, wrong)
    col = {name: j for j, name in enumerate(FEATURES)}
    assert f.shape == (80, len(FEATURES))
    assert f[0, col["margin"]] < 0 and (f[20:, col["margin"]] > 0).all()
    assert np.isclose(f[5, col["log_clusters"]], np.log(4))
    assert np.isclose(f[5, col["log_relative_size"]], np.log(19 / 20))
    Zn = l2_normalize(Z)
    sims = Zn @ Zn.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1)[:, :10]
    own = (wrong[nearest] == wrong[:, None]).mean(axis=1)
    assert np.isclose(f[5, col["library_agreement"]], own.mean())
    # Blurred kinds: the clusters follow the photos' nearest photos less.
    blurred = np.concatenate([c + 3.0 * rng.normal(size=(20, 4)) for c in centres])
    assert confidence_features(blurred, labels)[0, col["library_agreement"]] < own.mean() - 0.2
    # For another cluster than the photo's own: that cluster's margin and size.
    targets = wrong.copy()
    targets[0] = 0
    other = confidence_features(Z, wrong, targets)
    assert other[0, col["margin"]] > 0 and np.isclose(other[0, col["log_relative_size"]],
                                                      np.log(19 / 20))
    # A big library: the agreement is measured on a fixed sample of its photos.
    monkeypatch.setattr(calibration, "AGREEMENT_SAMPLE", 30)
    sampled = confidence_features(Z, wrong)[:, col["library_agreement"]]
    assert np.allclose(sampled, confidence_features(Z, wrong)[:, col["library_agreement"]])
    assert abs(sampled[0] - own.mean()) < 0.1


def test_fitting_recovers_a_known_model():
    from photoclust.core.clustering.calibration import fit_confidence_model

    rng = np.random.default_rng(6)
    coef, intercept = np.array([4.0, -2.0, 0.0]), 0.5
    features, right = [], []
    for size in (300, 3000, 800):  # collections of any size weigh alike
        X = rng.normal(size=(size, 3))
        features.append(X)
        right.append(rng.uniform(size=size) < 1 / (1 + np.exp(-(X @ coef + intercept))))
    features[0][:5] = np.nan  # rows without an honest number are left out
    model = fit_confidence_model(features, right, regularization=1e4)
    assert np.allclose(model.coef, coef, atol=0.4) and abs(model.intercept - intercept) < 0.3


def _organized_kinds(seed, kinds, spread, per_kind, dtype=None):
    """A synthetic collection organized as the product does: a random number of kinds (in
    ``kinds``), each ``per_kind`` photos blurred by a random ``spread`` around its centre, and
    K-means with the true number. ``(Z, kinds of the photos, cluster labels)``."""
    from photoclust.core.clustering.algorithms import PhotoKMeans

    rng = np.random.default_rng(seed)
    k, blur = int(rng.integers(*kinds)), rng.uniform(*spread)
    y = np.repeat(np.arange(k), per_kind)
    Z = l2_normalize(rng.normal(size=(k, 16))[y] + blur * rng.normal(size=(y.size, 16)))
    if dtype is not None:
        Z = Z.astype(dtype)
    return Z, y, PhotoKMeans(n_clusters=k, random_state=0).fit(Z).labels_


def test_fitted_on_some_collections_it_holds_on_others():
    """Synthetic collections of blurred and clean kinds, organized with K-means: a model fitted
    on some says how right the others' photos are, where a margin alone cannot."""
    from photoclust.core.clustering.calibration import (
        ConfidenceCalibrator,
        confidence_features,
        fit_confidence_model,
    )

    def collection(seed):
        Z, y, labels = _organized_kinds(seed, kinds=(3, 7), spread=(0.4, 1.4), per_kind=60)
        right = np.zeros(y.size, bool)
        for c in np.unique(labels):
            members = labels == c
            right[members] = y[members] == np.bincount(y[members]).argmax()
        return confidence_features(Z, labels), right

    train = [collection(seed) for seed in range(16)]
    model = fit_confidence_model([f for f, _ in train], [r for _, r in train])
    errors = []
    for seed in range(100, 106):
        f, right = collection(seed)
        conf = ConfidenceCalibrator().predict(model.score(f))
        errors.append(abs(conf.mean() - right.mean()))
    assert np.mean(errors) < 0.05 and max(errors) < 0.1


def test_no_number_where_none_is_honest_with_the_shipped_model():
    from photoclust.core.clustering.calibration import confidence_features

    rng = np.random.default_rng(7)
    Z = l2_normalize(rng.normal(size=(8, 4)))
    assert np.isnan(calibrated_confidences(Z, np.zeros(8, int))).all()  # one cluster
    assert np.isnan(confidence_features(Z, np.zeros(8, int))).all()
    labels = np.array([0, 0, 0, 1, 1, 1, 2, -1])  # photo 6 alone in its cluster, 7 in none
    conf = calibrated_confidences(Z, labels, np.array([-1, 0, -1, -1, -1, -1, -1, -1]))
    assert np.isnan(conf[6]) and np.isnan(conf[7]) and conf[1] == 1.0
    assert np.isfinite(conf[[0, 2, 3, 4, 5]]).all()
    assert ((conf[[0, 2, 3, 4, 5]] > 0) & (conf[[0, 2, 3, 4, 5]] < 1)).all()


def test_photos_json_shows_the_number_of_the_shipped_model(library, capsys, monkeypatch):
    """The stored confidence, which ``photos --json`` and the app's "least sure first" read,
    is the shipped model's: a model that says 0.37 for every photo makes every automatic
    placement read 0.37, and the user's answers move it."""
    from photoclust.core.clustering import calibration
    from photoclust.core.clustering.job import ClusterJob

    ids, y, _ = labelled_library(library)
    monkeypatch.setattr(calibration, "SHIPPED_MODEL", calibration.ConfidenceModel(
        coef=(0.0,) * len(calibration.FEATURES), intercept=float(np.log(0.37 / 0.63))))
    run_job(ClusterJob(library, k=3, fresh=True))
    path = str(library.path)
    assert main(["photos", "--json", "--library", path]) == 0
    shown = [p["confidence"] for p in json.loads(capsys.readouterr().out)]
    assert len(shown) == len(ids) and all(c == 0.37 for c in shown)
    # Answers that say the clusters are right raise every automatic photo's number.
    editing.confirm_photos(library, [int(pid) for pid in ids[::6]])
    run_job(LearnJob(library))
    assert main(["photos", "--json", "--library", path]) == 0
    after = {p["id"]: p for p in json.loads(capsys.readouterr().out)}
    auto = [p["confidence"] for p in after.values() if p["source"] == "auto"]
    assert auto and all(c > 0.37 for c in auto)
    assert all(p["confidence"] == 1.0 for p in after.values() if p["source"] == "user")


def test_photos_json_shows_no_number_in_a_library_of_one_cluster(library, capsys):
    """Merged into one cluster, no photo can be in the wrong one: Learn stores no number, and
    ``photos --json`` shows null (the user's photo keeps its 1)."""
    ids, _, clusters = labelled_library(library)
    editing.merge_clusters(library, clusters[0], [clusters[1]])
    editing.confirm_photos(library, [int(ids[0])])
    run_job(LearnJob(library))
    assert main(["photos", "--json", "--library", str(library.path)]) == 0
    shown = {p["id"]: p for p in json.loads(capsys.readouterr().out)}
    assert len(shown) == len(ids) and shown[int(ids[0])]["confidence"] == 1.0
    assert all(p["confidence"] is None for pid, p in shown.items() if pid != int(ids[0]))


def test_the_answer_shift_grows_with_the_share_answered_up_to_its_full_share():
    from photoclust.core.clustering.calibration import AnswerShift

    shift = AnswerShift(coef=(0.5, 0.1), full_share=0.05)
    scores = np.array([-1.0, 0.0, 2.0])
    assert np.array_equal(shift.apply(scores, 0.0), scores)  # before any answer: as it is
    full = scores + 0.5 + 0.1 * scores
    assert np.allclose(shift.apply(scores, 0.05), full)
    assert np.allclose(shift.apply(scores, 0.025), (scores + full) / 2)
    assert np.allclose(shift.apply(scores, 0.6), full)  # no further than fitted


def test_fitting_the_answer_shift_recovers_a_known_one():
    """States after answers where the photos nobody answered are righter than the model's score
    says, by a shift that grows with the share answered: the fit finds it, every state weighed
    alike, rows without a number left out, states without answers ignored."""
    from photoclust.core.clustering.calibration import AnswerShift, fit_answer_shift

    rng = np.random.default_rng(8)
    truth = AnswerShift(coef=(0.8, 0.3))
    scores, shares, right = [], [], []
    for size, share in ((400, 0.02), (4000, 0.05), (900, 0.03), (700, 0.05), (300, 0.0)):
        s = rng.normal(0.5, 1.5, size)
        r = rng.uniform(size=size) < 1 / (1 + np.exp(-truth.apply(s, share)))
        s[:3] = np.nan
        scores.append(s)
        shares.append(share)
        right.append(r)
    fitted = fit_answer_shift(scores, shares, right, regularization=1e-4)
    assert np.allclose(fitted.coef, truth.coef, atol=0.15)
    grid = np.linspace(-2, 3, 11)
    assert np.abs(fitted.apply(grid, 0.05) - truth.apply(grid, 0.05)).max() < 0.3
    nothing = fit_answer_shift(scores[-1:], shares[-1:], right[-1:])
    assert nothing.coef == (0.0, 0.0)


def test_after_answers_the_shift_moves_only_the_photos_nobody_answered():
    """The shift moves the automatic photos' numbers as the share of photos answered grows; the
    user's photos keep 1, and a photo with no honest number gets none, answers or not."""
    from photoclust.core.clustering.calibration import NO_SHIFT, AnswerShift

    rng = np.random.default_rng(9)
    centres = 3 * np.eye(6)[:3]
    labels = np.repeat([0, 1, 2], 40)
    Z = centres[labels] + rng.normal(size=(120, 6))
    labels = labels.copy()
    labels[119] = -1  # in no cluster
    user = np.full(120, -1)
    user[:6] = labels[:6]  # 5 % answered
    up = AnswerShift(coef=(1.0, 0.0))
    plain = calibrated_confidences(Z, labels, user, shift=NO_SHIFT)
    shifted = calibrated_confidences(Z, labels, user, shift=up)
    auto = np.arange(6, 119)
    assert (shifted[auto] > plain[auto]).all()
    logit = np.log(plain[auto] / (1 - plain[auto]))
    assert np.allclose(np.log(shifted[auto] / (1 - shifted[auto])), logit + 1.0, atol=0.05)
    assert (shifted[:6] == 1.0).all() and np.isnan(shifted[119])
    # Before any answer the shift does nothing.
    assert np.array_equal(calibrated_confidences(Z, labels, shift=up),
                          calibrated_confidences(Z, labels, shift=NO_SHIFT), equal_nan=True)
    # One cluster: still no number, however many answers.
    one = np.where(labels >= 0, 0, -1)
    conf = calibrated_confidences(Z, one, np.where(user >= 0, 0, -1), shift=up)
    assert (conf[:6] == 1.0).all() and np.isnan(conf[6:]).all()


def test_the_shift_fitted_on_some_answered_collections_holds_on_others():
    """Synthetic collections organized with K-means and answered by the simulated user up to 5 %:
    the photos nobody answered are then righter than the structure says (the answers were the
    hard photos, and Learn used them). A shift fitted on some collections' states makes the
    others' mean number meet their share right, where without it the number stays low."""
    from photoclust.core.clustering.calibration import (
        NO_SHIFT,
        SHIPPED_MODEL,
        LibraryStructure,
        answered_share,
        fit_answer_shift,
    )
    from photoclust.research.simulate import simulate_corrections

    def answered(seed):
        Z, y, labels = _organized_kinds(seed, kinds=(4, 7), spread=(0.5, 1.3), per_kind=50,
                                        dtype=np.float32)
        result = simulate_corrections(Z, y, labels, (0.05,), max_fraction=0.05)
        state, oracle = result.state, result.oracle
        right = np.array([oracle.cluster_label(state, int(c)) == t
                          for c, t in zip(state.clusters, y)])
        return Z, state.clusters, state.user, right

    train = []
    for seed in range(10):
        Z, clusters, user, right = answered(seed)
        features = LibraryStructure(Z, clusters).features()
        auto = user < 0
        train.append((SHIPPED_MODEL.score(features)[auto], answered_share(clusters, user),
                      right[auto]))
    shift = fit_answer_shift(*(list(v) for v in zip(*train)))
    assert shift.coef[0] > 0  # up: the unanswered photos are righter than their score says
    gaps, before = [], []
    for seed in range(10, 14):
        Z, clusters, user, right = answered(seed)
        auto = user < 0
        shifted = calibrated_confidences(Z, clusters, user, shift=shift)[auto]
        plain = calibrated_confidences(Z, clusters, user, shift=NO_SHIFT)[auto]
        assert np.isfinite(shifted).all() and (calibrated_confidences(
            Z, clusters, user, shift=shift)[~auto] == 1.0).all()
        gaps.append(abs(shifted.mean() - right[auto].mean()))
        before.append(abs(plain.mean() - right[auto].mean()))
    assert max(gaps) < 0.04 and np.mean(before) > 2 * np.mean(gaps)
