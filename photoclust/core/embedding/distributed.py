"""Embedding on a Ray cluster: ``photoclust embed --ray ADDRESS`` (the optional ``ray`` extra).

The library stays here; the cluster's workers decode and embed. The photos to embed are chosen
here as a local run chooses them (``EmbedJob.select_work``: every present photo whose content has
no vector under the model), sent in batches to one actor per worker CPU (each loads the model
once, on its GPU when it has one, exactly as a local run would load it), and each batch of
vectors that comes back is written here in its own transaction, by the same code as a local run
(``EmbedJob._store``): same model key, same vectors within float tolerance. A worker decodes what
a local run decodes (the library's thumbnail when it can read it, else the photo's own file, so
the photos and the library's thumbnails must be on storage the workers reach at the same paths,
e.g. a NAS). A photo a worker cannot read is skipped with its reason, as locally.

Failures keep what was done: a batch whose worker dies is sent to another worker (a killed worker
loses no photo); when no worker is left, or the cluster cannot be reached, the job stops with one
sentence, every batch written so far stays, and running ``photoclust embed`` again (with or
without ``--ray``) embeds the rest.
"""
from __future__ import annotations

import logging
import socket
import time
from collections import deque
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from photoclust.core.embedding.backbones import EmbeddingError
from photoclust.core.embedding.engine import EmbeddedBatch, EmbedItem, EmbedJob, EmbedResult
from photoclust.core.jobs import JobContext
from photoclust.core.library import Library

log = logging.getLogger(__name__)

#: Batches waiting at each worker (one running, one ready), and seconds to reach the cluster.
IN_FLIGHT_PER_WORKER = 2
CONNECT_TIMEOUT = 10.0


class RayUnavailable(EmbeddingError):
    """The Ray cluster cannot be used; the message is one sentence for the user."""


class _Embedder:
    """One worker: the model loaded once, batches decoded and embedded (``engine.embed_batches``,
    the loop a local run uses)."""

    def __init__(self, model: str, device: str, batch_size: int | None, runtime: str | None,
                 thumbnail_dir: str):
        import os

        from photoclust.core.embedding.devices import plan_for
        from photoclust.core.embedding.engine import load_model

        self.backbone, self.plan = load_model(model, plan_for(device, batch_size, runtime))
        self.library = SimpleNamespace(thumbnail_dir=Path(thumbnail_dir))
        self.pid = os.getpid()

    def describe(self) -> dict:
        b = self.backbone
        return {"name": b.name, "preprocess_version": b.preprocess_version, "dim": b.dim,
                "class_names": list(b.class_names), "device": self.plan.describe(),
                "runtime": self.plan.runtime, "pid": self.pid}

    def embed(self, items: list[EmbedItem]) -> EmbeddedBatch:
        from photoclust.core.embedding.engine import embed_batches
        from photoclust.core.imaging import load_model_input

        def decode(item: EmbedItem):
            return self.backbone.crop(load_model_input(self.library, item.content_hash,
                                                       item.paths, self.backbone.resize_size))

        return next(iter(embed_batches(self.backbone, [items], decode, workers=1)))


