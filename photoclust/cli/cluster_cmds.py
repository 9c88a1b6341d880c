"""Clustering commands: ``cluster`` and ``duplicates``."""
from __future__ import annotations

import argparse

from photoclust.cli.common import (
    add_model_option,
    cluster_count,
    command_options,
    job_context,
    open_from_args,
    print_json,
    printable,
)
from photoclust.core.clustering import METHODS

CLUSTERS_SHOWN = 50


def add_clustering_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=cluster_count, default=None, metavar="N|auto",
                        help="number of clusters (default: the library's setting, else auto: "
                        "chosen from the photos)")
    parser.add_argument("--method", choices=METHODS, default="kmeans",
                        help="clustering method (default kmeans)")
    add_model_option(parser, "embeddings of which image model")


def register(sub: argparse._SubParsersAction) -> None:
    cluster = sub.add_parser(
        "cluster", help="group the library's embedded photos into clusters",
        description="The first time, cluster every embedded photo. After that, only new photos "
        "are placed: each joins the cluster it resembles, groups of a new kind found new "
        "clusters, and no photo that has a cluster moves. --fresh re-clusters everything "
        "(cluster ids, names you gave and photos you placed survive) as one edit that "
        "`photoclust undo` takes back.")
    add_clustering_options(cluster)
    cluster.add_argument("--fresh", action="store_true",
                         help="re-cluster every photo from scratch (--k and --method apply), "
                         "keeping your names and the photos you placed; undoable")
    cluster.add_argument("--adapt", action="store_true",
                         help="adapt the embeddings to this library first (contrastive training "
                         "on augmented views; two extra model passes per photo)")
    command_options(cluster, cmd_cluster)

    duplicates = sub.add_parser(
        "duplicates", help="list groups of identical or near-identical photos and bursts",
        description="Groups of photos with the same content, nearly the same embedding "
        "(resized or re-compressed copies), or shot seconds apart and alike (bursts).")
    add_model_option(duplicates, "embeddings to compare")
    command_options(duplicates, cmd_duplicates)


def cmd_cluster(args: argparse.Namespace) -> int:
    from photoclust.core.clustering.job import ClusterJob
    from photoclust.core.jobs import run_job

    with open_from_args(args) as library:
        from photoclust.core.organize.settings import load_settings

        k = args.k if args.k is not None else load_settings(library).k
        job = ClusterJob(library, model=args.model, k=k, method=args.method,
                         adapt=args.adapt, fresh=args.fresh)
        with job_context(args, "Clustering") as ctx:
            result = run_job(job, ctx)
    if args.json:
        print_json(result.to_json())
        return 0
    print_cluster_result(result, asked_k_or_method=args.k is not None or args.method != "kmeans")
    return 0


def print_cluster_result(result, asked_k_or_method: bool = False) -> None:
    """What a cluster stage did, for ``cluster`` and ``organize``."""
    if result.mode == "place":
        founded = len(result.founded_cluster_ids)
        elsewhere = getattr(result, "placed_elsewhere", 0)
        mine = result.new_photos - elsewhere
        if elsewhere and not mine:
            print(f"The {elsewhere} new photo(s) were placed meanwhile by another Organize "
                  f"running at the same time (or by hand): nothing left to place here "
                  f"({result.seconds:.1f} s). The library has {len(result.clusters)} clusters:")
        else:
            also = (f" ({elsewhere} more were placed meanwhile by another Organize running at "
                    "the same time, or by hand)" if elsewhere else "")
            print(f"{mine} new photo(s): {result.placed - _founded_members(result)} joined "
                  f"existing clusters, {founded} new cluster(s) founded{also}; no other photo "
                  f"moved ({result.seconds:.1f} s). The library has {len(result.clusters)} "
                  "clusters:")
        if asked_k_or_method:
            print("The library already has clusters, so --k and --method were not used: "
                  "`photoclust cluster --fresh` re-clusters everything.")
    else:
        how = "chosen automatically" if result.k_auto else "as asked"
        print(f"{result.n} photos clustered with k={result.k} ({how}, {result.method}, "
              f"{result.seconds:.1f} s); run {result.run_id}; the library has "
              f"{len(result.clusters)} clusters:")
        if result.event_id is not None:
            print("(`photoclust undo` takes this re-clustering back.)")
    for c in result.clusters[:CLUSTERS_SHOWN]:
        print(f"  {c['id']:>5}  {c['size']:>6}  {printable(c['name'])}")
    if len(result.clusters) > CLUSTERS_SHOWN:
        print(f"  ... and {len(result.clusters) - CLUSTERS_SHOWN} more (`photoclust clusters`)")


def _founded_members(result) -> int:
    founded = set(result.founded_cluster_ids)
    return sum(c["size"] for c in result.clusters if c["id"] in founded)


def cmd_duplicates(args: argparse.Namespace) -> int:
    from photoclust.core.clustering.duplicates import library_duplicate_groups

    with open_from_args(args) as library:
        groups, paths = library_duplicate_groups(library, model=args.model)
    if args.json:
        print_json({"n_groups": len(groups),
                    "n_photos": sum(len(g.photo_ids) for g in groups),
                    "groups": [{"kind": g.kind, "similarity": round(g.similarity, 4),
                                "photos": [{"id": pid, "path": paths[pid]}
                                           for pid in g.photo_ids]} for g in groups]})
        return 0
    if not groups:
        print("No duplicates found.")
    for g in groups:
        print(f"{g.kind} ({len(g.photo_ids)} photos, similarity >= {g.similarity:.3f}):")
        for pid in g.photo_ids:
            print(f"  {printable(paths[pid])}")
    return 0
