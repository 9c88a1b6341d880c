"""Embedding commands: ``embed`` (compute what is missing), ``organize`` (index, embed, cluster)."""
from __future__ import annotations

import argparse
from pathlib import Path

from photoclust.cli.common import (
    CommandError,
    add_json_option,
    add_library_option,
    add_model_option,
    cluster_count,
    job_context,
    open_from_args,
    print_json,
    print_skipped,
)
from photoclust.core.embedding.devices import DEVICE_CHOICES, RUNTIME_CHOICES
from photoclust.core.jobs import run_job
from photoclust.core.settings import add_folder, effective_model, load_settings

# The engine (and torch) is imported by the handlers only: other commands start without it.



def _add_model_options(parser: argparse.ArgumentParser) -> None:
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
    _add_model_options(embed)
    add_library_option(embed)
    add_json_option(embed)
    embed.set_defaults(func=cmd_embed)

    organize = sub.add_parser(
        "organize", help="index folders, embed new photos and cluster them, in one go",
        description="The whole headless job: index FOLDERs, embed new photos, then cluster the "
        "library. Safe to interrupt and run again. The folders are added to the library's "
        "folders (the ones the app organizes); with none given, the library's folders are "
        "organized. Options not given come from the library's settings (the app's Settings).")
    organize.add_argument("folders", nargs="*", metavar="FOLDER",
                          help="folder to organize (default: the library's folders)")
    organize.add_argument("--k", type=cluster_count, default=None, metavar="N|auto",
                          help="number of clusters (default: the library's setting, else auto)")
    organize.add_argument("--method", default="kmeans",
                          help="clustering method: kmeans (default), agglomerative, hdbscan or "
                          "scan (see `photoclust cluster`)")
    _add_model_options(organize)
    add_library_option(organize)
    add_json_option(organize)
    organize.set_defaults(func=cmd_organize)


def _check_batch_size(args: argparse.Namespace) -> None:
    if args.batch_size is not None and args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1")


def _print_embed_summary(result) -> None:
    print(f"{result.embedded} embedded with {result.model} on {result.device} in "
          f"{result.seconds:.1f} s ({result.photos_per_second:.1f} photos/s); "
          f"{result.already} already embedded.")
    print_skipped(result.skipped, "photo")


def cmd_embed(args: argparse.Namespace) -> int:
    from photoclust.core.embedding.engine import EmbedJob

    _check_batch_size(args)
    with open_from_args(args) as library:
        device = args.device or load_settings(library).device
        job = EmbedJob(library, model=args.model, device=device,
                       batch_size=args.batch_size, weights=args.weights, runtime=args.runtime)
        with job_context(args, "Embedding") as ctx:
            result = run_job(job, ctx)
    if args.json:
        print_json(result.to_json())
    else:
        _print_embed_summary(result)
    return 0


def cmd_organize(args: argparse.Namespace) -> int:
    from photoclust.core.pipeline import OrganizeJob

    _check_batch_size(args)
    with open_from_args(args) as library:
        settings = load_settings(library)
        for folder in args.folders:
            if Path(folder).is_dir():  # a bad one is refused by the job's checks, unsaved
                settings = add_folder(library, folder)
        folders = args.folders or list(settings.folders)
        if not folders:
            raise CommandError("name a FOLDER to organize: this library has no folders yet")
        job = OrganizeJob(library, folders, model=args.model or effective_model(library, settings),
                          k=args.k if args.k is not None else settings.k, method=args.method,
                          device=args.device or settings.device, batch_size=args.batch_size,
                          weights=args.weights, runtime=args.runtime)
        with job_context(args, "Organizing") as ctx:
            result = run_job(job, ctx)
    if args.json:
        print_json(result.to_json())
        return 0
    scanned = result.index
    print(f"Indexed: {scanned.added} added, {scanned.unchanged} unchanged, {scanned.updated} "
          f"updated, {scanned.moved} moved, {scanned.missing} missing, "
          f"{len(scanned.skipped)} skipped.")
    print_skipped(scanned.skipped)
    _print_embed_summary(result.embed)
    from photoclust.cli.cluster_cmds import print_cluster_result

    print_cluster_result(result.cluster)
    return 0
