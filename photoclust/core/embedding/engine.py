"""Embedding the library's photos: decoding in worker threads overlapped with batched inference.

Three lanes (as in the design notes): decoding workers turn photos into 224 x 224 crops, the
calling thread runs the model batch after batch, and writes each batch's vectors in one committed
transaction. Decoding runs at most ``PREFETCH_BATCHES`` batches ahead, so memory stays bounded
whatever the library size.

Work is chosen by content: a present photo needs embedding only when no vector exists for its
``(content_hash, model, preprocess_version)``. Duplicates and moved photos therefore never cost a
second inference, and a cancelled or killed run resumes by itself: what was committed is not
selected again, and a batch is either stored whole or not at all.

The model input is `imaging.load_model_input`: the cached thumbnail (shorter side 256, written
by indexing) when present, else the original decoded with JPEG draft scaling.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from photoclust.core.embedding.backbones import (
    PREPROCESS_VERSION,
    EmbeddingError,
    ModelRunner,
    load_torch_backbone,
    model_spec,
    softmax,
)
from photoclust.core.embedding.devices import DevicePlan, plan_for
from photoclust.core.embedding.onnx_runtime import (
    RuntimeUnavailable,
    is_cached,
    load_onnx_model,
)
from photoclust.core.embedding.store import library_model
from photoclust.core.imaging import ImageError, load_model_input
from photoclust.core.jobs import Job, JobContext
from photoclust.core.library.db import Library
from photoclust.core.library.models import Embedding, Photo, PhotoStatus

log = logging.getLogger(__name__)

PREFETCH_BATCHES = 2
TOP_CLASSES = 5


@dataclass
class EmbedItem:
    """One content to embed: its hash and every present path holding it (tried in order)."""

    content_hash: str
    paths: list[str]


@dataclass
class EmbeddedBatch:
    """Inference output for the items of one batch that decoded; ``failed`` holds the others."""

    items: list[EmbedItem]
    features: np.ndarray  # float32, len(items) x dim
    top_indices: np.ndarray  # int64, len(items) x TOP_CLASSES
    top_probs: np.ndarray  # float32, len(items) x TOP_CLASSES
    failed: list[tuple[EmbedItem, str]]


@dataclass
class EmbedResult:
    """``embedded``: photos that got a vector in this run; ``already``: photos that had one."""

    model: str
    device: str
    runtime: str = ""
    embedded: int = 0
    already: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def photos_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "embedded": self.embedded,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "already": self.already,
            "model": self.model,
            "device": self.device,
            "runtime": self.runtime,
            "seconds": round(self.seconds, 3),
            "photos_per_second": round(self.photos_per_second, 2),
        }


def load_model(model: str, plan: DevicePlan, weights: str | Path | None = None
               ) -> tuple[ModelRunner, DevicePlan]:
    """``model`` loaded as ``plan`` says, and the plan it really runs under: when ONNX Runtime
    cannot run here, the same device with torch, after one log line."""
    spec = model_spec(model)
    if plan.runtime == "onnx":
        try:
            return load_onnx_model(spec, weights, plan.providers, plan.threads,
                                   plan.device_id), plan
        except RuntimeUnavailable as exc:
            if spec.quantized:
                raise EmbeddingError(f"{model} runs on ONNX Runtime only, which cannot run here: "
                                     f"{exc}; choose another model.") from exc
            log.warning("%s; running %s with torch instead.", exc, model)
            plan = plan.with_torch()
    if spec.quantized:
        raise EmbeddingError(f"{model} runs on ONNX Runtime only; install onnxruntime or "
                             "choose another model.")
    plan.apply_threads()
    return load_torch_backbone(spec, weights, plan.torch_device(), plan.half_precision), plan


def in_batches(items: Sequence[EmbedItem], size: int) -> Iterator[list[EmbedItem]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def embed_batches(backbone: ModelRunner, batches: Iterable[list[EmbedItem]],
                  decode: Callable[[EmbedItem], np.ndarray], workers: int,
                  should_stop: Callable[[], bool] = lambda: False) -> Iterator[EmbeddedBatch]:
    """Yield the embeddings of ``batches`` one by one, decoding up to ``PREFETCH_BATCHES`` ahead
    in ``workers`` threads.

    ``batches`` may wait for its next batch (organize feeds photos as indexing commits them); it
    yields an empty batch before waiting, and the batches decoded so far are embedded meanwhile.
    ``decode`` returns an item's uint8 crop or raises ``ImageError``. Independent of the library,
    so the same loop can embed a shard of files elsewhere. Stops early when ``should_stop()``.
    """
    queued: deque[tuple[list[EmbedItem], list[Future]]] = deque()
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="photoclust-decode") as pool:
        try:
            for batch in batches:
                if batch:
                    queued.append((batch, [pool.submit(decode, item) for item in batch]))
                # An empty batch says that no more work is there for now: catch up meanwhile.
                while len(queued) > (PREFETCH_BATCHES if batch else 0):
                    yield _infer(backbone, *queued.popleft())
                    if should_stop():
                        return
            while queued:
                yield _infer(backbone, *queued.popleft())
                if should_stop():
                    return
        finally:
            for _, futures in queued:
                for future in futures:
                    future.cancel()


def _infer(backbone: ModelRunner, items: list[EmbedItem],
           futures: list[Future]) -> EmbeddedBatch:
    crops, decoded, failed = [], [], []
    for item, future in zip(items, futures):
        try:
            crops.append(future.result())
            decoded.append(item)
        except ImageError as exc:
            failed.append((item, str(exc)))
    if not crops:
        empty = np.zeros((0, TOP_CLASSES))
        return EmbeddedBatch([], np.zeros((0, backbone.dim), np.float32), empty.astype(np.int64),
                             empty.astype(np.float32), failed)
    features, logits = backbone.infer(crops)
    probs = softmax(logits)
    indices = np.argsort(-probs, axis=1, kind="stable")[:, :TOP_CLASSES]
    return EmbeddedBatch(decoded, np.asarray(features, dtype=np.float32), indices.astype(np.int64),
                         np.take_along_axis(probs, indices, axis=1), failed)


class EmbedJob(Job[EmbedResult]):
    """Embed every present photo of ``library`` that has no vector under ``model`` yet."""

    title = "Embedding photos"

    def __init__(self, library: Library, model: str | None = None, device: str = "auto",
                 batch_size: int | None = None, weights: str | Path | None = None,
                 workers: int | None = None, runtime: str | None = None):
        self.library = library
        self.model = model or library_model(library)
        self.device = device
        self.runtime = runtime
        self.batch_size = batch_size
        self.weights = weights
        self.workers = workers or max(2, os.cpu_count() or 1)
        self.backbone: ModelRunner | None = None
        self.plan: DevicePlan | None = None

    def check(self) -> None:
        """Cheap checks: a known model, an available device and runtime, a weights file there."""
        model_spec(self.model)
        if self.weights is not None and not Path(self.weights).expanduser().exists():
            raise EmbeddingError(f"The weights file {self.weights} does not exist.")
        if self.plan is None:
            self.plan = plan_for(self.device, self.batch_size, self.runtime)

    def load(self) -> ModelRunner:
        """Load the model (once); the plan becomes the one it really runs under."""
        plan = self.checked_plan()
        if self.backbone is None:
            self.backbone, self.plan = load_model(self.model, plan, self.weights)
        return self.backbone

    def needs_building(self) -> bool:
        """True when ``load`` will first build the model for ONNX Runtime (once per model and
        runtime version, about half a minute): worth telling the user before it starts."""
        if self.backbone is not None or self.checked_plan().runtime != "onnx":
            return False
        return not is_cached(model_spec(self.model), self.weights)

    def checked_plan(self) -> DevicePlan:
        """The device plan, chosen by ``check`` on first use."""
        self.check()
        assert self.plan is not None  # check() always chooses one
        return self.plan

    def prepare(self) -> None:
        """Choose the device and load the model now, so missing weights fail before any work."""
        self.load()

    def run(self, ctx: JobContext) -> EmbedResult:
        self.load()
        started = time.monotonic()
        items, already, _ = self.select_work()
        total = sum(len(item.paths) for item in items)
        plan = self.checked_plan()
        ctx.report(0, total, f"{self.model} on {plan.device}")
        result = self.embed(ctx, in_batches(items, plan.batch_size), lambda: total)
        result.already, result.seconds = already, time.monotonic() - started
        ctx.raise_if_cancelled()
        log.info("embedded %d photos with %s on %s in %.1f s (%d already, %d skipped)",
                 result.embedded, self.model, self.describe(), result.seconds, result.already,
                 len(result.skipped))
        return result

    def describe(self) -> str:
        return self.checked_plan().describe()

    def embed(self, ctx: JobContext, batches: Iterable[list[EmbedItem]],
              total: Callable[[], int]) -> EmbedResult:
        """Embed and store ``batches`` (each in its own transaction), reporting against
        ``total()`` photos; stops after the batch in flight when ``ctx`` is cancelled."""
        backbone = self.load()
        result = EmbedResult(model=self.model, device=self.describe(),
                             runtime=self.checked_plan().runtime)
        done = 0
        for batch in embed_batches(backbone, batches, self._decoder(backbone), self.workers,
                                   should_stop=lambda: ctx.cancelled):
            self._store(backbone, batch)
            result.embedded += sum(len(item.paths) for item in batch.items)
            for item, reason in batch.failed:
                result.skipped.extend((path, reason) for path in item.paths)
            batch_items = batch.items + [item for item, _ in batch.failed]
            done += sum(len(item.paths) for item in batch_items)
            ctx.report(done, total(), Path(batch_items[-1].paths[0]).name)
        return result

    def select_work(self, after_id: int = 0) -> tuple[list[EmbedItem], int, int]:
        """Present photos grouped by content: those without a vector, the count of the rest and
        the highest photo id seen; only photos with an id above ``after_id`` (new rows)."""
        has_vector = (
            select(Embedding.content_hash)
            .where(Embedding.model == self.model,
                   Embedding.preprocess_version == PREPROCESS_VERSION)
        )
        with self.library.session() as s:
            rows = s.execute(
                select(Photo.id, Photo.content_hash, Photo.path,
                       Photo.content_hash.in_(has_vector))
                .where(Photo.status == PhotoStatus.PRESENT, Photo.id > after_id)
                .order_by(Photo.id)
            ).all()
        by_content: dict[str, EmbedItem] = {}
        already = 0
        for _, content_hash, path, embedded in rows:
            if embedded:
                already += 1
            else:
                by_content.setdefault(content_hash, EmbedItem(content_hash, [])).paths.append(path)
        return list(by_content.values()), already, (rows[-1][0] if rows else after_id)

    def _decoder(self, backbone: ModelRunner) -> Callable[[EmbedItem], np.ndarray]:
        def decode(item: EmbedItem) -> np.ndarray:
            return backbone.crop(load_model_input(self.library, item.content_hash, item.paths,
                                                  backbone.resize_size))

        return decode

    def _store(self, backbone: ModelRunner, batch: EmbeddedBatch) -> None:
        """Write one batch in one transaction: all of it or, if interrupted, none of it."""
        if not batch.items:
            return
        vectors = batch.features.astype("<f2")
        rows = [
            {
                "content_hash": item.content_hash,
                "model": backbone.name,
                "preprocess_version": backbone.preprocess_version,
                "dim": backbone.dim,
                "vector": vectors[i].tobytes(),
                "top_classes": json.dumps([
                    [backbone.class_names[c], round(float(p), 4)]
                    for c, p in zip(batch.top_indices[i], batch.top_probs[i])
                ]),
            }
            for i, item in enumerate(batch.items)
        ]
        with self.library.session() as s:
            s.execute(sqlite_insert(Embedding).values(rows).on_conflict_do_nothing())
