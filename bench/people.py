"""People quality and cost on the labelled face set (``faces_lfw``: one folder per person).

Faces are found, described and grouped by the product's own code (``FacesJob``: dlib HOG
detector, upsampled once on these small photos, 5-point landmarks, ResNet descriptor; Chinese
whispers at 0.5) in a fresh library. Scored by identity over the photos where a face was found
(the face nearest the photo's centre is the photo's subject, as LFW centres it): face-found
rate, BCubed F and ARI, people found vs true; a face in no person counts as a person of its own.

Then a simulated user answers questions on 2 % and 5 % of the faces, through the real edits
(``core/faces/editing.py``), questions chosen without the truth (``core/faces/questions.py``):
"Are these the same person?" for the pairs of people whose mean faces are nearest (below 0.65;
at most a third of the answers), "Is this one person?" for the people whose faces are most
spread (a third; "no" splits the person automatically, ``split_person``), then "Who is this?"
for the faces in no person and the least sure faces. The user's answer (the truth) merges the
pair, moves the face to the person most of its identity's faces are in (a new person if none),
or confirms. The grouping runs again after the answers.

CPU ms per photo: the faces stage's CPU time (decode, detect, describe, store) over the photos;
``--large N`` also times N photos of 12 MP (LFW faces pasted on a 4000 x 3000 noisy canvas, JPEG
q90) through the same decode + detect + describe.

    python bench/people.py [--people 40] [--answers 0.02,0.05] [--large 6]
    python bench/people.py --people 0      # all 134 people, 2,315 photos (about 4 min of CPU)
    python bench/people.py --people 0 --save faces.npz     # and keep the faces found
    python bench/people.py --faces-from faces.npz [--batches 5] [--weighted]   # seconds
    python bench/people.py --faces-from faces.npz --review-order   # the review's order
    python bench/people.py --faces-from faces.npz --half last      # half of the people only
    python bench/people.py --faces-from faces.npz --shared-min 0   # every edge (before #28)

``--without alone,merge,lookalikes`` turns off the rules of #28's third pass (a face alone joins
the person holding most of its nearest faces; two groups of Chinese whispers joined by most of
their faces become one; no "the same person?" for lookalikes the grouping keeps apart): the
figures before them, in the same session; ``splitkept,silhouette`` those of #28's answers pass
(the chance of "Are these one person?" without the shared-neighbour rule; "Is this <person>?"
from the near faces alone); ``near`` turns off the groups joined by their near faces
(``grouping.merge_near_groups``, #28's fourth pass); ``regroup`` the unnamed people a batch's
faces join grouped again with them (``grouping.REGROUP``, #28's faces arriving a few at a time).

``--review-order``: the simulated user answers the review's people questions in the order the
review asks them (``questions.people_questions``: most expected fixes first, "Are these one
person?" among them: no splits the second part shown off, ``split_person`` with its faces)
instead of a third each for pairs, splits and faces.

``--batches N`` lets the saved faces arrive in N batches (random photo order, ``--order-seed S``),
grouped after each (Organize's incremental grouping); ``--weighted`` groups with nearness-weighted
Chinese whispers (``grouping.WEIGHTED``, not the product's default). ``--shared-min S`` sets
``grouping.SHARED_MIN`` (0: Chinese whispers on every edge under 0.5, the grouping before the
shared-neighbour rule). ``--half first|last|even|odd`` keeps the saved faces of the photos of half
of the people (alphabetical: the first or last 67, every other one from the first or the second), a
second check that no constant fits one set (its face-found rate counts only the photos with a
face). ``--large`` also times 12 MP photos without faces.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from machine_info import describe_machine  # noqa: E402
from photoclust.core.faces import questions, read  # noqa: E402
from photoclust.core.faces.editing import (  # noqa: E402
    EditError,
    learn_people,
    merge_people,
    move_faces,
    split_person,
)
from photoclust.core.faces.grouping import descriptors_of, group_faces  # noqa: E402
from photoclust.core.faces.job import FacesJob  # noqa: E402
from photoclust.core.jobs import run_job  # noqa: E402
from photoclust.core.library import open_library  # noqa: E402
from photoclust.core.library.scan import ScanJob  # noqa: E402

DATASETS = Path(os.environ.get("PHOTOCLUST_DATASETS") or REPO.parent / "shared" / "datasets")
#: ``--review-order``: the simulated user answers the review's people questions in its order.
REVIEW_ORDER = False


def bcubed_f(truth: list, pred: list) -> float:
    by_t: dict = defaultdict(list)
    by_p: dict = defaultdict(list)
    for i, (t, p) in enumerate(zip(truth, pred)):
        by_t[t].append(i)
        by_p[p].append(i)
    precision = recall = 0.0
    for t, p in zip(truth, pred):
        same_p = by_p[p]
        same_t = by_t[t]
        both = sum(1 for j in same_p if truth[j] == t)
        precision += both / len(same_p)
        recall += both / len(same_t)
    n = len(truth)
    precision, recall = precision / n, recall / n
    return 2 * precision * recall / (precision + recall)


def subjects(library) -> dict[int, read.FaceRow]:
    """Each photo's subject: its face nearest the centre (LFW centres the person named)."""
    best: dict[int, tuple[float, read.FaceRow]] = {}
    for face in read.list_faces(library):
        left, top, w, h = face.box
        d = (left + w / 2 - 125) ** 2 + (top + h / 2 - 125) ** 2
        if face.photo_id not in best or d < best[face.photo_id][0]:
            best[face.photo_id] = (d, face)
    return {pid: f for pid, (_d, f) in best.items()}