def _reachable(address: str) -> str | None:
    """None when something listens at ``host:port``, else why not (one clause)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return f"{address!r} is not HOST:PORT"
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


class RayEmbedJob(EmbedJob):
    """``EmbedJob`` whose decoding and model run on the Ray cluster at ``address``
    (``host:port`` of its head); ``workers``: actors to start (default: one per CPU the cluster
    has)."""

    title = "Embedding photos on a Ray cluster"

    def __init__(self, library: Library, address: str, model: str | None = None,
                 device: str = "auto", batch_size: int | None = None,
                 runtime: str | None = None, workers: int | None = None):
        super().__init__(library, model=model, device=device, batch_size=batch_size,
                         runtime=runtime)
        self.address = address
        self.ray_workers = workers
        self.on_batch_stored: Any = None  # tests: called after each stored batch

    def prepare(self) -> None:
        """Fails before any work when ray is not installed or the cluster is not there."""
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise RayUnavailable("Ray is not installed: pip install 'photoclust[ray]'.") from exc
        self.check()
        why = _reachable(self.address)
        if why is not None:
            raise RayUnavailable(f"Cannot reach the Ray cluster at {self.address} ({why}); "
                                 "nothing was embedded. Check the address, or run `photoclust "
                                 "embed` without --ray to embed here.")

    def run(self, ctx: JobContext) -> EmbedResult:
        import ray

        started = time.monotonic()
        items, already, _ = self.select_work()
        total = sum(len(item.paths) for item in items)
        plan = self.checked_plan()
        result = EmbedResult(model=self.model, device=f"Ray cluster at {self.address}",
                             runtime=plan.runtime, already=already)
        if not items:
            result.seconds = time.monotonic() - started
            return result
        try:
            ray.init(address=self.address, logging_level=logging.WARNING,
                     log_to_driver=False, ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"Cannot join the Ray cluster at {self.address} ({exc}); "
                                 "nothing was embedded. Run `photoclust embed` without --ray "
                                 "to embed here.") from exc
        from ray.exceptions import RayError

        try:
            self._run_on_cluster(ctx, items, total, plan.batch_size, result)
        except (RayError, ConnectionError) as exc:
            raise RayUnavailable(
                f"The Ray cluster at {self.address} was lost ({type(exc).__name__}); "
                f"{result.embedded} photos were embedded and kept: run `photoclust embed` again "
                "(here, or with --ray) to embed the rest.") from exc
        finally:
            ray.shutdown()
        result.seconds = time.monotonic() - started
        log.info("embedded %d photos with %s on the Ray cluster at %s in %.1f s",
                 result.embedded, self.model, self.address, result.seconds)
        return result

    def _actors(self, count: int) -> list:
        import ray

        remote = ray.remote(num_cpus=1, max_restarts=0)(_Embedder)
        return [remote.remote(self.model, self.device, self.batch_size, self.runtime,
                              str(self.library.thumbnail_dir)) for _ in range(count)]

    def _run_on_cluster(self, ctx: JobContext, items: list[EmbedItem], total: int,
                        batch_size: int, result: EmbedResult) -> None:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        count = self.ray_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actors = self._actors(count)
        waiting = deque(items[i:i + batch_size] for i in range(0, len(items), batch_size))
        running: dict[Any, tuple[Any, list[EmbedItem]]] = {}
        model_info: dict | None = None
        done = 0
        lost = 0
        while waiting or running:
            ctx.raise_if_cancelled()
            for actor in list(actors):
                busy = sum(1 for a, _ in running.values() if a is actor)
                while waiting and busy < IN_FLIGHT_PER_WORKER:
                    batch = waiting.popleft()
                    running[actor.embed.remote(batch)] = (actor, batch)
                    busy += 1
            if not running:
                break
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                actor, batch = running.pop(ref)
                try:
                    embedded = ray.get(ref)
                    if model_info is None:
                        model_info = ray.get(actor.describe.remote())
                except RayActorError:
                    # the worker died: its batches go to the others
                    if actor in actors:
                        actors.remove(actor)
                        lost += 1
                        log.warning("A Ray worker was lost; its photos go to the others.")
                    waiting.appendleft(batch)
                    continue
                except RayTaskError as exc:
                    raise EmbeddingError(f"A Ray worker failed: {exc.cause}") from exc
                backbone = SimpleNamespace(**{k: model_info[k] for k in (
                    "name", "preprocess_version", "dim", "class_names")})
                result.device = f"Ray cluster at {self.address} ({model_info['device']})"
                result.runtime = model_info["runtime"]
                self._store(backbone, embedded)  # type: ignore[arg-type]
                result.embedded += sum(len(item.paths) for item in embedded.items)
                for item, reason in embedded.failed:
                    result.skipped.extend((path, reason) for path in item.paths)
                done += sum(len(item.paths) for item in batch)
                ctx.report(done, total, Path(batch[-1].paths[0]).name)
                if self.on_batch_stored is not None:
                    self.on_batch_stored(self, actors)
            if not actors and (waiting or running):
                left = sum(len(i.paths) for b in [*waiting, *(b for _a, b in running.values())]
                           for i in b)
                raise RayUnavailable(
                    f"The Ray cluster at {self.address} has no worker left ({lost} lost); "
                    f"{result.embedded} photos were embedded and kept, {left} are left: run "
                    "`photoclust embed` again (here, or with --ray) to embed them.")
