"""``check``: verify the library file and repair what is safe to repair."""
from __future__ import annotations

import argparse

from sqlalchemy.exc import DBAPIError

from photoclust.cli.common import (
    command_options,
    job_context,
    open_from_args,
    print_json,
    printable,
)
from photoclust.core.jobs import run_job
from photoclust.core.library.check import LEFTOVER_KINDS, CheckJob, CheckReport
from photoclust.core.library.db import (
    LibraryError,
    LibraryUnavailableError,
    NewerLibraryError,
    NoLibraryError,
    NotALibraryError,
    StaleWalError,
)

SHOWN = 20


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check", help="verify the library; --repair fixes what is safe to fix",
        description="Run SQLite's integrity check, look for photos whose file vanished or "
        "changed since it was indexed, and for orphan rows and thumbnails. Exit status 0 when "
        "the library is sound (after repairs).")
    check.add_argument("--repair", action="store_true",
                       help="mark vanished photos missing, read changed photos again, drop orphan "
                       "derived data; never touches your corrections")
    check.add_argument("--read-files", action="store_true",
                       help="also read every photo and compare its bytes with what was indexed "
                       "(slow: reads the whole collection; without it, size and time are "
                       "compared)")
    command_options(check, cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    try:
        library = open_from_args(args)
    except (NewerLibraryError, LibraryUnavailableError, NoLibraryError, NotALibraryError,
            StaleWalError):
        # Not damage: the message says what it is (a newer version, a full disk, no library at
        # that path, another kind of file, a -wal file that cannot be read here).
        raise
    except (LibraryError, DBAPIError) as exc:
        # Too damaged to open: that is the finding.
        report = CheckReport(integrity=[str(exc)])
    else:
        with library:
            with job_context(args, "Checking") as ctx:
                report = run_job(CheckJob(library, repair=args.repair,
                                          read_files=args.read_files), ctx)
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
    if report.changed:
        print(f"Photos whose file changed since it was indexed: {len(report.changed)}")
        for row in report.changed[:SHOWN]:
            print(f"  {printable(row['path'])}: {row['reason']}")
        if report.repaired.get("changed"):
            print("  Read again (their folders were indexed).")
        elif any(row["reason"].startswith("content changed") for row in report.changed):
            print("  `photoclust check --read-files --repair` reads them again (`index` goes by "
                  "size and time, which did not change).")
        else:
            print("  `photoclust index` on their folders reads them again. (So does "
                  "`photoclust check --repair`.)")
    for kind, rows in report.orphans.items():
        if rows and kind not in LEFTOVER_KINDS:
            print(f"Orphan {kind.replace('_', ' ')}: {len(rows)}")
    if report.unreadable:
        print(f"Note: {len(report.unreadable)} photo(s) marked unreadable by `photoclust index` "
              "(damaged, or no longer a photo file); they keep their clusters and labels until "
              "their file reads again:")
        for row in report.unreadable[:SHOWN]:
            print(f"  {printable(row['path'])}")
    leftovers = len(report.orphans.get("thumbnails", []))
    if leftovers and not report.repaired.get("thumbnails"):
        print(f"Note: {leftovers} thumbnail file(s) no photo uses (left by an interrupted index "
              "or by photos removed since; the next index reuses them, --repair deletes them). "
              "This is not damage.")
    if report.repaired:
        print("Repaired: " + ", ".join(f"{n} {kind.replace('_', ' ')}"
                                       for kind, n in report.repaired.items()))
    repairable = report.problems
    if report.ok:
        print("The library is sound.")
    elif repairable and not repair:
        print("Run `photoclust check --repair` to fix what is safe to fix.")
    elif repairable:
        print("Some problems need a decision by hand (see above).")