def score(library, truth_of_photo: dict[int, str]) -> dict:
    faces = subjects(library)
    ids = sorted(faces)
    truth = [truth_of_photo[pid] for pid in ids]
    pred = [faces[pid].person_id if faces[pid].person_id is not None else f"alone{pid}"
            for pid in ids]
    people = {p for p in pred if not str(p).startswith("alone")}
    return {"found": len(ids) / len(truth_of_photo), "bcubed_f": bcubed_f(truth, pred),
            "ari": adjusted_rand_score(truth, pred), "people": len(people),
            "alone": sum(str(p).startswith("alone") for p in pred), "true_people": len(set(truth))}


def simulate_answers(library, truth_of_photo: dict[int, str], budget: int) -> int:
    """Answer ``budget`` questions of ``core/faces/questions.py`` (see the module docstring);
    returns the answers given. Only a photo's subject has a known identity: the faces of people
    behind are not asked about."""
    asked = 0
    data = questions.people_faces(library)
    truth_of_person, _ = _identities(library, truth_of_photo)
    merged: set[int] = set()
    for a, b, _dist in questions.same_person_pairs(library, limit=10**6, data=data):
        if asked >= budget // 3:  # a third for merges, a third for splits, the rest faces
            break
        if a in merged or b in merged:
            continue
        asked += 1
        if truth_of_person.get(a) is not None and truth_of_person.get(a) == \
                truth_of_person.get(b):
            merge_people(library, a, [b])
            merged.add(b)
    subject = subjects(library)
    by_person: dict[int, list[read.FaceRow]] = defaultdict(list)
    for f in subject.values():
        if f.person_id is not None:
            by_person[f.person_id].append(f)
    for p, _spread in questions.spread_people(library, limit=10**6, data=data):
        if asked >= (budget * 2) // 3:
            break
        if p in merged:
            continue
        asked += 1
        names = Counter(truth_of_photo[f.photo_id] for f in by_person[p])
        if len(names) > 1 and names.most_common(2)[1][1] >= 2:
            try:
                split_person(library, p)
            except EditError:
                pass
    subject_ids = {f.id: f for f in subjects(library).values()}
    _, person_of_identity = _identities(library, truth_of_photo)
    for face_id in questions.faces_to_ask(library, limit=10**6):
        if asked >= budget:
            break
        face = subject_ids.get(face_id)
        if face is None:
            continue
        asked += 1
        name = truth_of_photo[face.photo_id]
        target = person_of_identity.get(name)
        if face.person_id is not None and face.person_id == target:
            continue  # "yes"
        if target is None:
            move_faces(library, [face.id], None)
            person_of_identity[name] = _person_of_face(library, face.id)
        else:
            move_faces(library, [face.id], target)
    group_faces(library)
    return asked


