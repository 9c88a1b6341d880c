"""The headless main job: index folders and embed what is new at the same time, then cluster.

Indexing runs in its own thread while this one loads the model and then embeds the photos that
indexing has committed, batch after batch: the library is the queue between the two (new photo
rows are picked up by id as each indexing batch commits), so memory stays bounded whatever the
number of photos, and both stages still commit batch by batch. An interrupted ``organize``
resumes where it stopped: indexing skips unchanged files, embedding skips embedded contents, and
clustering (one call at the end) reruns over whatever is embedded. See docs/performance.md.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

from photoclust.core.clustering import check_k, check_method
from photoclust.core.clustering.job import ClusterJob, ClusterResult
from photoclust.core.embedding.engine import EmbedItem, EmbedJob, EmbedResult, in_batches
from photoclust.core.embedding.store import library_model
from photoclust.core.events.job import EventsJob, EventsResult
from photoclust.core.faces.detect import FaceModelError
from photoclust.core.faces.job import FacesJob, FacesResult
from photoclust.core.jobs import (
    Cancelled,
    Job,
    JobContext,
    JobError,
    Progress,
    ProgressListener,
)
from photoclust.core.library.db import Library
from photoclust.core.library.queries import count_present_photos
from photoclust.core.library.scan import ScanJob, ScanResult, has_any_photo, printable_path

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""Longest wait for the next indexing batch before looking for new photos anyway."""

PREPARING_MODEL = "Preparing the model (once, about half a minute)…"
"""Said (stage ``prepare``) while the model is built for ONNX Runtime on the first run."""


class StageContext(JobContext):
    """A stage's view of the parent context: progress with its ``stage`` filled in, handed to
    the parent (or to ``on_report``), shared cancel, and a private stop for when the other stage
    failed."""

    def __init__(self, parent: JobContext, stage: str,
                 on_report: ProgressListener | None = None):
        super().__init__()
        self.stage = stage
        self._forward = on_report or parent.update
        self._parent = parent
        self._stopped = threading.Event()

    def update(self, progress: Progress) -> None:
        self.progress = replace(progress, stage=self.stage)
        self._forward(self.progress)

    def cancel(self) -> None:
        self._parent.cancel()

    def stop(self) -> None:
        self._stopped.set()

    @property
    def cancelled(self) -> bool:
        return self._parent.cancelled or self._stopped.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled()


@dataclass
class OrganizeResult:
    index: ScanResult
    embed: EmbedResult
    cluster: ClusterResult
    #: The faces stage (``None`` when the library's ``faces`` setting is off).
    faces: FacesResult | None = None
    events: EventsResult | None = None

    def to_json(self) -> dict:
        return {"index": self.index.to_json(), "embed": self.embed.to_json(),
                "cluster": self.cluster.to_json(),
                "faces": None if self.faces is None else self.faces.to_json(),
                **({"events": self.events.to_json()} if self.events is not None else {})}


