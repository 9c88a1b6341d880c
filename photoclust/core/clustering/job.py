"""``ClusterJob``: load a library's embeddings, cluster them, name the clusters, store the run.

Stages, each a cancel point: load vectors (one query), preprocess (L2, PCA 128, L2), then

- a library without clusters is clustered: choose k unless given, cluster, suggest names from the
  photos' ImageNet classes, and hand the labels to ``identity.apply_clustering``;
- a library with clusters only gets its new photos placed (``placement``: into the clusters they
  fit, by the learner's centres once the user has corrected, else the clusters' own; groups of new
  photos that fit none found new clusters). No photo that has a cluster moves; the placements are
  one run (method ``place``) whose id their assignments carry;
- ``fresh=True`` re-clusters everything like the first time, keeping cluster ids, user names and
  user-placed photos (``apply_clustering``), as one undoable edit (kind ``recluster``).

Confidences are ``clustering.calibration``'s: the probability of being in the right cluster.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select

from photoclust.core.clustering import check_k, check_method, space, unique_name
from photoclust.core.clustering.algorithms import cluster_embeddings
from photoclust.core.clustering.calibration import calibrated_confidences
from photoclust.core.clustering.contrastive import adapt_embeddings
from photoclust.core.clustering.duplicates import near_threshold
from photoclust.core.clustering.identity import (
    apply_clustering,
    apply_clustering_as_edit,
    place_photos,
)
from photoclust.core.clustering.naming import suggest_names
from photoclust.core.clustering.placement import copy_groups, place_new_photos
from photoclust.core.clustering.preprocess import (
    PCA_FIT_SAMPLE,
    EmbeddingPreprocessor,
    project_rows,
)
from photoclust.core.edits.history import cluster_moves
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.embedding.store import (
    embedded_photo_rows,
    iter_embeddings,
    library_model,
    load_embeddings,
    load_top_classes,
)
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import Library, raw_cursor
from photoclust.core.library.models import (
    Assignment,
    CannotLink,
    Cluster,
    Embedding,
    Photo,
    PhotoStatus,
    Source,
)
from photoclust.core.library.queries import list_clusters


@dataclass
class ClusterResult:
    run_id: int
    model: str
    method: str
    k: int
    k_auto: bool
    n: int
    seconds: float
    # The library's active clusters after the run, {"id", "name", "size"}, largest first.
    clusters: list[dict] = field(default_factory=list)
    photo_ids: np.ndarray | None = None
    labels: np.ndarray | None = None
    #: ``first`` (a library without clusters), ``place`` (new photos placed, nobody moved) or
    #: ``fresh`` (everything re-clustered, one undoable edit: ``event_id``).
    mode: str = "first"
    new_photos: int = 0
    placed: int = 0
    founded_cluster_ids: list[int] = field(default_factory=list)
    event_id: int | None = None
    #: New photos that another Organize running at the same time (or the user) placed while this
    #: run was computing: counted in ``new_photos``, not in ``placed``.
    placed_elsewhere: int = 0

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "k": self.k, "k_auto": self.k_auto, "method": self.method,
                "model": self.model, "n": self.n, "seconds": round(self.seconds, 2),
                "clusters": self.clusters, "mode": self.mode, "new_photos": self.new_photos,
                "placed": self.placed, "founded_cluster_ids": self.founded_cluster_ids,
                "event_id": self.event_id, "placed_elsewhere": self.placed_elsewhere}


class ClusterJob(Job[ClusterResult]):
    """Cluster the embedded present photos of ``library``: all of them the first time (or with
    ``fresh=True``), else only the new ones (see the module docstring; ``k``, ``method`` and
    ``adapt`` then apply to nothing but a fresh or first clustering).

    ``method``: ``kmeans`` (default; measured best or equal on every labelled set),
    ``agglomerative`` (Ward), ``hdbscan`` (finds k itself, ``k`` must be ``"auto"``) or ``scan``
    (K-means k, then a SCAN head trained on the neighbour graph). ``adapt``: first adapt the
    embeddings to the library by contrastive training on augmented views (slow: two extra model
    passes per photo; see ``contrastive``).
    """

    title = "Clustering photos"

    def __init__(self, library: Library, model: str | None = None, k: int | str = "auto",
                 method: str = "kmeans", n_components: int = 128, adapt: bool = False,
                 random_state: int = 0, fresh: bool = False):
        self.library = library
        self.model = model or library_model(library)
        self.k = k
        self.method = method
        self.n_components = n_components
        self.adapt = adapt
        self.random_state = random_state
        self.fresh = fresh

    def prepare(self) -> None:
        check_method(self.method)
        self.k = check_k(self.k)
        if self.method == "hdbscan" and self.k != "auto":
            raise JobError("hdbscan finds the number of clusters itself; use --k auto")
        if self.method == "scan":  # trains a head with torch (the packaged app has none)
            from photoclust.core.embedding.backbones import require_torch

            require_torch("The scan clustering method")
        with self.library.session() as s:
            count = s.scalar(select(func.count()).select_from(Photo).join(
                Embedding, (Embedding.content_hash == Photo.content_hash)
                & (Embedding.model == self.model)
                & (Embedding.preprocess_version == PREPROCESS_VERSION))
                .where(Photo.status == PhotoStatus.PRESENT))
        if not count:
            raise JobError(f"no photo has an embedding under model {self.model!r} yet; "
                           "run `photoclust embed` first")

    def run(self, ctx: JobContext) -> ClusterResult:
        started = time.monotonic()
        ctx.report(0, 0, "loading embeddings")
        photo_ids, embedding_rows = embedded_photo_rows(self.library, self.model)
        if len(photo_ids) == 0:
            raise JobError(f"no photo has an embedding under model {self.model!r}")
        ctx.raise_if_cancelled()
        current, user, removed = self._placements(photo_ids)
        incremental = not self.fresh and bool(np.any(current >= 0))
        preprocessor = EmbeddingPreprocessor(self.n_components, random_state=self.random_state)
        if self.adapt and not incremental:
            photo_ids, X = load_embeddings(self.library, self.model)
            current, user, removed = self._placements(photo_ids)
            X = adapt_embeddings(self.library, self.model, photo_ids, X,
                                 random_state=self.random_state, ctx=ctx)
            ctx.report(0, 0, "preprocessing")
            Z = preprocessor.fit_transform(X)
            X_unplaced = X[current < 0]
            del X
            kept_space = None  # an adapted space is not what the next placement projects
        else:
            # every embedding read once, a block at a time, projected as it comes: memory is
            # the projected space (128 numbers a photo) and the raw vectors of unplaced photos
            ctx.report(0, 0, "preprocessing")
            # (only placing needs those, for the copies among the new photos)
            keep_raw = (current < 0) if incremental else np.zeros(len(photo_ids), dtype=bool)
            # a large library places new photos in the space kept from its last run: only the
            # photos not in it are read (``space``)
            previous = (space.load(self.library, self.model, self.n_components)
                        if incremental and len(photo_ids) >= space.KEEP_FROM else None)
            rows = None if previous is None else previous.usable_for(photo_ids, embedding_rows)
            if previous is not None and rows is not None:
                kept, Z, X_unplaced = space.project_with(self.library, self.model, previous,
                                                         rows, photo_ids, keep_raw, ctx)
                basis: tuple[np.ndarray, np.ndarray] | None = (previous.components,
                                                               previous.shift)
                fit_n = previous.fit_n
                previous = None  # unmapped: its rows are copied (0.5 GB at a million photos)
            else:
                kept, Z, X_unplaced = project_embeddings(self.library, self.model,
                                                         preprocessor, photo_ids, keep_raw, ctx)
                basis = (preprocessor.basis() if getattr(preprocessor, "pca_", None) is not None
                         else None)
                fit_n = len(photo_ids)
            photo_ids, embedding_rows, current, user, removed = (
                photo_ids[kept], embedding_rows[kept], current[kept], user[kept], removed[kept])
            kept_space = None if basis is None else space.KeptSpace(
                photo_ids, embedding_rows, Z, basis[0], basis[1], fit_n)
        if len(photo_ids) == 0:
            raise JobError(f"no photo has an embedding under model {self.model!r}")
        ctx.raise_if_cancelled()
        if incremental:
            result = self._place_new(ctx, photo_ids, X_unplaced, Z, current, user, removed)
        else:
            result = self._cluster_all(ctx, photo_ids, Z, fresh=bool(np.any(current >= 0)))
        if kept_space is not None:
            space.save(self.library, self.model, kept_space)
        else:
            space.forget(self.library, self.model)
        result.seconds = time.monotonic() - started
        result.clusters = [{"id": c.id, "name": c.name, "size": c.size}
                           for c in list_clusters(self.library)]
        ctx.report(1, 1, f"{len(result.clusters)} clusters")
        return result

    def _placements(self, photo_ids: np.ndarray):
        """Per photo: its active cluster (-1: none), the cluster the user put it in (-1), and
        whether the user took it out of a cluster (such a photo is not placed again)."""
        n = len(photo_ids)
        current = np.full(n, -1, dtype=np.int64)
        user = np.full(n, -1, dtype=np.int64)
        removed = np.zeros(n, dtype=bool)
        if n == 0:
            return current, user, removed

        def rows_of(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """The rows of ``photo_ids`` (sorted) holding ``ids``, and which ids have one."""
            at = np.minimum(np.searchsorted(photo_ids, ids), n - 1)
            return at, photo_ids[at] == ids

        with self.library.session() as s:  # sqlite3's own rows: a million in seconds
            placed = raw_cursor(s, select(Assignment.photo_id, Assignment.cluster_id,
                                          Assignment.source == Source.USER)
                                .join(Cluster, Cluster.id == Assignment.cluster_id)
                                .where(Cluster.active.is_(True))).fetchall()
            taken_out = np.fromiter((r[0] for r in raw_cursor(
                s, select(CannotLink.photo_id).distinct())), dtype=np.int64)
        if placed:
            pid, cid, by_user = np.array(placed, dtype=np.int64).T
            at, ok = rows_of(pid)
            current[at[ok]] = cid[ok]
            mine = ok & (by_user == 1)
            user[at[mine]] = cid[mine]
        at, ok = rows_of(taken_out)
        removed[at[ok]] = True
        return current, user, removed

    def _cluster_all(self, ctx: JobContext, photo_ids: np.ndarray, Z: np.ndarray,
                     fresh: bool) -> ClusterResult:
        k_auto = self.k == "auto"
        labels, _margin, scores = cluster_embeddings(Z, self.k, self.method,
                                                     self.random_state, ctx)
        k = len(np.unique(labels[labels >= 0]))
        confidence = calibrated_confidences(Z, labels, model=self.model)
        ctx.raise_if_cancelled()
        ctx.report(0, 0, "naming clusters")
        names = suggest_names(labels, photo_ids,
                              load_top_classes(self.library, self.model, photo_ids))
        params = {"k": "auto" if k_auto else self.k, "n_components": self.n_components,
                  "adapt": self.adapt,
                  "random_state": self.random_state, "n": len(photo_ids)}
        args = (self.model, self.method, photo_ids, labels)
        kwargs = dict(confidences=confidence, suggested_names=names, params=params,
                      label_scores=scores)
        event_id = None
        if fresh:
            def describe(s, changes):
                moves = cluster_moves(changes)
                moved = sum(m["photos"] for m in moves)
                return (f"Re-clustered everything: {moved} photo{'' if moved == 1 else 's'} "
                        f"changed cluster", {"moves": moves, "k": params["k"],
                                             "method": self.method})

            run_id, edit = apply_clustering_as_edit(self.library, "recluster", describe,
                                                    *args, **kwargs)
            event_id = edit.event_id
        else:
            run_id = apply_clustering(self.library, *args, **kwargs)
        return ClusterResult(run_id=run_id, model=self.model, method=self.method, k=k,
                             k_auto=k_auto, n=len(photo_ids), seconds=0.0, photo_ids=photo_ids,
                             labels=labels, mode="fresh" if fresh else "first",
                             new_photos=len(photo_ids), placed=len(photo_ids),
                             event_id=event_id)

    def _place_new(self, ctx: JobContext, photo_ids: np.ndarray, X_unplaced: np.ndarray,
                   Z: np.ndarray, current: np.ndarray, user: np.ndarray,
                   removed: np.ndarray) -> ClusterResult:
        """``X_unplaced``: the raw embeddings of the photos in no cluster (``current < 0``), in
        order."""
        old = current >= 0
        new = ~old & ~removed
        ctx.report(0, 0, f"placing {int(new.sum())} new photos")
        clusters = np.zeros(0, dtype=np.int64)
        groups = np.zeros(0, dtype=np.int64)
        confidence = None
        names: dict[int, str] = {}
        outliers = 0
        if new.any():
            copies = copy_groups(X_unplaced[~removed[~old]], near_threshold(self.model))
            placement = place_new_photos(Z, current, user, new, self.random_state, ctx, copies)
            clusters, groups, outliers = placement.cluster, placement.group, placement.outliers
            labels = current.copy()
            labels[new] = np.where(clusters >= 0, clusters,
                                   int(current.max()) + 1 + groups)
            confidence = calibrated_confidences(Z, labels, user, self.model,
                                               rows=np.flatnonzero(new))
            names = self._group_names(photo_ids[new], groups, placement.n_groups)
        ctx.raise_if_cancelled()
        params = {"new_photos": int(new.sum()), "outliers": outliers,
                  "n_components": self.n_components, "random_state": self.random_state,
                  "n": len(photo_ids)}
        run_id, founded, placed = place_photos(self.library, self.model, photo_ids[new], clusters,
                                               groups, confidence, names, params)
        placed_set = set(placed)
        return ClusterResult(run_id=run_id, model=self.model, method="place",
                             k=len(np.unique(current[old])) + len(founded), k_auto=True,
                             n=len(photo_ids), seconds=0.0, photo_ids=photo_ids, labels=None,
                             mode="place", new_photos=int(new.sum()), placed=len(placed_set),
                             founded_cluster_ids=founded,
                             placed_elsewhere=self._placed_meanwhile(
                                 [p for p in photo_ids[new].tolist() if p not in placed_set]))

    def _placed_meanwhile(self, photo_ids: list[int]) -> int:
        """How many of the new photos this run did not place are in a cluster now: another
        Organize (or the user) placed them while this one was computing."""
        count = 0
        with self.library.session() as s:
            for part in chunks(photo_ids):
                count += s.scalar(select(func.count()).select_from(Assignment)
                                  .where(Assignment.photo_id.in_(part))) or 0
        return count

    def _group_names(self, new_ids: np.ndarray, groups: np.ndarray, n_groups: int) -> dict:
        """Names for the new clusters from their photos (``naming``), none repeating a name in
        use."""
        if n_groups == 0:
            return {}
        with self.library.session() as s:
            taken = set(s.scalars(select(Cluster.name).where(Cluster.active.is_(True))))
        founding = groups >= 0
        top = load_top_classes(self.library, self.model, new_ids[founding].tolist())
        names = {}
        for g, name in suggest_names(groups[founding], new_ids[founding], top).items():
            names[g] = unique_name(name, taken)
            taken.add(names[g])
        return names



# --- Streaming the embeddings (issue 26, a million photos) ---------------------------------------

def project_embeddings(library: Library, model: str, preprocessor: EmbeddingPreprocessor,
                       photo_ids: np.ndarray, keep_raw: np.ndarray, ctx: JobContext | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``preprocessor`` and project the embeddings of ``photo_ids`` (id order) without holding
    them all: the PCA is fitted on the rows ``fit_transform`` would sample (read by id), then every
    embedding is read once, a block at a time, and projected. Returns ``(kept, Z, X_raw)``:
    ``kept`` marks the photos still embedded when read (a photo removed meanwhile is left out),
    ``Z`` their projections, ``X_raw`` the float16 vectors of the kept photos ``keep_raw`` marks,
    in order. The same projections as ``preprocessor.fit_transform(load_embeddings(...))``; at a
    million photos of 1,280 numbers, 0.5 GB instead of 5.1 GB of float32 (and its copies)."""
    n = len(photo_ids)
    rows = np.arange(n)
    if n > PCA_FIT_SAMPLE:  # the rows EmbeddingPreprocessor.fit samples, in its order
        rows = np.random.default_rng(preprocessor.random_state).choice(n, PCA_FIT_SAMPLE,
                                                                      replace=False)
    sample: dict[int, np.ndarray] = {}
    for ids, block in iter_embeddings(library, model, photo_ids[rows].tolist()):
        sample.update(zip(ids.tolist(), block))
    picked = [sample[i] for i in photo_ids[rows].tolist() if i in sample]
    if not picked:
        return np.zeros(n, dtype=bool), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float16)
    preprocessor.fit(np.stack(picked))
    del sample, picked
    if ctx is not None:
        ctx.raise_if_cancelled()
    seen = np.zeros(n, dtype=bool)
    keep_raw = np.asarray(keep_raw, dtype=bool)
    slot = np.cumsum(keep_raw) - 1
    # ``transform``'s own arithmetic without scikit-learn's checks of every block (profiled:
    # 17 of 116 s reading and projecting a million photos, under load); the one that matters,
    # a vector that is not finite, is kept
    basis = preprocessor.basis() if getattr(preprocessor, "pca_", None) is not None else None
    Z: np.ndarray | None = None
    X_raw: np.ndarray | None = None
    for ids, block in iter_embeddings(library, model):
        at = np.minimum(np.searchsorted(photo_ids, ids), n - 1)
        known = photo_ids[at] == ids  # a photo embedded since photo_ids was read is left out
        at, block = at[known], block[known]
        if not at.size:
            continue
        if basis is None:
            projected = preprocessor.transform(block)
        elif not np.isfinite(block).all():
            raise ValueError(f"Input contains NaN or infinity (an embedding of photo "
                             f"{int(ids[known][~np.isfinite(block).all(axis=1)][0])}).")
        else:
            projected = project_rows(block, *basis)
        if Z is None:
            Z = np.zeros((n, projected.shape[1]), dtype=np.float32)
            X_raw = np.zeros((int(keep_raw.sum()), block.shape[1]), dtype=np.float16)
        Z[at] = projected
        raw = keep_raw[at]
        assert X_raw is not None
        X_raw[slot[at[raw]]] = block[raw]
        seen[at] = True
        if ctx is not None:
            ctx.raise_if_cancelled()
    if Z is None or X_raw is None:
        return seen, np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float16)
    if seen.all():
        return seen, Z, X_raw
    return seen, Z[seen], X_raw[seen[keep_raw]]