def _person_of_face(library, face_id: int) -> int | None:
    for f in read.list_faces(library):
        if f.id == face_id:
            return f.person_id
    return None


def _identities(library, truth_of_photo) -> tuple[dict[int, str], dict[str, int]]:
    """Each person's identity (most of its faces'), and each identity's person (of the people
    who are that identity, the one holding most of its faces; none when no person is: a user
    does not take a person who is mostly someone else for them): what the simulated user
    knows."""
    counts: dict[int, Counter] = defaultdict(Counter)
    for f in subjects(library).values():
        if f.person_id is not None:
            counts[f.person_id][truth_of_photo[f.photo_id]] += 1
    truth_of_person = {pid: c.most_common(1)[0][0] for pid, c in counts.items()}
    best: dict[str, tuple[int, int]] = {}
    for pid, c in counts.items():
        for name, n in c.items():
            if name != truth_of_person[pid]:
                continue
            if name not in best or n > best[name][0]:
                best[name] = (n, pid)
    return truth_of_person, {name: pid for name, (_n, pid) in best.items()}


def _vectors(library) -> np.ndarray:
    from sqlalchemy import select

    from photoclust.core.library.models import Face

    with library.session() as s:
        rows = s.execute(select(Face.id, Face.descriptor)).all()
    out = np.zeros((max(r[0] for r in rows) + 1, 128), dtype=np.float32)
    out[[r[0] for r in rows]] = descriptors_of([r[1] for r in rows])
    return out


def save_faces(library, truth_of_photo: dict[int, str], path: Path) -> None:
    faces = read.list_faces(library)
    vectors = _vectors(library)
    subject = {f.id for f in subjects(library).values()}
    np.savez(path, descriptor=vectors[[f.id for f in faces]],
             box=np.array([f.box for f in faces]), photo=np.array([f.photo_id for f in faces]),
             unsure=np.array([f.unsure for f in faces]),
             subject=np.array([f.id in subject for f in faces]),
             truth=np.array([truth_of_photo[f.photo_id] for f in faces]),
             photos=np.array(len(truth_of_photo)))


def simulate_review(library, truth_of_photo: dict[int, str], budget: int) -> int:
    """Answer ``budget`` questions in the order the review asks them
    (``questions.people_questions``, read again after each batch it asked): "the same person?"
    (yes: merge, no: remembered), "Who is this?" and "Is this <person>?" (the face goes to the
    person most of its identity's faces are in, a new one if none; yes confirms it). Questions
    about a face that is not a photo's subject are skipped and not counted; a pair one of whose
    people a merge of this batch emptied is skipped. Stops when the review has nothing left to
    ask. "Are these one person?": no (the second part split off with its faces) when the
    photos' subjects in its two parts are mostly of two identities, else yes (remembered); a
    part without a subject is skipped and not counted."""
    from photoclust.core.faces.editing import confirm_person, people_not_same

    asked = 0
    while asked < budget:
        # All of them: the faces of people behind, asked too, are skipped here (not counted).
        batch = questions.people_questions(library, limit=10**4)
        truth_of_person, person_of_identity = _identities(library, truth_of_photo)
        subject_ids = {f.id: f for f in subjects(library).values()}
        merged: set[int] = set()
        counted = 0
        for q in batch:
            if asked >= budget:
                break
            if q.kind == questions.SAME_PERSON:
                a, b = q.person_id, q.other_person_id
                assert a is not None and b is not None
                if a in merged or b in merged:
                    continue
                asked += 1
                counted += 1
                if truth_of_person.get(a) is not None and \
                        truth_of_person.get(a) == truth_of_person.get(b):
                    try:
                        merge_people(library, a, [b])
                    except EditError:  # an answer of this batch moved its last faces away
                        continue
                    merged.add(b)
                    truth_of_person, person_of_identity = _identities(library, truth_of_photo)
                else:
                    try:
                        people_not_same(library, a, b)
                    except EditError:  # already known as two (an earlier answer of this batch)
                        pass
                continue
            if q.kind == questions.ONE_PERSON:
                assert q.person_id is not None
                if q.person_id in merged:
                    continue
                split = set(q.split_face_ids)
                sides: list[Counter] = [Counter(), Counter()]
                for f in subject_ids.values():
                    if f.person_id == q.person_id:
                        sides[f.id in split][truth_of_photo[f.photo_id]] += 1
                if not sides[0] or not sides[1]:
                    continue
                asked += 1
                counted += 1
                try:
                    if sides[0].most_common(1)[0][0] != sides[1].most_common(1)[0][0]:
                        split_person(library, q.person_id, sorted(split))
                        merged.add(q.person_id)  # its faces changed: asked again next batch
                        truth_of_person, person_of_identity = _identities(library,
                                                                          truth_of_photo)
                    else:
                        confirm_person(library, q.person_id)
                except EditError:  # an answer of this batch moved its faces
                    pass
                continue
            face = subject_ids.get(q.face_id or -1)
            if face is None:
                continue
            asked += 1
            counted += 1
            name = truth_of_photo[face.photo_id]
            target = person_of_identity.get(name)
            try:
                if target is None:
                    move_faces(library, [face.id], None)
                    person_of_identity[name] = _person_of_face(library, face.id)
                else:
                    move_faces(library, [face.id], target)  # yes: placed where it is
            except EditError:  # a merge of this batch placed it there already: asked in vain
                pass
        if not counted:
            break  # nothing left that the simulated user can answer
    group_faces(library)
    return asked


