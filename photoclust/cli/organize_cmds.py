"""``organize``: the whole headless job (index folders, embed new photos, cluster)."""
from __future__ import annotations

import argparse
from pathlib import Path

from photoclust.cli.common import (
    CommandError,
    cluster_count,
    command_options,
    job_context,
    open_from_args,
    print_json,
    print_skipped,
    printable,
)
from photoclust.cli.embed_cmds import add_model_options, check_batch_size, print_embed_summary
from photoclust.core.jobs import run_job
from photoclust.core.organize.settings import add_folder, effective_model, load_settings


def register(sub: argparse._SubParsersAction) -> None:
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
    add_model_options(organize)
    command_options(organize, cmd_organize)


def cmd_organize(args: argparse.Namespace) -> int:
    from photoclust.core.organize.pipeline import OrganizeJob

    check_batch_size(args)
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
    # The photos that turned unreadable are in ``skipped`` (with their reasons) but are library
    # photos, not new files: counted on their own line.
    print(f"Indexed: {scanned.added} added, {scanned.unchanged} unchanged, {scanned.updated} "
          f"updated, {scanned.moved} moved, {scanned.missing} missing, "
          f"{len(scanned.skipped) - scanned.unreadable} skipped.")
    if scanned.unreadable:
        print(f"Unreadable: {scanned.unreadable} photo(s) of the library no longer read as "
              "photos (kept, marked unreadable; reasons below).")
    print_skipped(scanned.skipped)
    print_embed_summary(result.embed)
    from photoclust.cli.cluster_cmds import print_cluster_result

    print_cluster_result(result.cluster)
    if result.faces is not None:
        from photoclust.cli.people_cmds import print_faces_summary

        print_faces_summary(result.faces)
    if result.events is not None:  # when and where (docs/places.md)
        events = result.events
        print(f"Events: {events.photos_grouped} photo(s) grouped, {events.events_created} new "
              f"event(s), {events.places_named} place(s) named (`photoclust events`).")
        if events.note:
            print(f"Note: {printable(events.note)}")
    return 0
