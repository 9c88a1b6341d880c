"""``export``: clusters as album folders."""
from __future__ import annotations

import argparse

from photoclust.cli.common import (
    CommandError,
    command_options,
    job_context,
    open_from_args,
    print_json,
    print_skipped,
    printable,
)
from photoclust.core.export.albums import EXPORT_MODES, ExportJob
from photoclust.core.jobs import run_job


def register(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export", help="export clusters as album folders",
        description="Write one folder per cluster into OUTDIR, named after the cluster, with a "
        "manifest (manifest.csv, manifest.json). Originals are only read. Running the same "
        "export again skips what is already there and finishes an interrupted export.")
    export.add_argument("outdir", metavar="OUTDIR", help="folder to write the albums into")
    export.add_argument("--mode", choices=EXPORT_MODES, default="copy",
                        help="copy the photos (default), hard-link them (no extra space; "
                        "copies across drives) or make absolute symbolic links")
    export.add_argument("--clusters", nargs="+", type=int, metavar="ID",
                        help="export only these clusters (ids from `photoclust clusters`)")
    export.add_argument("--events", nargs="*", type=int, metavar="ID", default=None,
                        help="one album per event instead of per cluster (all events, or "
                        "these ids from `photoclust events`); into its own folder")
    export.add_argument("--xmp", action="store_true",
                        help="write a NAME.xmp sidecar with the cluster name as keyword next to "
                        "each photo (digiKam, darktable, Lightroom)")
    export.add_argument("--people", nargs="*", type=int, default=None, metavar="ID",
                        help="export named people instead of clusters: one album per person "
                        "(all named people, or these ids from `photoclust people`); use a "
                        "folder of its own")
    command_options(export, cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        if args.people is not None:
            from photoclust.core.export.albums import PeopleExportJob

            if args.clusters or args.events is not None:
                raise CommandError("export albums per cluster (--clusters), per event (--events) "
                                   "or per person (--people), one at a time")
            job: ExportJob = PeopleExportJob(library, args.outdir, mode=args.mode,
                                             person_ids=args.people or None, xmp=args.xmp)
        else:
            if args.events is not None and args.clusters:
                raise CommandError("export albums per cluster (--clusters) or per event "
                                   "(--events), not both at once")
            by_event = args.events is not None
            job = ExportJob(library, args.outdir, mode=args.mode,
                            cluster_ids=(args.events or None) if by_event else args.clusters,
                            xmp=args.xmp, events=by_event)
        with job_context(args, "Exporting") as ctx:
            result = run_job(job, ctx)
    if args.json:
        print_json(result.to_json())
        return 0
    print(f"{result.exported} photo(s) exported, {result.unchanged} already there, into "
          f"{len(result.albums)} album(s) in {printable(result.outdir)}.")
    for note in result.notes:
        print(f"Note: {printable(note)}")
    print_skipped(result.failed, "photo")
    print(f"Manifest: {printable(result.manifest_csv)}")
    return 0
