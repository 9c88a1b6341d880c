"""Search and similar photos over a real library file whose embeddings and top classes the test
writes (no model weights): what photos show through WordNet's hierarchy, names, folders, dates,
cameras, likeness, bad input, and the CLI's JSON."""
from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from photoclust.cli import main
from photoclust.core.clustering import editing
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.library.models import Assignment, Cluster, Embedding, Photo, PhotoStatus
from photoclust.core.search import (
    SearchError,
    SearchHit,
    search_hint,
    search_photos,
    similar_photos,
)
from photoclust.core.search import index as index_module

MODEL = "efficientnet_lite2"

# path, top classes as EmbedJob stores them, taken_at, camera, group (for the vectors)
PHOTOS = [
    ("/pics/walks/p1.jpg", [["beagle", 0.8], ["basset", 0.1]], datetime(2023, 7, 14),
     "Canon EOS 5D", 0),
    ("/pics/walks/p2.jpg", [["golden retriever", 0.7], ["Labrador retriever", 0.2]],
     datetime(2023, 7, 20), "Canon EOS 5D", 0),
    ("/pics/walks/p3.jpg", [["Chihuahua", 0.5], ["toy terrier", 0.3]], datetime(2022, 7, 1),
     None, 0),
    ("/pics/misc/p4.jpg", [["cowboy hat", 0.6], ["sombrero", 0.3]], datetime(2023, 1, 5),
     "Pixel 7", 1),
    ("/pics/misc/p5.jpg", [["sombrero", 0.9]], None, "Pixel 7", 1),
    ("/pics/misc/p6.jpg", [["running shoe", 0.5], ["Loafer", 0.3], ["sandal", 0.1]], None, None, 2),
    ("/pics/misc/p7.jpg", [["golf ball", 0.95]], None, None, 3),
    ("/pics/misc/beach_day.jpg", [["seashore", 0.7], ["sandbar", 0.2]], None, None, 4),
    ("/pics/misc/p9.jpg", [["tabby", 0.6], ["Egyptian cat", 0.3]], None, None, 5),
    ("/pics/misc/p10.jpg", [["mouse", 0.4], ["tabby", 0.02]], None, None, 6),
]


@pytest.fixture
def filled(library):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(8, 32))
    ids = []
    with library.session() as s:
        for i, (path, top, taken, camera, group) in enumerate(PHOTOS):
            content = f"{i:064x}"
            photo = Photo(path=path, content_hash=content, file_size=1, mtime_ns=0,
                          taken_at=taken, camera=camera)
            s.add(photo)
            vector = centres[group] + 0.05 * rng.normal(size=32)
            s.add(Embedding(content_hash=content, model=MODEL,
                            preprocess_version=PREPROCESS_VERSION, dim=32,
                            vector=vector.astype("<f2").tobytes(), top_classes=json.dumps(top)))
            s.flush()
            ids.append(photo.id)
        # one photo not embedded yet
        s.add(Photo(path="/pics/misc/new.jpg", content_hash="f" * 64, file_size=1, mtime_ns=0))
        dogs = Cluster(name="beagle", name_source="auto")
        hats = Cluster(name="hat", name_source="auto")
        s.add_all([dogs, hats])
        s.flush()
        for pid in ids[:3]:
            s.add(Assignment(photo_id=pid, cluster_id=dogs.id, source="auto", confidence=0.9))
        for pid in ids[3:5]:
            s.add(Assignment(photo_id=pid, cluster_id=hats.id, source="auto", confidence=0.9))
    return library, ids, dogs.id, hats.id


def found(hits):
    return [h.path.rsplit("/", 1)[1] for h in hits]


