"""Library commands: ``index`` (scan folders into the library) and ``status`` (what it holds)."""
from __future__ import annotations

import argparse

from photoclust.cli.common import (
    command_options,
    job_context,
    open_from_args,
    print_json,
    print_skipped,
    printable,
)
from photoclust.core.embedding.store import library_model
from photoclust.core.jobs import run_job
from photoclust.core.library import Library, queries
from photoclust.core.library.scan import ScanJob


def register(sub: argparse._SubParsersAction) -> None:
    index = sub.add_parser(
        "index", help="scan photo folders into the library (incremental)",
        description="Scan FOLDERs recursively for JPEG, PNG, WebP, TIFF, BMP and GIF photos (HEIC "
        "with pillow-heif) and add them to the library. Unchanged files are not read again; "
        "moved files keep their clusters and labels; vanished files are marked missing.")
    index.add_argument("folders", nargs="+", metavar="FOLDER", help="folder to scan")
    command_options(index, cmd_index)

    status = sub.add_parser("status", help="show what the library holds")
    command_options(status, cmd_status)


def cmd_index(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        job = ScanJob(library, args.folders)
        with job_context(args, "Indexing") as ctx:
            result = run_job(job, ctx)
    if args.json:
        print_json(result.to_json())
        return 0
    unreadable = f", {result.unreadable} unreadable" if result.unreadable else ""
    print(f"{result.added} added, {result.unchanged} unchanged, {result.updated} updated, "
          f"{result.moved} moved, {result.missing} missing{unreadable}.")
    print_skipped(result.skipped)
    return 0


def library_status(library: Library) -> dict:
    """What ``photoclust status`` prints (the keys are a contract for scripts)."""
    counts = queries.library_counts(library)
    return {"library": str(library.path), "thumbnails": str(library.thumbnail_dir),
            "photos": counts.photos, "missing": counts.missing, "unreadable": counts.unreadable,
            "duplicates": counts.duplicates, "embedded": counts.embedded,
            "model": library_model(library), "clusters": counts.clusters,
            "labels": counts.labels}


def cmd_status(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        info = library_status(library)
    if args.json:
        print_json(info)
        return 0
    print(f"Library:   {printable(info['library'])}")
    unreadable = f"{info['unreadable']} unreadable, " if info["unreadable"] else ""
    print(f"Photos:    {info['photos']} ({info['missing']} missing, {unreadable}"
          f"{info['duplicates']} duplicate copies)")
    if info["embedded"]:
        for model, count in info["embedded"].items():
            print(f"Embedded:  {count} with {printable(model)}")
    else:
        print("Embedded:  none yet")
    print(f"Model:     {printable(info['model'])} (what commands use without --model)")
    print(f"Clusters:  {info['clusters']}")
    print(f"Labels:    {info['labels']} photos placed by you")
    return 0
