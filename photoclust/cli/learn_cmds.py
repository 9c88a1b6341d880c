"""Learning from corrections: ``review`` (what to look at next), ``learn`` (retrain now),
``dismiss`` (answer no to a merge or split suggestion), and the ``--simulate-corrections`` option
that ``evaluate`` takes from here."""
from __future__ import annotations

import argparse
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from photoclust.cli.common import (
    CommandError,
    add_json_option,
    add_library_option,
    add_model_option,
    job_context,
    open_from_args,
    print_json,
    printable,
)
from photoclust.core.jobs import JobContext, run_job
from photoclust.core.library import Library, open_library


def register(sub: argparse._SubParsersAction) -> None:
    review = sub.add_parser(
        "review", help="the photos and clusters most worth a look, with suggestions",
        description="List what would clean the library fastest: photos to confirm or move "
        "(each with its suggested cluster and why) and clusters to merge or split. Confirm "
        "with `photoclust move PATH --to ID` (same cluster) and merge/split with the editing "
        "commands; `photoclust dismiss` answers no to a merge or split.")
    review.add_argument("--limit", type=int, default=20, metavar="N",
                        help="how many questions (default 20)")
    add_model_option(review, "embedding model")
    add_library_option(review)
    add_json_option(review)
    review.set_defaults(func=cmd_review)

    learn = sub.add_parser(
        "learn", help="retrain on your corrections and reassign the other photos",
        description="Photos you moved or confirmed stay put; every other photo goes to the "
        "cluster the corrections point to, with a new confidence. One edit: `photoclust undo` "
        "takes it back.")
    add_model_option(learn, "embedding model")
    add_library_option(learn)
    add_json_option(learn)
    learn.set_defaults(func=cmd_learn)

    dismiss = sub.add_parser(
        "dismiss", help="answer no to a merge or split suggestion",
        description="`dismiss merge ID OTHER`: OTHER does not belong in ID. "
        "`dismiss split ID`: cluster ID is one group. Dismissed suggestions are not made again.")
    dismiss.add_argument("kind", choices=["merge", "split"])
    dismiss.add_argument("cluster_id", type=int, metavar="ID")
    dismiss.add_argument("other_cluster_id", type=int, nargs="?", default=None, metavar="OTHER")
    add_library_option(dismiss)
    add_json_option(dismiss)
    dismiss.set_defaults(func=cmd_dismiss)


def cmd_review(args: argparse.Namespace) -> int:
    # Learning modules load scikit-learn: imported when a command runs, not when the CLI starts.
    from photoclust.core.learning.suggestions import ClusterSuggestion, review_suggestions

    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    with open_from_args(args) as library:
        review = review_suggestions(library, limit=args.limit, model=args.model)
    if args.json:
        print_json(review.as_json())
        return 0
    questions = sorted([*review.items, *review.suggestions], key=lambda q: q.rank)
    if not questions:
        print("Nothing to review.")
    for q in questions:
        if isinstance(q, ClusterSuggestion):
            if q.kind == "merge":
                print(f"{q.rank:3d}. merge cluster {q.other_cluster_id} "
                      f"({printable(q.other_cluster_name)}) into {q.cluster_id} "
                      f"({printable(q.cluster_name)})? {printable(q.explanation)}")
            else:
                print(f"{q.rank:3d}. split {len(q.photo_ids)} photos out of cluster "
                      f"{q.cluster_id} ({printable(q.cluster_name)})? {printable(q.explanation)}")
        else:
            sure = f"{q.confidence:.0%} sure, " if q.confidence is not None else ""
            print(f"{q.rank:3d}. {printable(q.path)}\n     in {q.suggested_cluster_id} "
                  f"({printable(q.suggested_cluster_name)})? {sure}{printable(q.explanation)}")
    return 0


def cmd_learn(args: argparse.Namespace) -> int:
    from photoclust.core.learning.job import LearnJob

    with open_from_args(args) as library, job_context(args, "learning") as ctx:
        result = run_job(LearnJob(library, model=args.model), ctx)
    if args.json:
        print_json(result.to_json())
    elif result.event_id is None:
        print(f"Learned from {result.n_labelled} labelled photos; nothing changed.")
    else:
        print(f"{printable(result.description)}. (`photoclust undo` takes it back.)")
    return 0


