"""The nearest-neighbour index of similar photos (core/search/ann.py): as good as exact search on
small data, kept on disk, updated as photos arrive and leave, rebuilt when missing or damaged."""
from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from sqlalchemy import update

from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.library.models import Embedding, Photo, PhotoStatus
from photoclust.core.search import ann, finder, similar_photos
from photoclust.core.search import index as index_module

pytest.importorskip("usearch")

MODEL = "efficientnet_lite2"
DIM = 48


def _vectors(rng, n, centres):
    group = rng.integers(0, len(centres), n)
    return centres[group] + 0.35 * rng.normal(size=(n, centres.shape[1]))


def _add(library, start, X, dim=DIM):
    photos, embeddings = [], []
    for j, x in enumerate(X):
        content = f"{start + j:064x}"
        photos.append({"path": f"/pics/{(start + j) % 7}/p{start + j}.jpg",
                       "content_hash": content, "file_size": 1, "mtime_ns": 0})
        embeddings.append({"content_hash": content, "model": MODEL,
                           "preprocess_version": PREPROCESS_VERSION, "dim": dim,
                           "vector": x.astype("<f2").tobytes(), "top_classes": None})
    with library.session() as s:
        s.execute(Photo.__table__.insert(), photos)
        s.execute(Embedding.__table__.insert(), embeddings)


@pytest.fixture
def indexed(library, monkeypatch):
    """600 embedded photos around 30 kinds; the index used from the first photo on."""
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(30, DIM))
    _add(library, 0, _vectors(rng, 600, centres))
    monkeypatch.setattr(ann, "EXACT_BELOW", 0)
    monkeypatch.setattr(ann, "THREADS", 1)  # a graph built by one thread is the same every time
    builds = []
    new_graph = ann._new_graph
    monkeypatch.setattr(ann, "_new_graph", lambda dim: builds.append(dim) or new_graph(dim))
    exact_rows = finder._exact_rows

    def exact_only_when_asked(*args):
        assert ann.EXACT_BELOW > 10**9, "the index should have answered"
        return exact_rows(*args)

    monkeypatch.setattr(finder, "_exact_rows", exact_only_when_asked)
    yield library, rng, centres, builds
    ann.forget(library)
    index_module.forget(library)


def _new_process(library):
    ann.forget(library)
    index_module.forget(library)


def _exact(library, photo_id, k):
    old = ann.EXACT_BELOW
    ann.EXACT_BELOW = 10**12
    try:
        return [h.id for h in similar_photos(library, photo_id, limit=k)]
    finally:
        ann.EXACT_BELOW = old


def _present_ids(library):
    with library.session() as s:
        return [r[0] for r in s.execute(
            Photo.__table__.select().with_only_columns(Photo.id)
            .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))]


def _files(library):
    return sorted(p.name for p in library.data_dir.glob("ann-*"))


def test_recall_at_10_against_exact_search(indexed):
    library, _rng, _c, builds = indexed
    ids = _present_ids(library)
    found = [h.id for h in similar_photos(library, ids[0], limit=10)]
    assert builds == [DIM] and len(_files(library)) == 2  # description + graph
    recalls = []
    for photo_id in ids[::3]:
        approx = [h.id for h in similar_photos(library, photo_id, limit=10)]
        exact = _exact(library, photo_id, 10)
        assert len(approx) == 10 and photo_id not in approx
        recalls.append(len(set(approx) & set(exact)) / 10)
    assert np.mean(recalls) >= 0.98
    assert found == [h.id for h in similar_photos(library, ids[0], limit=10)]
    assert builds == [DIM]  # built once, then kept


def test_scores_are_exact_and_ordered(indexed):
    library, *_ = indexed
    ids = _present_ids(library)
    approx = similar_photos(library, ids[5], limit=10)
    old, ann.EXACT_BELOW = ann.EXACT_BELOW, 10**12
    exact = {h.id: h.score for h in similar_photos(library, ids[5], limit=600)}
    ann.EXACT_BELOW = old
    assert [h.score for h in approx] == sorted((h.score for h in approx), reverse=True)
    assert all(h.score == exact[h.id] for h in approx)


def test_a_new_process_maps_the_kept_index_without_building(indexed):
    library, _rng, _c, builds = indexed
    ids = _present_ids(library)
    first = [h.id for h in similar_photos(library, ids[1], limit=10)]
    _new_process(library)
    assert [h.id for h in similar_photos(library, ids[1], limit=10)] == first
    assert builds == [DIM]