def from_saved(args) -> int:
    """Grouping and answers on faces saved by ``--save`` (no detection: seconds, not minutes)."""
    from sqlalchemy import insert

    from photoclust.core.library.models import Face, Photo

    saved = dict(np.load(args.faces_from))
    if args.half:
        names = sorted(set(saved["truth"][saved["subject"]].tolist()))
        half = {"first": names[:len(names) // 2], "last": names[len(names) // 2:],
                "even": names[::2], "odd": names[1::2]}[args.half]
        keep = np.isin(saved["truth"], half)
        saved = {k: (v if k == "photos" else v[keep]) for k, v in saved.items()}
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        photo_truth = dict(zip(saved["photo"].tolist(), saved["truth"].tolist()))
        n_photos = int(saved["photos"])
        with library.session() as s:
            s.execute(insert(Photo), [{"id": pid, "path": f"/lfw/{photo_truth.get(pid, 'none')}/"
                                       f"{pid}.jpg", "content_hash": f"h{pid}", "file_size": 1,
                                       "mtime_ns": 1, "width": 250, "height": 250,
                                       "status": "present"} for pid in range(1, n_photos + 1)])
        # --batches N: the photos arrive in N batches in a random order (Organize run after
        # each), so the grouping is incremental: later faces join the people of earlier ones.
        order = np.random.default_rng(args.order_seed).permutation(n_photos) + 1
        batch_of = {int(pid): k * args.batches // n_photos for k, pid in enumerate(order)}
        rows = [{"photo_id": int(pid), "left": int(b[0]), "top": int(b[1]), "width": int(b[2]),
                 "height": int(b[3]), "descriptor": d.astype("<f4").tobytes(),
                 "person_id": None, "source": "auto", "unsure": bool(u), "removed": False}
                for pid, b, d, u in zip(saved["photo"], saved["box"], saved["descriptor"],
                                        saved["unsure"])]
        # Photos without a face count in the face-found rate only: give them a truth too.
        truth_of_photo = {pid: photo_truth.get(pid, f"none{pid}")
                          for pid in range(1, n_photos + 1)}
        if args.half:  # the other half's photos are not scored (nor counted as faceless)
            truth_of_photo = {pid: t for pid, t in truth_of_photo.items() if pid in photo_truth}
        cpu = time.process_time()
        for batch in range(args.batches):
            with library.session() as s:
                s.execute(insert(Face), [r for r in rows
                                         if batch_of[r["photo_id"]] == batch])
            grouping = group_faces(library)
        print(f"{n_photos} photos, {len(saved['photo'])} faces (saved, {args.batches} "
              f"batch(es)): grouping {(time.process_time() - cpu) * 1000:.0f} ms CPU "
              f"(last batch: {grouping.new_people} new people, {grouping.alone} faces alone)")
        report(library, truth_of_photo, args.answers, len(saved["photo"]))
        library.close()
    return 0


def report(library, truth_of_photo: dict[int, str], answers: str, n_faces: int) -> None:
    before = score(library, truth_of_photo)
    print(f"  no answer:  face found {before['found']:.2%}, BCubed F "
          f"{before['bcubed_f']:.4f}, ARI {before['ari']:.4f}, people {before['people']} "
          f"(+{before['alone']} faces alone) vs {before['true_people']} true")
    given = 0
    for fraction in [float(x) for x in answers.split(",") if x]:
        budget = round(fraction * n_faces) - given
        simulate = simulate_review if REVIEW_ORDER else simulate_answers
        given += simulate(library, truth_of_photo, max(0, budget))
        after = score(library, truth_of_photo)
        print(f"  {fraction:.0%} answered ({given}): BCubed F {after['bcubed_f']:.4f}, "
              f"ARI {after['ari']:.4f}, people {after['people']} (+{after['alone']} alone)")
        learned = learn_people(library)
        after = score(library, truth_of_photo)
        print(f"    then `people learn` ({0 if learned is None else len(learned.photo_ids)} "
              f"photos' faces moved): BCubed F {after['bcubed_f']:.4f}, ARI {after['ari']:.4f}")


def large_photos(folder: Path, n: int, source: Path) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    files = sorted(source.glob("*/*.jpg"))
    out = []
    for k in range(n):
        canvas = rng.integers(60, 200, size=(3000 // 8, 4000 // 8, 3), dtype=np.uint8)
        image = Image.fromarray(canvas).resize((4000, 3000))
        for j in range(3):  # three faces of about 500 px, as in a group portrait
            face = Image.open(files[(k * 3 + j) * 7 % len(files)]).convert("RGB")
            image.paste(face.resize((750, 750)), (300 + j * 1200, 1000))
        path = folder / f"large{k}.jpg"
        image.save(path, quality=90)
        out.append(path)
    return out


def large_cost(big: Path, n: int, root: Path) -> None:
    """CPU per 12 MP photo through the faces stage's decode + detect + describe (the job's
    route: decode at a quarter, detect there, describe there or on a finer decode for faces
    under ``DESCRIBE_FACE_SIDE`` px), with three faces and with none."""
    from PIL import Image

    from photoclust.core.faces.detect import DETECT_MIN_SIDE, FaceFinder
    from photoclust.core.imaging import load_rgb

    big.mkdir()
    paths = large_photos(big, n, root)
    blank = big / "none.jpg"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(60, 200, size=(375, 500, 3), dtype=np.uint8)).resize(
        (4000, 3000)).save(blank, quality=90)
    finder = FaceFinder()
    finder.load()
    for label, photos in (("3 faces", paths), ("no face", [blank] * n)):
        cpu = time.process_time()
        counts = []
        for path in photos:
            image = load_rgb(path, min_side=DETECT_MIN_SIDE)
            counts.append(len(finder.find(image, (4000, 3000),
                                          detail=lambda side, p=path: load_rgb(p, min_side=side))))
        per = (time.process_time() - cpu) / len(photos) * 1000
        print(f"12 MP photos, {label}: {per:.0f} ms CPU/photo (decode + detect + describe), "
              f"faces found {sum(counts)}")


#: ``--without`` RULE: (module, constant, the value that turns the rule off).
RULES = {
    "alone": ("grouping", "MAJORITY_THRESHOLD", None),
    "merge": ("grouping", "MERGE_SHARE", None),
    "near": ("grouping", "MERGE_NEAR", None),
    "regroup": ("grouping", "REGROUP", False),
    "small": ("grouping", "JOIN_SMALL", False),
    "lookalikes": ("questions", "LOOKALIKES_APART", None),
    "splitkept": ("questions", "SPLIT_KEPT", False),
    "silhouette": ("questions", "SILHOUETTE", False),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=40, help="first N people (0: all)")
    parser.add_argument("--answers", default="0.02,0.05")
    parser.add_argument("--large", type=int, default=6, help="12 MP photos to time (0: none)")
    parser.add_argument("--save", type=Path, default=None, metavar="FILE.npz",
                        help="also save the faces (descriptor, box, photo, truth) found")
    parser.add_argument("--order-seed", type=int, default=0, metavar="S",
                        help="with --batches: the seed of the photos' arrival order (the spread "
                        "between orders is larger than some rules' effect: judge on several)")
    parser.add_argument("--batches", type=int, default=1, metavar="N",
                        help="with --faces-from: the photos arrive in N batches, grouped after "
                        "each (incremental)")
    parser.add_argument("--weighted", action="store_true",
                        help="Chinese whispers with edges weighted by nearness (not the default)")
    parser.add_argument("--shared-min", type=float, default=None, metavar="S",
                        help="grouping.SHARED_MIN (0: every edge, the grouping before #28)")
    parser.add_argument("--half", choices=["first", "last", "even", "odd"], default=None,
                        help="with --faces-from: only the faces of half of the people")
    parser.add_argument("--faces-from", type=Path, default=None, metavar="FILE.npz",
                        help="skip detection: group and answer on faces saved by --save")
    parser.add_argument("--without", default="", metavar="RULES",
                        help="turn off rules of the grouping and questions (comma-separated: "
                        "alone = attach_by_majority, merge = merge_split_groups, lookalikes = "
                        "questions.LOOKALIKES_APART, splitkept = questions.SPLIT_KEPT, "
                        "silhouette = questions.SILHOUETTE, near = merge_near_groups, regroup = "
                        "grouping.REGROUP, small = grouping.JOIN_SMALL): the figures before them")
    parser.add_argument("--review-order", action="store_true",
                        help="answer the review's people questions in the order it asks them "
                        "(people_questions), instead of a third each for pairs, splits, faces")
    args = parser.parse_args()
    global REVIEW_ORDER
    REVIEW_ORDER = args.review_order
    root = DATASETS / "faces_lfw"
    if not root.is_dir():
        print(f"no faces_lfw in {DATASETS}")
        return 1
    print(describe_machine())
    if args.weighted:
        from photoclust.core.faces import grouping

        grouping.WEIGHTED = True
    if args.shared_min is not None:
        from photoclust.core.faces import grouping

        grouping.SHARED_MIN = args.shared_min
    without = {w for w in args.without.split(",") if w}
    if without - set(RULES):
        parser.error(f"--without: unknown {sorted(without)}")
    if without:
        from photoclust.core.faces import grouping

        modules = {"grouping": grouping, "questions": questions}
        for rule in without:
            module, name, off = RULES[rule]
            setattr(modules[module], name, off)
    if args.faces_from:
        return from_saved(args)
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if args.people:
        names = names[:args.people]
    work = Path(tempfile.mkdtemp(prefix="people-bench-"))
    try:
        photos = work / "photos"
        for name in names:
            shutil.copytree(root / name, photos / name)
        library = open_library(work / "library.sqlite")
        run_job(ScanJob(library, [photos]))
        from sqlalchemy import select

        from photoclust.core.library.models import Photo

        with library.session() as s:
            truth_of_photo = {pid: Path(path).parent.name
                              for pid, path in s.execute(select(Photo.id, Photo.path))}
        cpu = time.process_time()
        wall = time.monotonic()
        found = run_job(FacesJob(library, group=False))
        detect_cpu = time.process_time() - cpu
        detect_wall = time.monotonic() - wall
        cpu = time.process_time()
        grouping = group_faces(library)
        group_cpu = time.process_time() - cpu
        n = len(truth_of_photo)
        print(f"{len(names)} people, {n} photos: {found.faces} faces "
              f"({found.unsure} unsure), faces stage {detect_cpu / n * 1000:.0f} ms CPU/photo "
              f"({detect_wall / n * 1000:.0f} ms wall), grouping {group_cpu * 1000:.0f} ms CPU "
              f"({grouping.new_people} people, {grouping.alone} faces alone)")
        if args.save:
            save_faces(library, truth_of_photo, args.save)
        report(library, truth_of_photo, args.answers, found.faces)
        library.close()
        if args.large:
            large_cost(work / "large", args.large, root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