def test_search_lifts_classes_through_the_hierarchy(filled):
    library, ids, dogs, _ = filled
    hits = search_photos(library, "dog")
    assert found(hits) == ["p1.jpg", "p2.jpg", "p3.jpg"]  # every breed counts; ties by id
    assert all(isinstance(h, SearchHit) for h in hits)
    assert [h.score for h in hits] == pytest.approx([0.9, 0.9, 0.8])
    assert hits[0].cluster_id == dogs
    assert hits[1].why == "dog (golden retriever)"
    assert found(search_photos(library, "hats")) == ["p4.jpg", "p5.jpg"]
    assert set(found(search_photos(library, "footwear"))) == {"p6.jpg"}
    assert found(search_photos(library, "Golf-Balls!")) == ["p7.jpg"]
    assert found(search_photos(library, "puppies")) == found(search_photos(library, "dogs"))
    assert set(found(search_photos(library, "cat"))) == {"p9.jpg"}  # 0.02 tabby is below the floor


def test_search_by_cluster_name_user_names_first(filled):
    library, ids, dogs, hats = filled
    editing.rename_cluster(library, hats, "Grandpa's hats")
    hits = search_photos(library, "grandpa")
    assert found(hits) == ["p4.jpg", "p5.jpg"]
    assert hits[0].why == "cluster: Grandpa's hats" and hits[0].score == 1.0
    # a user name beats what the model saw; the suggested name only counts half
    hits = search_photos(library, "beagle")
    assert found(hits)[0] == "p1.jpg"
    assert {h.why for h in hits[1:]} == {"cluster: beagle"}
    assert all(h.score == 0.5 for h in hits[1:])


def test_search_folders_files_dates_cameras_and_several_words(filled):
    library, *_ = filled
    assert set(found(search_photos(library, "walks"))) == {"p1.jpg", "p2.jpg", "p3.jpg"}
    assert found(search_photos(library, "beach")) == ["beach_day.jpg"]
    assert set(found(search_photos(library, "2023"))) == {"p1.jpg", "p2.jpg", "p4.jpg"}
    assert set(found(search_photos(library, "july 2023"))) == {"p1.jpg", "p2.jpg"}
    assert set(found(search_photos(library, "July"))) == {"p1.jpg", "p2.jpg", "p3.jpg"}
    assert set(found(search_photos(library, "2023-07-14"))) == {"p1.jpg", "p2.jpg"}  # the month
    assert set(found(search_photos(library, "canon"))) == {"p1.jpg", "p2.jpg"}
    hits = search_photos(library, "photos of dogs in july 2023 with canon")
    assert found(hits) == ["p1.jpg", "p2.jpg"]
    assert "date: 2023" in hits[0].why and "camera: Canon EOS 5D" in hits[0].why
    assert found(search_photos(library, "hat pixel")) == ["p4.jpg", "p5.jpg"]
    assert search_photos(library, "hat canon") == []
    assert len(search_photos(library, "dog", limit=2)) == 2


@pytest.mark.parametrize("text", ["", "   ", "?!...", "xyzzyq", "the of"])
def test_search_bad_input_gives_nothing_and_a_hint(filled, text):
    library, *_ = filled
    assert search_photos(library, text) == []
    hint = search_hint(text)
    assert hint and "Type what the photos show" in hint
    if text == "xyzzyq":
        assert '"xyzzyq"' in hint


def test_search_hint_for_known_words_that_match_nothing(filled):
    library, *_ = filled
    assert search_photos(library, "parachute") == []
    assert "broader word" in search_hint("parachute")


def test_search_index_follows_edits_and_new_photos(filled):
    library, ids, dogs, hats = filled
    assert search_photos(library, "sunday") == []
    editing.rename_cluster(library, dogs, "Sunday walks")
    assert len(search_photos(library, "sunday")) == 3
    with library.session() as s:
        s.add(Photo(path="/pics/misc/ball2.jpg", content_hash="e" * 64, file_size=1, mtime_ns=0))
        s.add(Embedding(content_hash="e" * 64, model=MODEL, preprocess_version=PREPROCESS_VERSION,
                        dim=32, vector=np.ones(32, "<f2").tobytes(),
                        top_classes=json.dumps([["golf ball", 0.6]])))
    assert found(search_photos(library, "golf ball"))[0] == "p7.jpg"
    assert len(search_photos(library, "golf ball")) == 2


