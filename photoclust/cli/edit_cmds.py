"""Cluster browsing and editing commands: ``clusters``, ``photos``, ``rename``, ``move``, ``merge``,
``split``, ``undo``, ``redo``. Every edit is recorded in the library at once and can be undone."""
from __future__ import annotations

import argparse
from typing import Callable

from photoclust.cli.common import (
    CommandError,
    add_command,
    add_model_option,
    edit_of_photos,
    no_edit_json,
    open_from_args,
    print_json,
    printable,
    run_edit,
)
from photoclust.core.clustering import editing
from photoclust.core.clustering.editing import EditResult
from photoclust.core.events.queries import when_where
from photoclust.core.library import Library, queries


def register(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "clusters", cmd_clusters, help="list the clusters, largest first")

    photos = add_command(sub, "photos", cmd_photos, help="list the photos with their cluster",
                         description="One row per present photo: its cluster, whether you placed "
                         "it (user) or the program did (auto), and how sure the program is that it "
                         "is in the right cluster.")
    which = photos.add_mutually_exclusive_group()
    which.add_argument("--cluster", type=int, default=None, metavar="ID",
                       help="only the photos of cluster ID")
    which.add_argument("--unassigned", action="store_true", help="only photos in no cluster")

    rename = add_command(sub, "rename", cmd_rename, help="rename a cluster",
                         description="Give cluster ID your NAME; re-clustering keeps it.")
    rename.add_argument("cluster_id", type=int, metavar="ID")
    rename.add_argument("name", nargs="+", metavar="NAME")

    move = add_command(sub, "move", cmd_move, help="move photos to a cluster",
                       description="Move photos (by path) to cluster ID. They count as labelled: "
                       "re-clustering leaves them there and never puts them back where they were.")
    move.add_argument("paths", nargs="+", metavar="PHOTO_PATH")
    move.add_argument("--to", dest="to_cluster", type=int, required=True, metavar="ID")

    merge = add_command(sub, "merge", cmd_merge, help="merge clusters into the first one",
                        description="Move all photos of the other clusters into the first ID.")
    merge.add_argument("cluster_ids", nargs="+", type=int, metavar="ID")

    split = add_command(sub, "split", cmd_split, help="split a cluster in parts by content",
                        description="Split cluster ID with K-means on its photos' embeddings into "
                        "N parts (automatic without --k). The largest part keeps the cluster.")
    split.add_argument("cluster_id", type=int, metavar="ID")
    split.add_argument("--k", type=int, default=None, metavar="N")
    add_model_option(split, "embedding model")

    add_command(sub, "undo", cmd_undo, help="undo the last cluster edit")
    add_command(sub, "redo", cmd_redo, help="redo the last undone cluster edit")


def cmd_clusters(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        infos = queries.list_clusters(library)
        unassigned = queries.count_unassigned_photos(library)
    if args.json:
        print_json([{"id": c.id, "name": c.name, "size": c.size, "name_source": c.name_source,
                     "cover_photo_id": c.cover_photo_id} for c in infos])
        return 0
    if not infos:
        print("No clusters yet: run `photoclust organize FOLDER` (or index, embed, cluster).")
    else:
        width = max(len(str(c.id)) for c in infos)
        print(f"{'ID':>{width}}  {'PHOTOS':>6}  NAME")
        for c in infos:
            print(f"{c.id:>{width}}  {c.size:>6}  {printable(c.name)}")
    if unassigned:
        print(f"{unassigned} photo(s) in no cluster.")
    return 0


def cmd_photos(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        if args.cluster is not None and queries.cluster_info(library, args.cluster) is None:
            raise CommandError(f"no cluster with id {args.cluster}")
        rows = queries.placed_photos(library, cluster_id=args.cluster,
                                     unassigned=args.unassigned)
        # When and where each photo was taken (docs/places.md).
        times = when_where(library, [row.id for row in rows]) if args.json else {}
    if args.json:
        print_json([{**row.to_json(), **(times[row.id].to_json() if row.id in times else {})}
                    for row in rows])
        return 0
    if not rows:
        print("No photos.")
    for row in rows:
        where = (f"{row.cluster_id} ({printable(row.cluster_name)})"
                 if row.cluster_id is not None else "no cluster")
        sure = f"{row.confidence:.0%} sure" if row.confidence is not None else ""
        how = "placed by you" if row.source == "user" else sure
        print(f"{row.id}  {printable(row.path)}  {where}  {how}".rstrip())
    return 0


def _cluster_json(library: Library, cluster_id: int) -> dict:
    info = queries.cluster_info(library, cluster_id)
    if info is None:
        return {"id": cluster_id, "active": False}
    return {"id": info.id, "name": info.name, "size": info.size, "active": True}


def _edit(args: argparse.Namespace, operation: Callable[[Library], EditResult]) -> int:
    return run_edit(args, operation, _clusters_touched)


def _clusters_touched(library: Library, result: EditResult) -> dict:
    return {"clusters": [_cluster_json(library, cid) for cid in result.cluster_ids]}


def cmd_rename(args: argparse.Namespace) -> int:
    name = " ".join(args.name)
    return _edit(args, lambda lib: editing.rename_cluster(lib, args.cluster_id, name))


def cmd_move(args: argparse.Namespace) -> int:
    return _edit(args, edit_of_photos(args.paths, "nothing was moved", lambda lib, ids:
                                      editing.move_photos(lib, ids, args.to_cluster)))


def cmd_merge(args: argparse.Namespace) -> int:
    if len(args.cluster_ids) < 2:
        raise CommandError("merge needs at least two cluster ids: the target first")
    target, *sources = args.cluster_ids
    return _edit(args, lambda lib: editing.merge_clusters(lib, target, sources))


def cmd_split(args: argparse.Namespace) -> int:
    if args.k is not None and args.k < 2:
        raise CommandError("--k must be at least 2")
    return _edit(args, lambda lib: editing.split_cluster(lib, args.cluster_id, k=args.k,
                                                         model=args.model))


def _replay(args: argparse.Namespace, step: Callable[[Library], EditResult | None],
            verb: str) -> int:
    with open_from_args(args) as library:
        result = step(library)
        if result is None:
            if args.json:
                print_json(no_edit_json(f"nothing to {verb}", clusters=[]))
            else:
                print(f"Nothing to {verb}.")
            return 0
        if args.json:
            print_json({**result.to_json(), **_clusters_touched(library, result)})
            return 0
        print(f"{verb.capitalize()}: {printable(result.description)}.")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    return _replay(args, editing.undo, "undo")


def cmd_redo(args: argparse.Namespace) -> int:
    return _replay(args, editing.redo, "redo")
