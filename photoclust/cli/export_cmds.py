"""Export and maintenance commands: ``export`` (clusters as album folders) and ``check``."""
from __future__ import annotations

import argparse

from sqlalchemy.exc import DBAPIError

from photoclust.cli.common import (
    add_json_option,
    add_library_option,
    job_context,
    open_from_args,
    print_json,
    print_skipped,
    printable,
)
from photoclust.core.check import CheckJob, CheckReport
from photoclust.core.export import EXPORT_MODES, ExportJob
from photoclust.core.jobs import run_job
from photoclust.core.library.db import (
    LibraryError,
    LibraryUnavailableError,
    NewerLibraryError,
)

SHOWN = 20


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
    export.add_argument("--xmp", action="store_true",
                        help="write a NAME.xmp sidecar with the cluster name as keyword next to "
                        "each photo (digiKam, darktable, Lightroom)")
    add_library_option(export)
    add_json_option(export)
    export.set_defaults(func=cmd_export)

    check = sub.add_parser(
        "check", help="verify the library; --repair fixes what is safe to fix",
        description="Run SQLite's integrity check, look for photos whose file vanished and for "
        "orphan rows and thumbnails. Exit status 0 when the library is sound (after repairs).")
    check.add_argument("--repair", action="store_true",
                       help="mark vanished photos missing, drop orphan derived data; never "
                       "touches your corrections")
    add_library_option(check)
    add_json_option(check)
    check.set_defaults(func=cmd_check)


def cmd_export(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        job = ExportJob(library, args.outdir, mode=args.mode, cluster_ids=args.clusters,
                        xmp=args.xmp)
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


def cmd_check(args: argparse.Namespace) -> int:
    try:
        library = open_from_args(args)
    except (NewerLibraryError, LibraryUnavailableError):
        raise  # not damage: the message says what it is (a newer version, a full disk, ...)
    except (LibraryError, DBAPIError) as exc:
        # Too damaged to open: that is the finding.
        report = CheckReport(integrity=[str(exc)])
    else:
        with library:
            with job_context(args, "Checking") as ctx:
                report = run_job(CheckJob(library, repair=args.repair), ctx)
    if args.json:
        print_json(report.to_json())
    else:
        _print_report(report, args.repair)
    return 0 if report.ok else 1


def _print_report(report: CheckReport, repair: bool) -> None:
    if not report.integrity_ok:
        print("The library file is damaged (SQLite integrity check):")
        for line in report.integrity[:SHOWN]:
            print(f"  {printable(line)}")
        print("Nothing was changed. Restore a backup of the library file, or rebuild it with "
              "`sqlite3 FILE .recover`.")
        return
    print("Integrity: ok")
    print(f"Photos whose file vanished: {len(report.missing)}")
    for row in report.missing[:SHOWN]:
        print(f"  {printable(row['path'])}")
    for kind, rows in report.orphans.items():
        if rows:
            print(f"Orphan {kind.replace('_', ' ')}: {len(rows)}")
    if report.repaired:
        print("Repaired: " + ", ".join(f"{n} {kind.replace('_', ' ')}"
                                       for kind, n in report.repaired.items()))
    if report.ok:
        print("The library is sound.")
    elif not repair:
        print("Run `photoclust check --repair` to fix what is safe to fix.")
    else:
        print("Some problems need a decision by hand (see above).")