def test_similar_photos_nearest_first_without_the_photo_itself(filled):
    library, ids, dogs, _ = filled
    hits = similar_photos(library, ids[0], limit=3)
    assert len(hits) == 3
    assert ids[0] not in [h.id for h in hits]
    assert {h.id for h in hits[:2]} == {ids[1], ids[2]}  # the same group
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert hits[0].cluster_id == dogs and "p1.jpg" in hits[0].why
    by_path = similar_photos(library, "/pics/walks/p1.jpg", limit=3)
    assert [h.id for h in by_path] == [h.id for h in hits]
    assert len(similar_photos(library, ids[0], limit=100)) == len(ids) - 1


def _add_embedded_photo(library, path, content, top, vector=None):
    with library.session() as s:
        s.add(Photo(path=path, content_hash=content, file_size=1, mtime_ns=0))
        s.add(Embedding(content_hash=content, model=MODEL, preprocess_version=PREPROCESS_VERSION,
                        dim=32, vector=(np.ones(32) if vector is None else vector)
                        .astype("<f2").tobytes(), top_classes=top))


@pytest.fixture
def counted(monkeypatch):
    """The PCA fits, and the rows projected by each projection (None: all of them)."""
    fits, projected = [], []
    fit, project = index_module._fit_basis, index_module._project_into
    monkeypatch.setattr(index_module, "_fit_basis", lambda *a: fits.append(1) or fit(*a))
    monkeypatch.setattr(index_module, "_project_into",
                        lambda lib, v, b, space, rows: projected.append(
                            None if rows is None else v.photo_ids[rows].tolist())
                        or project(lib, v, b, space, rows))
    return fits, projected


def _space_file(library):
    return library.data_dir / f"similar-{MODEL}.npz"


def _rows_files(library):
    return sorted(library.data_dir.glob(f"similar-{MODEL}.*.npy"))


def test_similar_space_is_kept_on_disk_until_photos_or_embeddings_change(filled, counted):
    library, ids, *_ = filled
    fits, projected = counted
    first = similar_photos(library, ids[0], limit=5)
    assert fits == [1] and projected == [None] and _space_file(library).exists()
    index_module.forget(library)  # as a new process would start
    assert similar_photos(library, ids[0], limit=5) == first
    assert fits == [1] and projected == [None]  # read back from disk
    editing.rename_cluster(library, filled[2], "Sunday walks")
    similar_photos(library, ids[0], limit=5)
    with library.session() as s:  # a scan re-reads every photo it sees
        for photo in s.query(Photo):
            photo.updated_at = datetime(2030, 1, 1)
    assert similar_photos(library, ids[0], limit=5) == first
    index_module.forget(library)
    assert similar_photos(library, ids[0], limit=5) == first
    assert fits == [1] and projected == [None]  # no embedding changed


def test_similar_space_projects_only_new_photos_on_the_kept_basis(filled, counted):
    library, ids, *_ = filled
    fits, projected = counted
    similar_photos(library, ids[0], limit=5)
    before = index_module.similarity_space(library, index_module.search_index(library)).copy()
    _add_embedded_photo(library, "/pics/misc/ball2.jpg", "e" * 64, None)
    with library.session() as s:
        new_id = s.query(Photo.id).filter_by(path="/pics/misc/ball2.jpg").scalar()
    index_module.forget(library)  # a new process: from the file on disk
    assert len(similar_photos(library, ids[0], limit=100)) == len(ids)  # the new photo too
    assert fits == [1] and projected == [None, [new_id]]
    space = index_module.similarity_space(library, index_module.search_index(library))
    assert np.array_equal(space[:len(ids)], before)  # the others' rows kept as they were
    assert np.isclose(np.linalg.norm(space[len(ids)]), 1, atol=1e-4)
    with library.session() as s:  # a photo's content changed: its embedding is another one
        photo = s.get(Photo, ids[3])
        photo.content_hash = "d" * 64
        s.add(Embedding(content_hash="d" * 64, model=MODEL, preprocess_version=PREPROCESS_VERSION,
                        dim=32, vector=np.ones(32, "<f2").tobytes(), top_classes=None))
    similar_photos(library, ids[0], limit=5)
    assert fits == [1] and projected[2:] == [[ids[3]]]
    for i in range(len(ids)):  # the library has doubled since the fit: fitted again
        _add_embedded_photo(library, f"/pics/more/{i}.jpg", f"{i:063x}a", None,
                            np.random.default_rng(i).normal(size=32))
    similar_photos(library, ids[0], limit=5)
    assert fits == [1, 1] and projected[-1] is None


