"""Random sequences of edits, undos and redos against a simple in-memory model of the library."""
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _edit_fixtures import add_photos, check_invariants, snapshot
from photoclust.core.clustering import editing
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.library import Library, open_library

N_PHOTOS = 8

photo_sets = st.sets(st.integers(0, N_PHOTOS - 1), min_size=1, max_size=4)
cluster_picks = st.integers(0, 10)
operations = st.one_of(
    st.tuples(st.just("rename"), cluster_picks, st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("move"), photo_sets, cluster_picks),
    st.tuples(st.just("merge"), cluster_picks, cluster_picks),
    st.tuples(st.just("new"), photo_sets, st.sampled_from([None, "n"])),
    st.tuples(st.just("remove"), photo_sets),
    st.tuples(st.just("confirm"), photo_sets),
    st.tuples(st.just("undo")),
    st.tuples(st.just("redo")),
)


def _expected_after(state: dict, op: tuple, ids: list[int], active: list[int], created) -> dict:
    """What the edit should do, computed on the snapshot alone."""
    clusters = dict(state["clusters"])
    assignments = dict(state["assignments"])
    links = set(state["cannot_links"])
    kind = op[0]

    def place(pids, target):
        for pid in pids:
            old = assignments.get(pid)
            if old is not None and old[0] != target:
                links.add((pid, old[0]))
            links.discard((pid, target))
            assignments[pid] = (target, "user")

    if kind == "rename":
        clusters[active[op[1] % len(active)]] = (op[2], "user")
    elif kind == "move":
        place([ids[i] for i in op[1]], active[op[2] % len(active)])
    elif kind == "merge":
        target, source = active[op[1] % len(active)], active[op[2] % len(active)]
        for pid, (cid, _) in list(assignments.items()):
            if cid == source:
                assignments[pid] = (target, "user")
                links.discard((pid, target))
        if clusters[target][1] == "auto" and clusters[source][1] == "user":
            clusters[target] = clusters[source]  # the user's name wins over a suggested one
        del clusters[source]
    elif kind == "new":
        (new,) = created
        clusters[new] = (op[2], "user") if op[2] else (f"Cluster {new}", "auto")
        place([ids[i] for i in op[1]], new)
    elif kind == "remove":
        for pid in (ids[i] for i in op[1]):
            old = assignments.pop(pid, None)
            if old is not None:
                links.add((pid, old[0]))
    elif kind == "confirm":
        for pid in (ids[i] for i in op[1]):
            if pid in assignments:
                assignments[pid] = (assignments[pid][0], "user")
    return {"clusters": clusters, "assignments": assignments, "cannot_links": links}


@contextmanager
def clustered_library() -> Iterator[tuple[Library, list[int]]]:
    """A new library in a temporary folder (one per Hypothesis example: a fixture would be
    shared by all) with ``N_PHOTOS`` photos clustered in three: ``(library, photo ids)``."""
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        try:
            ids = add_photos(library, N_PHOTOS)
            apply_clustering(library, "m", "kmeans", ids, np.arange(N_PHOTOS) % 3)
            yield library, ids
        finally:
            library.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=1, max_size=14))
def test_random_edits_match_model_and_undo_redo_restore_exact_states(ops):
    with clustered_library() as (library, ids):
        history = [snapshot(library)]  # states reachable by undo/redo
        position = 0
        for op in ops:
            state = history[position]
            active = sorted(state["clusters"])
            if op[0] == "undo":
                result = editing.undo(library)
                assert (result is None) == (position == 0)
                position = max(0, position - 1)
            elif op[0] == "redo":
                result = editing.redo(library)
                assert (result is None) == (position == len(history) - 1)
                position = min(len(history) - 1, position + 1)
            else:
                if op[0] == "merge" and active[op[1] % len(active)] == \
                        active[op[2] % len(active)]:
                    continue
                result = _run(library, op, ids, active)
                expected = _expected_after(state, op, ids, active, result.created_cluster_ids)
                assert snapshot(library) == expected
                if result.event_id is not None:
                    history = history[:position + 1] + [expected]
                    position += 1
            assert snapshot(library) == history[position]
            check_invariants(library)


def _run(library, op, ids, active):
    kind = op[0]
    if kind == "rename":
        return editing.rename_cluster(library, active[op[1] % len(active)], op[2])
    if kind == "move":
        return editing.move_photos(library, [ids[i] for i in op[1]], active[op[2] % len(active)])
    if kind == "merge":
        return editing.merge_clusters(library, active[op[1] % len(active)],
                                      [active[op[2] % len(active)]])
    if kind == "new":
        return editing.new_cluster_from_photos(library, [ids[i] for i in op[1]], name=op[2])
    if kind == "remove":
        return editing.remove_photos_from_cluster(library, [ids[i] for i in op[1]])
    return editing.confirm_photos(library, [ids[i] for i in op[1]])


recluster = st.tuples(st.just("recluster"),
                      st.lists(st.integers(-1, 3), min_size=N_PHOTOS, max_size=N_PHOTOS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(operations, recluster), min_size=1, max_size=14))
def test_edits_mixed_with_reclustering_keep_invariants_and_user_labels(ops):
    with clustered_library() as (library, ids):
        for op in ops:
            state = snapshot(library)
            active = sorted(state["clusters"])
            if op[0] == "recluster":
                apply_clustering(library, "m", "kmeans", ids, op[1])
                after = snapshot(library)
                user = {pid: a for pid, a in state["assignments"].items() if a[1] == "user"}
                assert {pid: after["assignments"].get(pid) for pid in user} == user
                assert {c: after["clusters"][c] for c in state["clusters"]
                        if c in after["clusters"]} == {
                    c: name for c, name in state["clusters"].items()
                    if c in after["clusters"]}
            elif op[0] == "undo":
                editing.undo(library)
            elif op[0] == "redo":
                editing.redo(library)
            elif active and not (op[0] == "merge" and active[op[1] % len(active)]
                                 == active[op[2] % len(active)]):
                _run(library, op, ids, active)
            check_invariants(library)
