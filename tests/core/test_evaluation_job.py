"""EvaluateJob end to end, its metrics helpers, and the near-duplicate thresholds.

The evaluate tests run the real default model on ~24 tiny images drawn by the test."""

import numpy as np
import pytest

from _clustering_fixtures import add_embedded_photos
from helpers import make_labeled_folder
from photoclust.cli import main
from photoclust.core.jobs import JobError, run_job
from photoclust.core.library import open_library
from photoclust.core.organize.evaluation import EvaluateJob, dataset_labels, label_of


@pytest.mark.slow
def test_evaluate_ignores_library_photos_outside_the_dataset(labelled_folder, tmp_path):
    other = tmp_path / "other"
    make_labeled_folder(other, per_class=2, size=(96, 72), seed=3)
    with open_library(tmp_path / "lib.sqlite") as library:
        from photoclust.core.library.scan import ScanJob

        run_job(ScanJob(library, [other]))
        result = run_job(EvaluateJob(labelled_folder, library=library, k=4))
    assert result.n == 24 and result.k_true == 4


def test_evaluate_refuses_folders_without_labels(tmp_path, capsys):
    (tmp_path / "flat.jpg").write_bytes(b"")
    with pytest.raises(JobError, match="label subfolders"):
        dataset_labels(tmp_path)
    assert main(["evaluate", str(tmp_path / "absent")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert label_of(str(tmp_path / "a" / "b.jpg"), tmp_path) == "a"
    assert label_of(str(tmp_path / "b.jpg"), tmp_path) is None


@pytest.mark.parametrize("model, grouped", [("efficientnet_lite0", True),
                                           ("efficientnet_lite2", False),
                                           ("efficientnet_lite2_int8", False)])
def test_near_duplicate_threshold_is_the_models(library, model, grouped):
    """Two photos at cosine 0.93 are copies for Lite0 (threshold 0.92) but not for the more
    semantic Lite2 (0.945), whose different photos of one class come that close; nor for Lite2
    int8, whose different photos come as close as fp32's (it once fell back to Lite0's 0.92)."""
    from photoclust.core.clustering.duplicates import library_duplicate_groups

    angle = np.arccos(0.93)
    X = np.zeros((3, 8), dtype=np.float32)
    X[0, 0] = 1.0
    X[1, 0], X[1, 1] = np.cos(angle), np.sin(angle)
    X[2, 2] = 1.0
    ids = add_embedded_photos(library, X, [0, 0, 1], model=model)
    groups, _ = library_duplicate_groups(library)
    near = [g.photo_ids for g in groups if g.kind == "near"]
    assert near == ([[int(ids[0]), int(ids[1])]] if grouped else [])


@pytest.mark.slow
@pytest.mark.datasets
def test_evaluate_on_a_slice_of_imagenette(dataset, tmp_path):
    """60 real photos (6 classes x 10) from the shared set: true k and auto k both work."""
    source = dataset("imagenette224")
    for label in sorted(p.name for p in source.iterdir() if p.is_dir())[:6]:
        (tmp_path / "slice" / label).mkdir(parents=True)
        for photo in sorted((source / label).iterdir())[:10]:
            (tmp_path / "slice" / label / photo.name).symlink_to(photo)
    with open_library(tmp_path / "lib.sqlite") as library:
        given = run_job(EvaluateJob(tmp_path / "slice", library=library, k=6))
        auto = run_job(EvaluateJob(tmp_path / "slice", library=library))
    assert given.n == 60 and given.ari > 0.7
    assert 4 <= auto.k <= 9 and auto.ari >= 0.9 * given.ari - 0.05