def test_similar_space_of_another_model_is_built_for_it(filled, counted):
    library, ids, *_ = filled
    fits, projected = counted
    similar_photos(library, ids[0], limit=5)
    with library.session() as s:
        for photo in s.query(Photo).filter(Photo.id.in_(ids)):
            s.add(Embedding(content_hash=photo.content_hash, model="other", dim=16,
                            preprocess_version=PREPROCESS_VERSION,
                            vector=np.random.default_rng(photo.id).normal(size=16)
                            .astype("<f2").tobytes(), top_classes=None))
    space = index_module.similarity_space(library, index_module.search_index(library, "other"))
    assert fits == [1, 1] and space.shape[0] == len(ids)
    assert (library.data_dir / "similar-other.npz").exists()
    # the same model name with vectors of another length (new weights): not projected on the
    # old basis, fitted again
    with library.session() as s:
        for e in s.query(Embedding).filter_by(model=MODEL):
            e.dim, e.vector = 24, np.ones(24, "<f2").tobytes()
    index_module.forget(library)
    space = index_module.similarity_space(library, index_module.search_index(library, MODEL))
    assert fits == [1, 1, 1] and projected[-1] is None and space.shape[0] == len(ids)


@pytest.mark.parametrize("damage", [b"", b"not a zip file", "truncated", "wrong arrays",
                                    "rows missing", "rows truncated", "rows of another shape"])
def test_a_damaged_space_file_is_built_again(filled, counted, damage):
    library, ids, *_ = filled
    fits, _ = counted
    first = similar_photos(library, ids[0], limit=5)
    path = _space_file(library)
    [rows_file] = _rows_files(library)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "wrong arrays":
        with np.load(path) as data:
            arrays = dict(data)
        np.savez(path, **{**arrays, "photo_ids": arrays["photo_ids"][:3]})
    elif damage == "rows missing":
        rows_file.unlink()
    elif damage == "rows truncated":
        rows_file.write_bytes(rows_file.read_bytes()[:200])
    elif damage == "rows of another shape":
        np.save(rows_file, np.load(rows_file)[:, :3])
    else:
        path.write_bytes(damage)
    index_module.forget(library)
    assert similar_photos(library, ids[0], limit=5) == first
    assert fits == [1, 1]
    index_module.forget(library)
    similar_photos(library, ids[0], limit=5)
    assert fits == [1, 1]  # and kept again, readable


def test_a_read_only_library_writes_no_space(filled, monkeypatch):
    from photoclust.core.library import db, open_library

    library, ids, *_ = filled
    monkeypatch.setattr(db, "write_problem", lambda p: f"the file {p} is read-only")
    with open_library(library.path, read_only_ok=True) as reader:
        assert reader.read_only
        assert len(similar_photos(reader, ids[0], limit=5)) == 5
        index_module.forget(reader)
    assert not _space_file(library).exists()
    monkeypatch.undo()
    similar_photos(library, ids[0], limit=5)
    kept = _space_file(library).read_bytes()
    _add_embedded_photo(library, "/pics/misc/ball2.jpg", "e" * 64, None)
    monkeypatch.setattr(db, "write_problem", lambda p: f"the file {p} is read-only")
    with open_library(library.path, read_only_ok=True) as reader:
        assert len(similar_photos(reader, ids[0], limit=100)) == len(ids)
        index_module.forget(reader)
    assert _space_file(library).read_bytes() == kept
    assert sorted(p.name for p in library.data_dir.iterdir()) == [
        p.name for p in _rows_files(library)] + [_space_file(library).name]