def cmd_dismiss(args: argparse.Namespace) -> int:
    from photoclust.core.learning.constraints import refuse_suggestion

    if args.kind == "merge" and args.other_cluster_id is None:
        raise CommandError("dismiss merge needs two cluster ids: ID OTHER")
    with open_from_args(args) as library:
        refuse_suggestion(library, args.kind, args.cluster_id,
                          -1 if args.other_cluster_id is None else args.other_cluster_id)
    if args.json:
        print_json({"dismissed": args.kind, "cluster_id": args.cluster_id,
                    "other_cluster_id": args.other_cluster_id})
    return 0


def _fractions(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected fractions like 0.02,0.05") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: fractions must be in (0, 1]")
    return sorted(set(values))


def add_simulate_corrections_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulate-corrections", type=_fractions, default=None, metavar="F,F,...",
        help="after clustering, let a simulated user who knows the labels answer the review "
        "queue and report ARI after F x photos actions (e.g. 0.02,0.05), and the actions to "
        "reach ARI 0.9")
    parser.add_argument(
        "--with-arrivals", action="store_true",
        help="with --simulate-corrections: also let 10%% new photos arrive halfway (half of "
        "them of a label held out until then) and report what Organize did with them")


@contextmanager
def evaluation_library(args: argparse.Namespace) -> Iterator[Library | None]:
    """The library ``evaluate`` works in: ``--library``, else a temporary one kept open for
    ``--simulate-corrections``, else ``None`` (the job makes and drops its own)."""
    if args.library is not None:
        with open_library(args.library) as library:
            yield library
    elif getattr(args, "simulate_corrections", None):
        with tempfile.TemporaryDirectory(prefix="photoclust-eval-") as tmp:
            with open_library(Path(tmp) / "library.sqlite") as library:
                yield library
    else:
        yield None


def simulated_corrections(args: argparse.Namespace, library: Library | None, model: str,
                          ctx: JobContext) -> dict:
    """``{"curve": [...], "actions_to_ari_target": ..., ...}`` for ``evaluate --json``
    ({} without ``--simulate-corrections``)."""
    fractions = getattr(args, "simulate_corrections", None)
    if not fractions or library is None:
        return {}
    from photoclust.research.simulate import simulate_library_corrections

    result = simulate_library_corrections(
        library, model, args.dataset, fractions, max_fraction=max(0.2, max(fractions)),
        on_batch=lambda done, total: ctx.report(done, total, "simulated corrections"),
        arrivals=getattr(args, "with_arrivals", False))
    return result.as_dict()


def print_simulated_corrections(corrections: dict) -> None:
    if not corrections:
        return
    curve = "   ".join(f"{p['fraction']:.0%} ({p['actions']} actions): ARI {p['ari']:.3f}"
                       for p in corrections["curve"])
    print(f"corrections: {curve}")
    reached, target = corrections["actions_to_ari_target"], corrections["ari_target"]
    if reached is None:
        spent = sum(corrections["action_counts"].values())
        print(f"ARI {target} not reached within {spent} simulated actions")
    else:
        print(f"ARI {target} reached after {reached} simulated actions")
    arrivals = corrections.get("arrivals")
    if arrivals:
        curve = "   ".join(f"{p['fraction']:.0%}: ARI {p['ari']:.3f}"
                           for p in arrivals["curve_before"] + arrivals["curve_after"])
        print(f"new photos halfway: {arrivals['n_new']} ({arrivals['n_new_kind']} of a new kind); "
              f"old photos kept: {arrivals['old_kept_user']:.0%} of yours, "
              f"{arrivals['old_kept_auto']:.0%} of the rest; new photos in their kind's "
              f"cluster: {arrivals['new_joined']:.0%} (old photos: "
              f"{arrivals['old_in_kind_cluster']:.0%}); new kind in its own cluster: "
              f"{arrivals['new_kind_in_own_cluster']:.0%}")
        print(f"curve: {curve}")
