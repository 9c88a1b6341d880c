"""Suggested cluster names: the most specific concept that covers most of a cluster's photos.

A suggestion is shown until the user renames the cluster (``name_source`` becomes ``user``).
The photos' stored top ImageNet classes are lifted through WordNet's hierarchy
(``photoclust.core.search.vocabulary``): a cluster of beagles is "beagle", one of many breeds
"dog", one of cowboy hats, sombreros and bonnets "hat". A cluster is named after two concepts
("dog / tabby") only when it really holds two: each covers a good share of its photos and the
pair says much more than the one concept above both. When no concept is worth a name, the one
or two most voted classes are used, as before. Suggestions that would repeat another cluster's
name get that cluster's next option, so no two clusters look the same in the list.
Scenes and common words (``search/scenes.py``: "bathroom", "kitchen", "church", "dress") name
a cluster when they cover most of its photos and clearly more than the name the hierarchy
would give: bathrooms whose photos show medicine chests, tubs and toilet seats are "bathroom",
not "medicine chest"; a cluster of gowns and overskirts is "dress", not "garment". Where the
model is unsure, a word among most photos' stored classes whose classes together outvote every
other class goes first too: knitted hats that are "wool" or "knee pad" first are "hat".
Measured in bench/search_quality.py (the names table); design in docs/search.md.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import AbstractSet, Iterable, Mapping, Sequence

import numpy as np

#: A second class joins the name when it has at least this share of the first class's votes.
SECOND_CLASS_SHARE = 0.5
#: A concept names a cluster when it is above the most likely class of more than this share of
#: its photos (a majority).
COVERS_MOST = 0.5
#: In a two-concept name, each concept covers at least this share of the photos, the two
#: together this share...
COVERS_PART = 0.25
COVERS_PAIR = 0.8
#: ...and the pair is this much more specific (``Vocabulary.information``) than the one concept
#: that covers as many photos: two classes do not beat a concept over four classes ("hat",
#: information 0.8), "beagle / tabby" beats "domestic animal" (0.3).
PAIR_MORE_SPECIFIC = 0.21
#: A scene or common word goes first when it covers most photos and this much more of them
#: than the name the hierarchy chose (which may be more specific: one class of the scene).
WORD_COVERS_MORE = 0.15
#: ...or when it covers at most this much less and is more specific than that name; never
#: when one class is the most likely of this share of the photos (four cabs and a tram: "cab").
WORD_COVERS_LESS = 0.2
ONE_CLASS_IS_THE_NAME = 0.75
#: Concepts that cover this share of all classes or more say nothing ("whole", "artifact").
TOO_GENERAL = 0.35
#: WordNet's abstract or technical upper categories, which nobody names an album after
#: ("consumer goods", "placental"): the names go to the concepts below or above them.
NOT_A_NAME = frozenset({
    "n00001740", "n00001930", "n00002684", "n00003553", "n00021939", "n00004475", "n00004258",
    "n03575240", "n01466257", "n01886756", "n03076708", "n03093574", "n00020827", "n00020090",
    "n15046900", "n00019128", "n11675842", "n13087625", "n13086908", "n01661818", "n01473806",
    "n03122748", "n03100490", "n04170037", "n01471682",
})

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


def name_from_votes(votes: list[tuple[str, float]],
                    taken: AbstractSet[str] = frozenset()) -> str:
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


def hierarchy_names(photo_classes: Iterable[Sequence[tuple[str, float]]]) -> list[str]:
    """Names from WordNet concepts for a cluster whose photos have these top classes, best
    first: the most specific concept that covers most of the photos (a photo is
    covered by the concepts above its most likely class), two when the cluster really holds two,
    then the next options; ``[]`` when no concept covers enough or the classes are unknown."""
    from photoclust.core.search.vocabulary import vocabulary

    vocab = vocabulary()
    firsts: Counter[int] = Counter()
    seen: list[set[int]] = []  # per photo: every class among its stored top classes
    votes: dict[int, float] = defaultdict(float)  # per class: its probability summed
    for classes in photo_classes:
        known = [(float(p), vocab.class_index[readable_class(n)]) for n, p in classes or ()
                 if readable_class(n) in vocab.class_index]
        if known:
            firsts[max(known)[1]] += 1
            seen.append({k for _, k in known})
            for p, k in known:
                votes[k] += p
    n = sum(firsts.values())
    if n == 0:
        return []
    cover: dict[int, float] = defaultdict(float)
    for k, count in firsts.items():
        for c in vocab.ancestors(k):
            cover[c] += count / n
    nameable = [c for c in cover if vocab.wnids[c] not in NOT_A_NAME
                and len(vocab.classes_under(c)) < TOO_GENERAL * vocab.n_classes]
    # most specific first; of concepts over the same classes, the lowest (jean, not apparel)
    singles = sorted((c for c in nameable if cover[c] > COVERS_MOST),
                     key=lambda c: (-vocab.information(c), -cover[c], -len(vocab.ancestors(c)),
                                    vocab.name(c)))
    parts = sorted((c for c in nameable if cover[c] >= COVERS_PART),
                   key=lambda c: (-cover[c], vocab.name(c)))
    pairs = [(a, b) for i, a in enumerate(parts) for b in parts[i + 1:]
             if cover[a] + cover[b] >= COVERS_PAIR
             and not np.intersect1d(vocab.classes_under(a), vocab.classes_under(b)).size]
    # the pair that covers most (to a tenth), then the most specific
    pairs.sort(key=lambda ab: (-round(cover[ab[0]] + cover[ab[1]], 1),
                               -(vocab.information(ab[0]) + vocab.information(ab[1])),
                               -len(vocab.ancestors(ab[0])) - len(vocab.ancestors(ab[1]))))

    def covering_information(share: float) -> float:
        """How specific the most specific concept covering ``share`` of the photos is."""
        share = min(share, COVERS_PAIR) - 0.05
        return max((vocab.information(c) for c in nameable if cover[c] >= share), default=0.0)

    best_single = vocab.information(singles[0]) if singles else 0.0
    two = [f"{vocab.name(a)} / {vocab.name(b)}" for a, b in pairs[:3]
           if (vocab.information(a) + vocab.information(b)) / 2
           >= max(best_single, covering_information(cover[a] + cover[b]) + PAIR_MORE_SPECIFIC)]
    # (name, share of photos covered, how specific: the less specific concept of a pair)
    chosen = [(f"{vocab.name(a)} / {vocab.name(b)}", cover[a] + cover[b],
               min(vocab.information(a), vocab.information(b)))
              for a, b in pairs[:3] if f"{vocab.name(a)} / {vocab.name(b)}" in two[:1]]
    chosen += [(vocab.name(c), cover[c], vocab.information(c)) for c in singles]
    names = two[:1] + [vocab.name(c) for c in singles] + two[1:]
    # Scenes and common words: no class has them as a parent, so their cover is counted here.
    # One goes first when it covers clearly more photos than the hierarchy's name, or nearly
    # as many and says more ("dress" over "garment / gown", "bathroom" over "furnishing / tub").
    first_cover, first_information = chosen[0][1:] if chosen else (0.0, 0.0)
    groups = sorted(((word, sum(firsts[k] for k in vocab.classes_under(c)) / n,
                      vocab.information(c)) for word, c in vocab.word_groups.items()),
                    key=lambda g: (-g[1], -g[2], g[0]))
    one_class = max(firsts.values()) / n  # one kind of object: its name says as much
    words_first = [word for word, share, information in groups if share > COVERS_MOST
                   and one_class < ONE_CLASS_IS_THE_NAME and (
                       share >= first_cover + WORD_COVERS_MORE
                       or (share >= first_cover - WORD_COVERS_LESS
                           and information > first_information))]
    # An everyday word the model says without being sure: one of its classes is among most
    # photos' stored classes, and its classes together outvote every other class (knitted hats
    # are "wool", "knee pad" or "bonnet" to ImageNet, the hat classes together win). It goes
    # first where nothing more specific covers most of the photos.
    words_first += [word for word, _, information in groups
                    if one_class < ONE_CLASS_IS_THE_NAME and information > first_information
                    and _said_by_most(set(vocab.classes_under(vocab.word_groups[word]).tolist()),
                                      seen, votes)]
    words_after = [word for word, share, _ in groups if share > COVERS_MOST]
    return list(dict.fromkeys(words_first + names + words_after))


def _said_by_most(classes: set[int], seen: Sequence[set[int]],
                  votes: Mapping[int, float]) -> bool:
    """Whether a word over ``classes`` is among more than ``COVERS_MOST`` of the photos' stored
    classes and its classes' summed probability beats every other single class's, gathered from
    several of them: when one of its classes holds most of it, that class is the better name
    (street signs stay "street sign", not "street")."""
    if not seen or sum(bool(c & classes) for c in seen) <= COVERS_MOST * len(seen):
        return False
    own = [v for k, v in votes.items() if k in classes]
    mass = sum(own)
    return (mass > max((v for k, v in votes.items() if k not in classes), default=0.0)
            and max(own) <= COVERS_MOST * mass)


def suggest_names(labels: Sequence[int] | np.ndarray, photo_ids: Sequence[int] | np.ndarray,
                  top_classes: Mapping[int, Sequence[tuple[str, float]]]) -> dict[int, str]:
    """Suggested name per cluster label; larger clusters choose first. Photos without top
    classes do not vote; a cluster with no votes gets ``""`` (the GUI shows "Cluster N")."""
    members: dict[int, list[int]] = defaultdict(list)
    for label, pid in zip(labels, photo_ids):
        members[int(label)].append(int(pid))
    names: dict[int, str] = {}
    taken: set[str] = set()
    for label in sorted(members, key=lambda lab: (-len(members[lab]), lab)):
        photo_classes = [top_classes.get(pid, ()) for pid in members[label]]
        options = [n for n in hierarchy_names(photo_classes) if n not in taken]
        name = options[0] if options else name_from_votes(class_votes(photo_classes), taken)
        if name:
            taken.add(name)
        names[label] = name
    return names