def test_photos_that_arrive_and_leave_update_the_index_in_place(indexed):
    library, rng, centres, builds = indexed
    ids = _present_ids(library)
    similar_photos(library, ids[0], limit=10)
    gone = ids[10:30]
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id.in_(gone)).values(status=PhotoStatus.MISSING))
    X = _vectors(rng, 40, centres)
    X[0] = X[1] * 1.01  # a near copy: each must find the other first
    _add(library, 10_000, X)
    _new_process(library)  # the index is read from disk and updated by the difference
    new_ids = _present_ids(library)[-40:]
    hits = [h.id for h in similar_photos(library, new_ids[0], limit=10)]
    assert builds == [DIM]  # updated, not built again
    assert hits[0] == new_ids[1]
    graph = ann._cache[next(iter(ann._cache))]
    assert len(graph.graph) == 600 - 20 + 40
    assert not set(gone) & set(graph.photo_ids.tolist())
    for photo_id in ids[:10] + new_ids[:5]:
        approx = [h.id for h in similar_photos(library, photo_id, limit=10)]
        assert not set(approx) & set(gone)
    recalls = [len(set(h.id for h in similar_photos(library, p, limit=10))
                   & set(_exact(library, p, 10))) / 10 for p in new_ids]
    assert np.mean(recalls) >= 0.98
    _new_process(library)  # the updated index was kept
    assert [h.id for h in similar_photos(library, new_ids[0], limit=10)][0] == new_ids[1]
    assert builds == [DIM]
    assert len(_files(library)) == 2  # the graph it replaced is gone


def test_a_missing_index_is_built_again(indexed, caplog):
    library, _rng, _c, builds = indexed
    ids = _present_ids(library)
    first = [h.id for h in similar_photos(library, ids[2], limit=10)]
    for path in library.data_dir.glob("ann-*"):
        path.unlink()
    _new_process(library)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ann.__name__):
        assert [h.id for h in similar_photos(library, ids[2], limit=10)] == first
    assert builds == [DIM, DIM]
    assert [r.getMessage() for r in caplog.records if r.name == ann.__name__] == [
        f"No nearest-neighbour index for similar photos in {library.data_dir} yet: it is built."]


@pytest.mark.parametrize("damage", ["graph-garbage", "graph-truncated", "graph-gone",
                                    "description-garbage", "description-other-photos"])