def test_similar_space_fitted_on_a_sample_and_built_in_chunks(filled, monkeypatch):
    library, ids, *_ = filled
    monkeypatch.setattr(index_module, "SIMILAR_PCA_SAMPLE", 6)
    monkeypatch.setattr(index_module, "SPACE_CHUNK", 3)
    hits = similar_photos(library, ids[0], limit=3)
    assert {h.id for h in hits[:2]} == {ids[1], ids[2]}  # the same group
    space = index_module.similarity_space(library, index_module.search_index(library))
    assert space.shape[0] == len(ids)
    assert np.allclose(np.linalg.norm(space, axis=1), 1, atol=1e-4)  # every row projected


def test_an_edit_rereads_placements_not_the_photos(filled):
    library, ids, dogs, hats = filled
    before = index_module.search_index(library)
    editing.rename_cluster(library, hats, "Grandpa's hats")
    after = index_module.search_index(library)
    assert after is not before and after.photos is before.photos
    assert after.cluster_names[hats][0] == "Grandpa's hats"
    with library.session() as s:  # a scan finds a photo moved: it sets updated_at
        photo = s.get(Photo, ids[6])
        photo.path, photo.updated_at = "/pics/holiday/p7.jpg", datetime(2030, 1, 1)
    moved = index_module.search_index(library)
    assert moved.photos is not before.photos
    assert [h.id for h in search_photos(library, "holiday")] == [ids[6]]


def test_a_damaged_top_classes_row_spoils_no_other(filled):
    library, ids, *_ = filled
    _add_embedded_photo(library, "/pics/misc/bad.jpg", "d" * 64, "[[not json")
    assert found(search_photos(library, "golf ball")) == ["p7.jpg"]


def test_similar_photos_bad_input_is_one_sentence(filled):
    library, ids, *_ = filled
    with pytest.raises(SearchError, match="no photo 999"):
        similar_photos(library, 999)
    with pytest.raises(SearchError, match="not a photo in this library"):
        similar_photos(library, "/nowhere/x.jpg")
    with pytest.raises(SearchError, match="no embedding"):
        similar_photos(library, "/pics/misc/new.jpg")
    with library.session() as s:
        s.get(Photo, ids[1]).status = PhotoStatus.MISSING
        s.get(Photo, ids[2]).status = PhotoStatus.UNREADABLE
    with pytest.raises(SearchError, match="missing"):
        similar_photos(library, ids[1])
    with pytest.raises(SearchError, match="no longer reads as a photo"):
        similar_photos(library, ids[2])
    assert ids[1] not in [h.id for h in similar_photos(library, ids[0])]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_search_and_similar_json(filled, capsys):
    library, ids, dogs, _ = filled
    lib = str(library.path)
    code, out, _ = run_cli(capsys, "search", "dogs", "--library", lib, "--json", "--limit", "2")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 2
    assert set(rows[0]) == {"id", "path", "score", "cluster_id", "why"}
    assert rows[0]["cluster_id"] == dogs and rows[0]["path"].startswith("/pics/walks/")
    code, out, _ = run_cli(capsys, "similar", str(ids[0]), "--library", lib, "--json")
    assert code == 0 and ids[0] not in [r["id"] for r in json.loads(out)]
    code, out, _ = run_cli(capsys, "similar", "/pics/walks/p1.jpg", "--library", lib)
    assert code == 0 and "/pics/walks/p2.jpg" in out


def test_cli_bad_input(filled, capsys):
    library, *_ = filled
    lib = str(library.path)
    code, out, err = run_cli(capsys, "search", "?!", "--library", lib, "--json")
    assert code == 0 and json.loads(out) == [] and "Type what the photos show" in err
    code, out, _ = run_cli(capsys, "search", "xyzzyq", "--library", lib)
    assert code == 0 and '"xyzzyq"' in out
    code, out, err = run_cli(capsys, "similar", "4242", "--library", lib)
    assert code == 2 and "no photo 4242" in err and "Traceback" not in err


