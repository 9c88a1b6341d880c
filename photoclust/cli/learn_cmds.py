"""Learning from corrections: ``review`` (what to look at next), ``learn`` (retrain now),
``dismiss`` (answer no to a suggestion: a photo's cluster, a merge or a split)."""
from __future__ import annotations

import argparse

from photoclust.cli.common import (
    CommandError,
    add_model_option,
    command_options,
    edit_of_photos,
    job_context,
    open_from_args,
    print_json,
    printable,
    run_edit,
)
from photoclust.core.clustering import NO_CLUSTER
from photoclust.core.edits.history import EditResult
from photoclust.core.jobs import run_job


def register(sub: argparse._SubParsersAction) -> None:
    review = sub.add_parser(
        "review", help="the photos and clusters most worth a look, with suggestions",
        description="List what would clean the library fastest: photos to confirm or move "
        "(each with its suggested cluster and why) and clusters to merge or split. Confirm "
        "with `photoclust move PATH --to ID` (same cluster) and merge/split with the editing "
        "commands; `photoclust dismiss` answers no (a photo's suggested cluster, a merge, a "
        "split).")
    review.add_argument("--limit", type=int, default=20, metavar="N",
                        help="how many questions (default 20)")
    add_model_option(review, "embedding model")
    command_options(review, cmd_review)

    learn = sub.add_parser(
        "learn", help="retrain on your corrections and reassign the other photos",
        description="Photos you moved or confirmed stay put; every other photo goes to the "
        "cluster the corrections point to, with a new confidence. One edit: `photoclust undo` "
        "takes it back.")
    add_model_option(learn, "embedding model")
    command_options(learn, cmd_learn)

    dismiss = sub.add_parser(
        "dismiss", help="answer no to a suggestion (a photo's cluster, a merge or a split)",
        description="`dismiss photo ID PHOTO_PATH...`: these photos do not belong in cluster ID "
        "(one undoable edit; a photo in ID is taken out of it, the others stay where they are, "
        "and nothing puts them in ID again). `dismiss merge ID OTHER`: OTHER does not belong "
        "in ID. `dismiss split ID`: cluster ID is one group. Dismissed suggestions are not "
        "made again; each dismissal is an edit that `photoclust undo` takes back.")
    dismiss.add_argument("kind", choices=["photo", "merge", "split"])
    dismiss.add_argument("cluster_id", type=int, metavar="ID")
    dismiss.add_argument("other", nargs="*", default=[], metavar="OTHER|PHOTO_PATH",
                         help="merge: the other cluster's id; photo: the photos' paths")
    command_options(dismiss, cmd_dismiss)


def cmd_review(args: argparse.Namespace) -> int:
    # Learning modules load scikit-learn: imported when a command runs, not when the CLI starts.
    from photoclust.core.learning.questions import MERGE, PHOTO, Question
    from photoclust.core.learning.suggestions import review_suggestions

    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    from photoclust.core.faces.questions import people_questions

    with open_from_args(args) as library:
        review = review_suggestions(library, limit=args.limit, model=args.model)
        people = people_questions(library, limit=args.limit)
    if args.json:
        print_json({**review.as_json(), "people": [q.to_json() for q in people]})
        return 0
    questions: list[Question] = sorted([*review.items, *review.suggestions],
                                       key=lambda q: q.rank)
    if not questions and not people:
        print("Nothing to review.")
    for q in questions:
        if q.kind == PHOTO:
            sure = f"{q.confidence:.0%} sure, " if q.confidence is not None else ""
            print(f"{q.rank:3d}. {printable(q.path)}\n     in {q.suggested_cluster_id} "
                  f"({printable(q.suggested_cluster_name)})? {sure}{printable(q.explanation)}")
        elif q.kind == MERGE:
            print(f"{q.rank:3d}. merge cluster {q.other_cluster_id} "
                  f"({printable(q.other_cluster_name)}) into {q.cluster_id} "
                  f"({printable(q.cluster_name)})? {printable(q.explanation)}")
        else:
            print(f"{q.rank:3d}. split {len(q.photo_ids)} photos out of cluster "
                  f"{q.cluster_id} ({printable(q.cluster_name)})? {printable(q.explanation)}")
    _print_people_questions(people)
    return 0


