"""Finding photos: ``search TEXT`` and ``similar PHOTO``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photoclust.cli.common import (
    CommandError,
    add_model_option,
    command_options,
    open_from_args,
    print_json,
    printable,
)


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    search = sub.add_parser(
        "search", help="find photos by what they show, names, folders, dates and cameras",
        description="Find photos by what they show (dog, hats, golf ball: any breed of dog is a "
        "dog), by cluster name (names you gave first), folder or file name, date (2023, july "
        "2023) and camera. Several words must all match. Best matches first.")
    search.add_argument("text", nargs="+", metavar="TEXT", help="what to look for")
    search.add_argument("--limit", type=_positive, default=50, metavar="N",
                        help="most results to show (default 50)")
    add_model_option(search, "embeddings of which image model")
    command_options(search, cmd_search)

    similar = sub.add_parser(
        "similar", help="find the photos that look most like a photo",
        description="The photos nearest to PHOTO (its id, or its path) in the library's "
        "embedding space, most alike first, PHOTO itself left out.")
    similar.add_argument("photo", metavar="PHOTO", help="a photo id or path")
    similar.add_argument("--limit", type=_positive, default=20, metavar="N",
                         help="most results to show (default 20)")
    add_model_option(similar, "embeddings of which image model")
    command_options(similar, cmd_similar)


def _print_hits(hits, args: argparse.Namespace, empty: str) -> None:
    if args.json:
        print_json([hit.to_json() for hit in hits])
        if not hits:
            print(printable(empty), file=sys.stderr)
        return
    if not hits:
        print(printable(empty))
        return
    for hit in hits:
        cluster = "-" if hit.cluster_id is None else str(hit.cluster_id)
        print(f"{hit.id:>7}  {hit.score:5.2f}  cluster {cluster:>4}  {printable(hit.path)}  "
              f"({printable(hit.why)})")


def cmd_search(args: argparse.Namespace) -> int:
    from photoclust.core.search import search_hint, search_photos

    text = " ".join(args.text)
    with open_from_args(args) as library:
        hits = search_photos(library, text, limit=args.limit, model=args.model)
    _print_hits(hits, args, search_hint(text))
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from photoclust.core.search import SearchError, similar_photos

    photo: int | Path = Path(args.photo)
    if args.photo.isdigit() and not Path(args.photo).exists():
        photo = int(args.photo)
    with open_from_args(args) as library:
        try:
            hits = similar_photos(library, photo, limit=args.limit, model=args.model)
        except SearchError as exc:
            raise CommandError(str(exc)) from None
    _print_hits(hits, args, "No other photo has an embedding yet.")
    return 0