def test_a_scan_that_changes_nothing_rereads_nothing_but_changes_are_seen(filled):
    library, ids, *_ = filled
    before = index_module.search_index(library)
    with library.session() as s:  # a scan sets updated_at of every photo it sees
        for photo in s.query(Photo):
            photo.updated_at = datetime(2030, 1, 1)
    after = index_module.search_index(library)
    assert after.photos is before.photos and after.vectors is before.vectors
    with library.session() as s:  # a scan that found a photo's camera and date
        photo = s.get(Photo, ids[6])
        photo.camera, photo.taken_at = "Nikon D90", datetime(2011, 3, 4)
        photo.updated_at = datetime(2030, 1, 2)
    assert found(search_photos(library, "nikon march 2011")) == ["p7.jpg"]
    assert index_module.search_index(library).vectors is before.vectors


def test_new_embeddings_add_their_classes_to_the_kept_ones(filled, monkeypatch):
    library, ids, *_ = filled
    before = index_module.search_index(library)
    read = []
    class_matrix = index_module._class_matrix
    monkeypatch.setattr(index_module, "_class_matrix",
                        lambda tops: read.append(len(tops)) or class_matrix(tops))
    _add_embedded_photo(library, "/pics/misc/ball2.jpg", "e" * 64,
                        json.dumps([["golf ball", 0.6]]))
    with library.session() as s:  # p5's content changed: another embedding
        s.get(Photo, ids[4]).content_hash = "d" * 64
        s.add(Embedding(content_hash="d" * 64, model=MODEL, preprocess_version=PREPROCESS_VERSION,
                        dim=32, vector=np.ones(32, "<f2").tobytes(),
                        top_classes=json.dumps([["tabby", 0.9]])))
    after = index_module.search_index(library)
    assert read == [2]  # only the two new embeddings' classes read
    assert after.vectors is not before.vectors
    full = index_module._build_vectors(library, MODEL, after.vectors.key)
    assert np.array_equal(after.vectors.photo_ids, full.photo_ids)
    assert np.array_equal(after.vectors.embedding_ids, full.embedding_ids)
    assert (after.vectors.probs != full.probs).nnz == 0
    assert found(search_photos(library, "golf ball")) == ["p7.jpg", "ball2.jpg"]
    assert "p5.jpg" not in found(search_photos(library, "sombrero"))
    assert "p5.jpg" in found(search_photos(library, "tabby"))


def test_new_photos_append_their_facts_to_the_kept_ones(filled, monkeypatch):
    """An import only adds photos (the largest ids): their facts are read and appended, and the
    result is what building the facts anew gives; a photo gone rebuilds them."""
    library, ids, *_ = filled
    before = index_module.search_index(library).photos
    built = []
    facts = index_module._facts
    monkeypatch.setattr(index_module, "_facts", lambda key, rows, h: built.append(len(rows))
                        or facts(key, rows, h))
    with library.session() as s:
        s.add(Photo(path="/pics/Holiday Nice/IMG_1.jpg", content_hash="f" * 64, file_size=1,
                    mtime_ns=0, camera="Fujifilm X100", taken_at=datetime(2024, 8, 2)))
        s.add(Photo(path="/pics/Holiday Nice/IMG_2.jpg", content_hash="9" * 64, file_size=1,
                    mtime_ns=0))
    after = index_module.search_index(library).photos
    assert built == [2]  # only the two new photos' facts were read
    fresh = index_module._read_photos(library, after.key, None)
    assert np.array_equal(after.ids, fresh.ids) and after.paths == fresh.paths
    assert np.array_equal(after.years, fresh.years) and np.array_equal(after.months,
                                                                         fresh.months)
    assert after.cameras == fresh.cameras
    for column in ("path_words", "camera_words"):
        assert getattr(after, column).text == getattr(fresh, column).text
        assert np.array_equal(getattr(after, column).starts, getattr(fresh, column).starts)
    assert len(after.ids) == len(before.ids) + 2
    assert sorted(found(search_photos(library, "holiday"))) == ["IMG_1.jpg", "IMG_2.jpg"]
    assert found(search_photos(library, "fujifilm august 2024")) == ["IMG_1.jpg"]
    built.clear()
    with library.session() as s:  # a photo went missing: not an append
        s.get(Photo, ids[0]).status = PhotoStatus.MISSING
    index_module.search_index(library)
    assert built == [len(after.ids) - 1]