def _print_people_questions(people) -> None:
    """The people questions, each with the commands that answer it."""
    if people:
        print("People:")
    for q in people:
        if q.kind == "same_person":
            print(f"{q.rank:3d}. {printable(q.text)} (faces {_ids(q.face_ids)} and "
                  f"{_ids(q.other_face_ids)})\n     yes: photoclust people merge {q.person_id} "
                  f"{q.other_person_id}; no: photoclust people not-same {q.person_id} "
                  f"{q.other_person_id}")
        elif q.kind == "one_person":
            print(f"{q.rank:3d}. {printable(q.text)} (faces {_ids(q.face_ids)} and "
                  f"{_ids(q.other_face_ids)}; {q.part_sizes[0]} and {q.part_sizes[1]} faces)\n"
                  f"     yes: photoclust people one {q.person_id}; no: photoclust people split "
                  f"{q.person_id} --faces {_ids(q.split_face_ids)}")
        elif q.kind == "is_this":
            print(f"{q.rank:3d}. {printable(q.text)} face {q.face_id} in {printable(q.path)}\n"
                  f"     yes: photoclust faces move {q.face_id} --to {q.person_id}; no: "
                  f"photoclust faces dismiss {q.face_id}")
        else:
            print(f"{q.rank:3d}. {printable(q.text)} face {q.face_id} in {printable(q.path)}\n"
                  f"     photoclust faces move {q.face_id} --to PERSON|new [--name NAME]")


def _ids(ids) -> str:
    return " ".join(str(i) for i in ids)


def cmd_learn(args: argparse.Namespace) -> int:
    from photoclust.core.learning.job import LearnJob

    with open_from_args(args) as library, job_context(args, "learning") as ctx:
        # The clusters, then the faces the user did not place: two undoable edits.
        result = run_job(LearnJob(library, model=args.model), ctx)
    people = result.people
    if args.json:
        print_json(result.to_json())
        return 0
    if result.photos_skipped:
        # Faces but no clusters yet: only the faces were re-sorted.
        print(f"Photos: not re-sorted ({printable(result.photos_skipped)}).")
        if people is None:
            print("People: no face you did not place had to move.")
    elif result.event_id is None:
        print(f"Learned from {result.n_labelled} labelled photos; nothing changed.")
    else:
        print(f"{printable(result.description)}. (`photoclust undo` takes it back.)")
    if people is not None:
        again = "another " if result.event_id is not None else ""
        print(f"People: {printable(people.description)}. ({again}`photoclust undo` takes it "
              "back.)")
    return 0


def cmd_dismiss(args: argparse.Namespace) -> int:
    from photoclust.core.clustering import editing

    if args.kind == "photo":
        return _dismiss_photos(args)
    other = NO_CLUSTER
    if args.kind == "merge":
        if len(args.other) != 1:
            raise CommandError("dismiss merge needs two cluster ids: ID OTHER")
        try:
            other = int(args.other[0])
        except ValueError:
            raise CommandError(f"dismiss merge: {printable(args.other[0])} is not a cluster id") \
                from None
        if other == args.cluster_id:
            raise CommandError(f"dismiss merge: {other} and {args.cluster_id} are the same "
                               "cluster; name two different clusters (ID OTHER). Nothing was "
                               "changed.")
    elif args.other:
        raise CommandError("dismiss split takes one cluster id: ID")
    other_id = None if other == NO_CLUSTER else other

    def dismiss(library) -> EditResult:
        _check_clusters_exist(library, [args.cluster_id, *([] if other_id is None else [other])])
        return editing.refuse_suggestion(library, args.kind, args.cluster_id, other)

    def said(result: EditResult) -> str:
        if args.kind == "merge":
            return (f"Dismissed: cluster {other} will not be suggested for merging into cluster "
                    f"{args.cluster_id} again ({printable(result.description)}; `photoclust "
                    "undo` takes it back).")
        return (f"Dismissed: cluster {args.cluster_id} will not be suggested for a split again "
                f"({printable(result.description)}; `photoclust undo` takes it back).")

    return run_edit(args, dismiss, lambda library, result: {
        "dismissed": args.kind, "cluster_id": args.cluster_id, "other_cluster_id": other_id},
        nothing="Nothing changed: that suggestion was already dismissed.", said=said)


def _check_clusters_exist(library, cluster_ids: list[int]) -> None:
    """A ``CommandError`` naming the ids that are no cluster of the library (or one merged or
    emptied away), so that a typo is not remembered silently as an answer."""
    from photoclust.core.library.queries import cluster_info

    unknown = [str(c) for c in dict.fromkeys(cluster_ids) if cluster_info(library, c) is None]
    if unknown:
        raise CommandError(f"no such cluster: {', '.join(unknown)} (`photoclust clusters` lists "
                           "them); nothing was dismissed.")


def _dismiss_photos(args: argparse.Namespace) -> int:
    from photoclust.core.clustering import editing

    if not args.other:
        raise CommandError("dismiss photo needs a cluster id and at least one photo path: "
                           "ID PHOTO_PATH...")
    dismiss = edit_of_photos(args.other, "nothing was changed", lambda lib, ids:
                             editing.photos_not_in_cluster(lib, ids, args.cluster_id))
    return run_edit(args, dismiss, lambda library, result: {
        "dismissed": "photo", "cluster_id": args.cluster_id},
        nothing="Nothing changed: already marked as not in that cluster.")