def test_a_damaged_index_is_built_again_with_one_sentence(indexed, caplog, damage):
    library, _rng, _c, builds = indexed
    ids = _present_ids(library)
    first = [h.id for h in similar_photos(library, ids[3], limit=10)]
    graph = next(library.data_dir.glob("ann-*.usearch"))
    meta = next(library.data_dir.glob("ann-*.npz"))
    if damage == "graph-garbage":
        graph.write_bytes(b"\x00garbage" * 1000)
    elif damage == "graph-truncated":
        graph.write_bytes(graph.read_bytes()[:len(graph.read_bytes()) // 2])
    elif damage == "graph-gone":
        graph.unlink()
    elif damage == "description-garbage":
        meta.write_bytes(b"PK\x03\x04 not a zip")
    else:  # the description names photos the graph does not hold
        with np.load(meta) as data:
            kept = {k: data[k] for k in data.files}
        kept["photo_ids"] = kept["photo_ids"] + 5000
        np.savez(meta, **kept)
    _new_process(library)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ann.__name__):
        assert [h.id for h in similar_photos(library, ids[3], limit=10)] == first
    assert builds == [DIM, DIM]
    said = [r.getMessage() for r in caplog.records if r.name == ann.__name__]
    assert len(said) == 1 and "damaged" in said[0] and "built again" in said[0]
    _new_process(library)
    similar_photos(library, ids[3], limit=10)
    assert builds == [DIM, DIM]  # the rebuilt one is whole


def test_small_libraries_are_searched_exactly(library, monkeypatch):
    rng = np.random.default_rng(1)
    _add(library, 0, _vectors(rng, 50, rng.normal(size=(5, DIM))))
    assert ann.EXACT_BELOW > 50
    similar_photos(library, 1, limit=5)
    assert _files(library) == []
    ann.forget(library)
    index_module.forget(library)


def _duplicate_library(library, rng):
    """400 photos of 20 kinds; near copies, exact copies, a burst, and 300 near copies of one
    photo; 5 photos not embedded (two of them exact copies)."""
    from datetime import datetime, timedelta

    centres = rng.normal(size=(20, DIM))
    X = _vectors(rng, 400, centres)
    for k in range(0, 40, 2):
        X[k + 1] = X[k] + 0.01 * rng.normal(size=DIM)  # 20 pairs of near copies
    X[100:400] = X[99] + 0.02 * rng.normal(size=(300, DIM))  # one photo, copied 300 times
    _add(library, 0, X)
    t0 = datetime(2024, 5, 1, 12)
    with library.session() as s:
        photos = s.query(Photo).order_by(Photo.id).all()
        for k in range(60, 66):  # a burst: six shots within seconds, alike but not copies
            photos[k].taken_at = t0 + timedelta(seconds=2 * (k - 60))
        photos[70].content_hash = photos[71].content_hash  # an exact copy (shares its vector)
        for k in range(5):
            s.add(Photo(path=f"/pics/raw/{k}.jpg", content_hash="e" * 63 + str(k // 2 * 2),
                        file_size=1, mtime_ns=0))
        for k in range(40):  # 20 exact copies of photo 0 and 20 of its near copy, photo 1
            s.add(Photo(path=f"/pics/backup/{k}.jpg", content_hash=photos[k % 2].content_hash,
                        file_size=1, mtime_ns=0))
    with library.session() as s:
        rows = s.query(Photo).order_by(Photo.id).all()
    burst = X[60] + 0.3 * rng.normal(size=(6, DIM))
    with library.session() as s:
        for k in range(6):
            s.execute(update(Embedding).where(Embedding.content_hash == rows[60 + k].content_hash)
                      .values(vector=burst[k].astype("<f2").tobytes()))


def test_near_duplicates_through_the_index_find_the_groups_all_pairs_find(library, monkeypatch):
    from photoclust.core.clustering import duplicates

    rng = np.random.default_rng(3)
    _duplicate_library(library, rng)
    monkeypatch.setattr(duplicates, "INDEXED_FROM", 10**9)
    exact, exact_paths = duplicates.library_duplicate_groups(library, burst_threshold=0.6)
    monkeypatch.setattr(duplicates, "INDEXED_FROM", 0)
    monkeypatch.setattr(duplicates, "PAIR_BLOCK", 256)  # several blocks of pairs
    assert _files(library) == []
    indexed, indexed_paths = duplicates.library_duplicate_groups(library, burst_threshold=0.6)
    assert [(g.kind, g.photo_ids) for g in indexed] == [(g.kind, g.photo_ids) for g in exact]
    assert indexed_paths == exact_paths
    kinds = sorted({g.kind for g in exact})
    assert kinds == ["burst", "exact", "near"]
    assert len(exact[0].photo_ids) == 301  # the photo copied 300 times: one group
    assert [g.similarity for g in indexed if g.kind == "exact"] == [1.0] * 3
    assert any(len(g.photo_ids) == 42 and g.kind == "near" for g in exact)
    assert all(g.similarity >= 0.6 for g in indexed)
    assert len(_files(library)) == 2  # through the index
    assert list(library.data_dir.glob("tmp*")) == []  # the scratch file is gone
    ann.forget(library)
    index_module.forget(library)


def test_near_duplicates_hold_the_photos_as_arrays(library):
    """What the indexed search holds of every photo: its id, a code per content hash (equal for
    equal hashes only) and its capture time in seconds as the rows' datetimes give it, not the
    rows themselves."""
    from datetime import datetime

    from photoclust.core.clustering import duplicates

    _duplicate_library(library, np.random.default_rng(3))
    with library.session() as s:
        photo = s.query(Photo).order_by(Photo.id).first()
        photo.taken_at = datetime(2023, 7, 14, 10, 0, 0, 250_000)  # a fraction of a second
        s.query(Photo).filter(Photo.id == photo.id + 1).update({"status": PhotoStatus.MISSING})
    ids, codes, seconds = duplicates._photo_arrays(library)
    with library.session() as s:
        rows = s.query(Photo.id, Photo.content_hash, Photo.taken_at).filter(
            Photo.status == PhotoStatus.PRESENT).order_by(Photo.id).all()
    assert ids.dtype == np.int64 and ids.tolist() == [r[0] for r in rows]
    hashes = np.array([r[1] for r in rows])
    assert np.array_equal(codes[:, None] == codes[None, :], hashes[:, None] == hashes[None, :])
    assert np.array_equal(seconds, duplicates._seconds([r[2] for r in rows], len(rows)),
                          equal_nan=True)
    assert np.isfinite(seconds).sum() == 7 and seconds[0] % 1 == 0.25
    assert [a.tolist() for a in duplicates._exact_links(codes)] == \
        [a.tolist() for a in duplicates._exact_links([r[1] for r in rows])]


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="reads Linux's smaps")
def test_scattered_rows_of_a_mapped_file_do_not_stay_resident(tmp_path, monkeypatch):
    """Rows read from the raw vectors' scratch file are the rows asked for, and the pages mapped
    to read them are given back as it goes (without this, at a million photos, the 2.5 GB file
    stayed counted in the process's memory)."""
    from photoclust.core.clustering import duplicates

    path = tmp_path / "rows.bin"
    rows = np.memmap(path, dtype="<f2", mode="w+", shape=(16_384, 1024))  # 32 MB
    rows[:] = np.arange(16_384, dtype=np.float32)[:, None] % 2048
    duplicates._drop_pages(rows)
    monkeypatch.setattr(duplicates, "DROP_PAGES_EVERY", 2**20)
    wanted = np.sort(np.random.default_rng(0).choice(16_384, 4_000, replace=False))
    got = duplicates._gather(rows, wanted)
    assert np.array_equal(got, np.asarray(rows[wanted]))
    duplicates._drop_pages(rows)
    got = duplicates._gather(rows, wanted)

    def resident_kb() -> int:
        with open("/proc/self/smaps") as f:
            lines = f.read().splitlines()
        for k, line in enumerate(lines):
            if line.endswith(str(path)):
                return next(int(x.split()[1]) for x in lines[k + 1:] if x.startswith("Rss:"))
        return 0

    assert resident_kb() <= 2 * 1024  # of 32 MB, all of whose pages were read
    del rows


def test_similar_in_a_new_process_reads_neither_facts_nor_classes(indexed, monkeypatch):
    library, rng, centres, _builds = indexed
    ids = _present_ids(library)
    first = [h.id for h in similar_photos(library, ids[4], limit=10)]
    _new_process(library)

    def not_needed(*_args):
        raise AssertionError("similar read what only a search by words needs")

    monkeypatch.setattr(index_module, "_build_vectors", not_needed)
    monkeypatch.setattr(index_module, "_read_photos", not_needed)
    hits = similar_photos(library, ids[4], limit=10)
    assert [h.id for h in hits] == first
    assert all(h.path.startswith("/pics/") and h.why == f"looks like p{ids[4] - 1}.jpg"
               for h in hits)
    # Seen at once, without a new process: a photo and two near copies of it arrive, and each
    # copy is among the other's nearest (a small k: an approximate graph need not answer 600).
    v = _vectors(rng, 1, centres)
    _add(library, 20_000, np.concatenate([v, v + 0.01 * rng.normal(size=v.shape),
                                          v + 0.01 * rng.normal(size=v.shape)]))
    new = _present_ids(library)[-3:]
    assert set(new[1:]) <= {h.id for h in similar_photos(library, new[0], limit=5)}


def test_a_read_only_library_keeps_its_index_in_memory_only(indexed, monkeypatch):
    from photoclust.core.library import db, open_library

    library, *_ = indexed
    ids = _present_ids(library)
    monkeypatch.setattr(db, "write_problem", lambda p: f"the file {p} is read-only")
    with open_library(library.path, read_only_ok=True) as reader:
        assert reader.read_only
        hits = [h.id for h in similar_photos(reader, ids[0], limit=10)]
        assert len(hits) == 10 and ids[0] not in hits
        ann.forget(reader)
        index_module.forget(reader)
    assert _files(library) == []


def test_an_index_built_on_another_space_is_built_again(library, monkeypatch, caplog):
    """Vectors wider than the space (here 160 numbers): the space is a PCA, fitted again when the
    library has doubled; every vector moves, so the index is built again."""
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(20, 160))
    _add(library, 0, _vectors(rng, 300, centres), dim=160)
    monkeypatch.setattr(ann, "EXACT_BELOW", 0)
    builds = []
    new_graph = ann._new_graph
    monkeypatch.setattr(ann, "_new_graph", lambda dim: builds.append(dim) or new_graph(dim))
    similar_photos(library, 1, limit=10)
    _add(library, 50_000, _vectors(rng, 400, centres), dim=160)  # more than doubles
    _new_process(library)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ann.__name__):
        approx = [h.id for h in similar_photos(library, 1, limit=10)]
    assert len(builds) == 2
    said = [r.getMessage() for r in caplog.records if r.name == ann.__name__]
    assert said == [f"The nearest-neighbour index in {library.data_dir} was built on another "
                    "space; it is built again."]
    assert len(set(approx) & set(_exact(library, 1, 10))) >= 9
    _new_process(library)