def test_scene_and_common_words_find_the_objects_of_the_place(filled):
    """Issue #24: "bathroom" found nothing. The photos' objects say where they were taken."""
    library, ids, _, _ = filled
    _add_embedded_photo(library, "/pics/home/a.jpg", "a" * 64,
                        json.dumps([["medicine chest", 0.6], ["washbasin", 0.2]]))
    _add_embedded_photo(library, "/pics/home/b.jpg", "b" * 64,
                        json.dumps([["toilet seat", 0.7], ["tub", 0.1]]))
    _add_embedded_photo(library, "/pics/home/c.jpg", "c" * 64,
                        json.dumps([["refrigerator", 0.5], ["microwave", 0.3]]))
    _add_embedded_photo(library, "/pics/trip/d.jpg", "d" * 64,
                        json.dumps([["bell cote", 0.6], ["church", 0.3]]))
    assert set(found(search_photos(library, "bathroom"))) == {"a.jpg", "b.jpg"}
    assert set(found(search_photos(library, "bathrooms"))) == {"a.jpg", "b.jpg"}
    assert found(search_photos(library, "kitchen")) == ["c.jpg"]
    assert found(search_photos(library, "church")) == ["d.jpg"]
    assert found(search_photos(library, "beach")) == ["beach_day.jpg"]


def test_a_new_process_maps_the_kept_space_and_reads_no_photo_row(filled, counted, monkeypatch):
    """The first "similar" of a new process takes the photos and embeddings kept with the space
    when the library's fingerprint is the one kept with it: no pair of every photo read, the
    rows mapped from their file (not read whole)."""
    library, ids, *_ = filled
    first = similar_photos(library, ids[0], limit=5)
    index_module.forget(library)
    reads = []
    raw = index_module.raw_cursor
    monkeypatch.setattr(index_module, "raw_cursor", lambda s, q: reads.append(q) or raw(s, q))
    assert similar_photos(library, ids[0], limit=5) == first
    assert reads == [] and counted == ([1], [None])
    vectors = index_module.similar_vectors(library)
    assert isinstance(vectors.space, np.memmap) and not vectors.space.flags.writeable
    assert str(vectors.space.filename) == str(_rows_files(library)[0])
    # a photo not embedded yet: the fingerprint changed, the pairs are read once, found the
    # same, and the new fingerprint kept beside the same rows
    rows_file = _rows_files(library)
    with library.session() as s:
        s.add(Photo(path="/pics/misc/later.jpg", content_hash="9" * 64, file_size=1, mtime_ns=0))
    index_module.forget(library)
    assert similar_photos(library, ids[0], limit=5) == first
    assert len(reads) == 1 and _rows_files(library) == rows_file
    index_module.forget(library)
    assert similar_photos(library, ids[0], limit=5) == first
    assert len(reads) == 1 and counted == ([1], [None])


@pytest.mark.parametrize("change", ["added", "missing", "re-embedded", "content of another",
                                    "embedding removed"])
