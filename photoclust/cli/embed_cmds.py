"""``embed``: compute the embeddings that are missing (``organize`` uses its options)."""
from __future__ import annotations

import argparse
from pathlib import Path

from photoclust.cli.common import (
    CommandError,
    add_model_option,
    command_options,
    job_context,
    open_from_args,
    print_json,
    print_skipped,
)
from photoclust.core.embedding.devices import DEVICE_CHOICES, RUNTIME_CHOICES
from photoclust.core.jobs import run_job
from photoclust.core.organize.settings import load_settings

# The engine (and torch) is imported by the handlers only: other commands start without it.



def add_model_options(parser: argparse.ArgumentParser) -> None:
    add_model_option(parser)
    parser.add_argument("--device", default=None, choices=DEVICE_CHOICES,
                        help="where the model runs (default: the library's setting, else auto: "
                        "CUDA, then Apple MPS, then CPU)")
    parser.add_argument("--runtime", default=None, choices=RUNTIME_CHOICES,
                        help="what runs the model (default auto: ONNX Runtime where it can, else "
                        "torch; or $PHOTOCLUST_RUNTIME)")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help="photos per model batch (default 8 with ONNX Runtime on the CPU, 32 "
                        "with torch, 256 on CUDA, 64 on MPS)")
    parser.add_argument("--weights", type=Path, default=None, metavar="FILE",
                        help="model weights file (a PyTorch state dict) instead of the bundled or "
                        "cached ones")


def register(sub: argparse._SubParsersAction) -> None:
    embed = sub.add_parser(
        "embed", help="compute image embeddings for photos that have none yet",
        description="Run the image model over every indexed photo that has no embedding under "
        "--model yet. Duplicates and moved photos are never embedded twice; an interrupted run "
        "continues where it stopped. Ctrl-C stops after the current batch.")
    add_model_options(embed)
    embed.add_argument("--ray", default=None, metavar="HOST:PORT",
                       help="decode and embed on the workers of the Ray cluster whose head is "
                       "at HOST:PORT (pip install 'photoclust[ray]'); the vectors are written "
                       "here, as a local run writes them")
    embed.add_argument("--ray-workers", type=int, default=None, metavar="N",
                       help="with --ray: workers to start (default: one per CPU of the cluster)")
    command_options(embed, cmd_embed)


def check_batch_size(args: argparse.Namespace) -> None:
    if args.batch_size is not None and args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1")


def print_embed_summary(result) -> None:
    print(f"{result.embedded} embedded with {result.model} on {result.device} in "
          f"{result.seconds:.1f} s ({result.photos_per_second:.1f} photos/s); "
          f"{result.already} already embedded.")
    print_skipped(result.skipped, "photo")


def cmd_embed(args: argparse.Namespace) -> int:
    from photoclust.core.embedding.engine import EmbedJob

    check_batch_size(args)
    with open_from_args(args) as library:
        device = args.device or load_settings(library).device
        if getattr(args, "ray", None):
            from photoclust.core.embedding.distributed import RayEmbedJob

            if args.weights is not None:
                raise CommandError("--weights is not sent to Ray workers; use the bundled "
                                   "weights with --ray")
            job: EmbedJob = RayEmbedJob(library, args.ray, model=args.model, device=device,
                                        batch_size=args.batch_size, runtime=args.runtime,
                                        workers=args.ray_workers)
        else:
            job = EmbedJob(library, model=args.model, device=device,
                           batch_size=args.batch_size, weights=args.weights,
                           runtime=args.runtime)
        with job_context(args, "Embedding") as ctx:
            result = run_job(job, ctx)
    if args.json:
        print_json(result.to_json())
    else:
        print_embed_summary(result)
    return 0