class _Indexing:
    """The scan in a thread of its own; the calling thread reads its progress and outcome."""

    def __init__(self, scan_job: ScanJob, parent: JobContext):
        self.committed = threading.Event()  # set after every indexing batch and at the end
        self.finished = threading.Event()
        self.progress = Progress(0, 0, stage="index")
        self.embedded = 0  # photos embedded so far, shown with indexing's progress
        self.result: ScanResult | None = None
        self.error: BaseException | None = None
        self.ctx = StageContext(parent, "index", on_report=self._on_report)
        self._thread = threading.Thread(target=self._run, args=(scan_job,),
                                        name="photoclust-index", daemon=True)

    def _on_report(self, progress: Progress) -> None:
        self.progress = progress
        self.committed.set()

    def _run(self, scan_job: ScanJob) -> None:
        try:
            self.result = scan_job.run(self.ctx)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            self.error = exc
        finally:
            self.finished.set()
            self.committed.set()

    def start(self) -> None:
        self._thread.start()

    def stop_and_wait(self) -> None:
        self.ctx.stop()
        self._thread.join()

    def outcome(self) -> ScanResult:
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class OrganizeJob(Job[OrganizeResult]):
    """Index ``folders`` while embedding new photos with ``model``, then cluster (``k``,
    ``method``)."""

    title = "Organizing photos"

    def __init__(self, library: Library, folders: Sequence[str | os.PathLike],
                 model: str | None = None, k: int | str = "auto", method: str = "kmeans",
                 device: str = "auto", batch_size: int | None = None,
                 weights: str | Path | None = None, runtime: str | None = None,
                 random_state: int = 0, faces: bool | None = None):
        self.library = library
        #: Find faces after clustering: ``None`` follows the library's ``faces`` setting.
        self.faces = faces
        model = model or library_model(library)
        self.scan_job = ScanJob(library, folders)
        self.embed_job = EmbedJob(library, model=model, device=device, batch_size=batch_size,
                                  weights=weights, runtime=runtime)
        self.cluster_job = ClusterJob(library, model=model, k=k, method=method,
                                      random_state=random_state)

    def prepare(self) -> None:
        """Unreadable folders, an unknown model or device, a missing weights file and a bad k or
        method fail here, before anything is done. The model itself loads while indexing runs."""
        check_method(self.cluster_job.method)
        check_k(self.cluster_job.k)
        self.scan_job.prepare()
        self.embed_job.check()

    def run(self, ctx: JobContext) -> OrganizeResult:
        if not self._any_photo():
            raise JobError(self._no_photos_sentence())  # before the model is loaded for nothing
        indexing = _Indexing(self.scan_job, ctx)
        started = time.monotonic()
        indexing.start()
        try:
            if self.embed_job.needs_building():
                ctx.report(0, 0, PREPARING_MODEL, stage="prepare")
            self.embed_job.load()  # while the first photos are being indexed
            embedded = self._embed_while_indexing(ctx, indexing)
        finally:
            indexing.stop_and_wait()  # at once if embedding failed; else indexing is over
        scanned = indexing.outcome()
        ctx.raise_if_cancelled()
        _, with_vector, _ = self.embed_job.select_work()
        embedded.already = max(0, with_vector - embedded.embedded)
        embedded.seconds = time.monotonic() - started
        log.info("indexed and embedded in %.1f s: %d embedded with %s on %s", embedded.seconds,
                 embedded.embedded, embedded.model, embedded.device)
        if not with_vector:
            raise JobError(self._no_photos_sentence(scanned))
        self.cluster_job.prepare()  # needs the embeddings, so only now
        clustered = self.cluster_job.run(StageContext(ctx, "cluster"))
        faces = self._find_faces(ctx)
        events = EventsJob(self.library).run(StageContext(ctx, "events"))
        return OrganizeResult(scanned, embedded, clustered, faces, events)

    def _find_faces(self, ctx: JobContext) -> FacesResult | None:
        """The faces stage (docs/people.md). A face model missing or damaged is one sentence in
        the result: the rest of Organize is done and kept."""
        enabled = self.faces
        if enabled is None:
            from photoclust.core.organize.settings import load_settings

            enabled = load_settings(self.library).faces
        if not enabled:
            return None
        job = FacesJob(self.library)
        try:
            job.finder.check()
            return job.run(StageContext(ctx, "faces"))
        except FaceModelError as exc:
            log.warning("faces not searched: %s", exc)
            return FacesResult(error=str(exc))

    def _embed_while_indexing(self, ctx: JobContext, indexing: _Indexing) -> EmbedResult:
        queued: list[int] = [0]  # photos (paths) handed to the model so far
        seen: set[str] = set()  # contents handed to the model so far
        final: list[int | None] = [None]  # the photos to look at, once indexing has ended

        def total() -> int:
            """Photos queued so far while indexing runs; once it has ended, all there are to
            look at, counted once (the queue fills lazily: "16 of 32" then "40 of 150")."""
            if not indexing.finished.is_set():
                return queued[0]
            if final[0] is None:
                items, _, _ = self.embed_job.select_work()
                final[0] = queued[0] + sum(len(item.paths) for item in items
                                           if item.content_hash not in seen)
            return max(final[0] or 0, queued[0])

        def report(progress: Progress) -> None:
            indexing.embedded = progress.done
            if indexing.finished.is_set():
                ctx.update(replace(progress, total=total()))
            else:
                self._report_indexing(ctx, indexing, queued[0])

        embed_ctx = StageContext(ctx, "embed", on_report=report)
        work = self._work_as_indexed(ctx, indexing, queued, seen)
        return self.embed_job.embed(embed_ctx, work, total)

    @staticmethod
    def _report_indexing(ctx: JobContext, indexing: _Indexing, queued: int) -> None:
        """Indexing's progress (from this thread: contexts need not be thread-safe), with the
        photos embedded so far "of" those there will be to look at: the photos queued so far
        and the files not read yet (each may be a new photo), so the count the app shows does
        not jump from the folders' files to the photos to look at when indexing ends."""
        progress = indexing.progress
        to_look_at = max(indexing.embedded, queued + max(0, progress.total - progress.done))
        ctx.report(progress.done, progress.total,
                   os.path.basename(progress.message),  # the file's name, as embed says it
                   stage="index", embedded=indexing.embedded,
                   embedded_total=to_look_at if indexing.embedded else None)

    def _work_as_indexed(self, ctx: JobContext, indexing: _Indexing, queued: list[int],
                         seen: set[str]) -> Iterator[list[EmbedItem]]:
        """Batches of photos to embed as indexing commits them, then whatever else lacks a
        vector (photos present before, moved or changed ones). Raises what indexing raised.
        ``queued`` and ``seen`` grow with the photos and contents handed out."""
        job = self.embed_job
        assert job.plan is not None  # chosen by check(), before run
        size = job.plan.batch_size
        pending: list[EmbedItem] = []

        def take(items: list[EmbedItem]) -> None:
            for item in items:
                if item.content_hash not in seen:
                    seen.add(item.content_hash)
                    pending.append(item)
                    queued[0] += len(item.paths)

        last_id = 0
        while not ctx.cancelled:
            finished = indexing.finished.is_set()  # before the query, so nothing is missed
            indexing.committed.clear()
            items, _, last_id = job.select_work(after_id=last_id)
            take(items)
            while len(pending) >= size:
                yield pending[:size]
                del pending[:size]
            if finished:
                break
            yield []  # nothing more for now: the model catches up with what is queued
            if not indexing.finished.is_set():  # else the embed stage says it from now on
                self._report_indexing(ctx, indexing, queued[0])
            indexing.committed.wait(POLL_SECONDS)
        if indexing.error is not None:
            if isinstance(indexing.error, Cancelled):
                return
            raise indexing.error
        if ctx.cancelled:
            return
        items, _, _ = job.select_work()
        take(items)
        yield from in_batches(pending, size)

    # -- an empty folder: one plain sentence ------------------------------------------------------

    def _any_photo(self) -> bool:
        """A photo in the library already, or a file named like one in the folders (the walk
        stops at the first)."""
        return count_present_photos(self.library) > 0 or any(
            has_any_photo(folder) for folder in self.scan_job.folders)

    def _no_photos_sentence(self, scanned: ScanResult | None = None) -> str:
        """"No photos found in FOLDER." (and how many files were not photos it could read)."""
        folders = ", ".join(printable_path(f) for f in self.scan_job.folders)
        unreadable = len(scanned.skipped) if scanned is not None else 0
        if unreadable:
            return (f"No photos found in {folders} ({unreadable:,} "
                    f"file{'s' if unreadable != 1 else ''} could not be read as photos).")
        return f"No photos found in {folders}."