def test_a_new_process_finds_the_kept_space_stale(filled, monkeypatch, change):
    """Whatever changed the present photos or their embeddings since the space was kept, a new
    process answers as it would reading every photo's pair (the fingerprint changed, or the
    answer's photos are found stale)."""
    library, ids, *_ = filled
    first = similar_photos(library, ids[0], limit=6)
    assert first[0].id == ids[1]
    with library.session() as s:
        if change == "added":  # a copy of the second photo's look
            vector = np.frombuffer(s.query(Embedding.vector).filter_by(
                content_hash=f"{1:064x}").scalar(), "<f2").astype(float)
            _add_embedded_photo(library, "/pics/walks/copy.jpg", "c" * 64, None, vector)
        elif change == "missing":
            s.get(Photo, ids[1]).status = PhotoStatus.MISSING
        elif change == "re-embedded":  # its content changed, and it was embedded again
            s.get(Photo, ids[1]).content_hash = "d" * 64
            s.add(Embedding(content_hash="d" * 64, model=MODEL, dim=32,
                            preprocess_version=PREPROCESS_VERSION, top_classes=None,
                            vector=np.full(32, -1, "<f2").tobytes()))
        elif change == "content of another":  # now a copy of the golf ball, embedded already
            s.get(Photo, ids[1]).content_hash = f"{6:064x}"
        else:
            s.query(Embedding).filter_by(content_hash=f"{1:064x}").delete()
    index_module.forget(library)
    answer = similar_photos(library, ids[0], limit=6)
    index_module.forget(library)  # the oracle: every pair read
    calls = iter(range(1000))
    monkeypatch.setattr(index_module, "_fingerprint", lambda *a: ("never the same", next(calls)))
    assert answer == similar_photos(library, ids[0], limit=6)
    assert [h.id for h in answer] != [h.id for h in first]


def test_a_space_kept_by_the_earlier_version_is_used_and_written_again(filled, counted):
    """A space kept in one file (rows inside, before they were mapped) is read once, not built
    again, and kept again as a description and its rows."""
    library, ids, *_ = filled
    first = similar_photos(library, ids[0], limit=5)
    path = _space_file(library)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k not in ("rows_file", "fingerprint")}
    arrays["space"] = np.load(_rows_files(library)[0])
    _rows_files(library)[0].unlink()
    np.savez(path, **arrays)
    index_module.forget(library)
    assert similar_photos(library, ids[0], limit=5) == first
    assert counted == ([1], [None])  # neither fitted nor projected again
    assert len(_rows_files(library)) == 1
    with np.load(path) as data:
        assert "space" not in data.files and "rows_file" in data.files


def _rows_with_reference(texts: list[str], forms: list[str]) -> list[int]:
    """Whole-word matching as a person reads it: a row matches a form when one of its words
    (runs of letters and digits) is the form, or the form with "s" or "es" after it."""
    import re as _re

    rows = []
    for row, text in enumerate(texts):
        text = text.lower()
        for form in forms:
            if any(_re.search(r"(?<![^\W_])" + _re.escape(form + suffix) + r"(?![^\W_])", text)
                   for suffix in ("", "s", "es")):
                rows.append(row)
                break
    return rows


def test_word_column_finds_whole_words_and_their_plurals_only():
    texts = ["Holiday/IMG_0012.jpg", "2019/12/dog.jpg", "dogs/beach 12.png", "Hotdogs/x.jpg",
             "cats/12_b.jpg", "", "Dogés/Ünïcode 12³.jpg", "a b a b/boxes", "dog\nnewline 12"]
    column = index_module.WordColumn(texts)
    assert column.rows_with(["dog"]).tolist() == [1, 2, 8]
    assert column.rows_with(["12"]).tolist() == [1, 2, 4, 8]  # never inside IMG_0012 or 12³
    assert column.rows_with(["box", "a b"]).tolist() == [7]
    assert column.rows_with([]).tolist() == []
    rng = np.random.default_rng(3)
    alphabet = list("ab s_e.1-2é²/")
    for _ in range(500):
        texts = ["".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(5)]
        forms = ["".join(rng.choice(list("abse12é"), rng.integers(1, 3)))
                 for _ in range(rng.integers(1, 3))]
        assert column_rows(texts, forms) == _rows_with_reference(texts, forms), (texts, forms)


def column_rows(texts, forms):
    return index_module.WordColumn(texts).rows_with(forms).tolist()
