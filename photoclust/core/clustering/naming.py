"""Suggested cluster names from the photos' top ImageNet classes ("espresso / cup").

A suggestion is shown until the user renames the cluster (``name_source`` becomes ``user``).
Each photo votes for its top classes with their probabilities; the cluster is named after the one
or two classes with the most votes, the second only when it is close enough to the first to be
informative. Suggestions that would repeat another cluster's name get that cluster's next class
instead, so no two clusters look the same in the list.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping, Sequence

#: A second class joins the name when it has at least this share of the first class's votes.
SECOND_CLASS_SHARE = 0.5


def readable_class(name: str) -> str:
    """ImageNet synset names as people write them ("golden_retriever" -> "golden retriever")."""
    return str(name).replace("_", " ").strip()


def class_votes(top_classes: Iterable[Sequence[tuple[str, float]]]) -> list[tuple[str, float]]:
    """Summed probability per class over a cluster's photos, most voted first."""
    votes: dict[str, float] = defaultdict(float)
    for classes in top_classes:
        for name, prob in classes or ():
            votes[readable_class(name)] += float(prob)
    return sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))


def name_from_votes(votes: list[tuple[str, float]], taken: set[str] = frozenset()) -> str:
    """One or two class names joined by " / ", avoiding names in ``taken``; "" without votes."""
    if not votes:
        return ""
    candidates = []
    first_score = votes[0][1]
    for i, (first, score) in enumerate(votes):
        rest = votes[i + 1:]
        if rest and rest[0][1] >= SECOND_CLASS_SHARE * score:
            candidates.append(f"{first} / {rest[0][0]}")
        candidates.append(first)
        if score < SECOND_CLASS_SHARE * first_score:
            break
    for name in candidates:
        if name not in taken:
            return name
    base = candidates[0]
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


def suggest_names(labels: Sequence[int], photo_ids: Sequence[int],
                  top_classes: Mapping[int, Sequence[tuple[str, float]]]) -> dict[int, str]:
    """Suggested name per cluster label; larger clusters choose first. Photos without top
    classes do not vote; a cluster with no votes gets ``""`` (the GUI shows "Cluster N")."""
    members: dict[int, list[int]] = defaultdict(list)
    for label, pid in zip(labels, photo_ids):
        members[int(label)].append(int(pid))
    names: dict[int, str] = {}
    taken: set[str] = set()
    for label in sorted(members, key=lambda lab: (-len(members[lab]), lab)):
        votes = class_votes(top_classes.get(pid, ()) for pid in members[label])
        name = name_from_votes(votes, taken)
        if name:
            taken.add(name)
        names[label] = name
    return names
