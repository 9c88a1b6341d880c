"""What the ImageNet classes mean in people's words: WordNet's hierarchy above the 1,000 classes.

The data file (``photoclust/resources/wordnet``, derived from WordNet 3.0 by
``tools/build_wordnet_vocabulary.py``; why a derived file: docs/search.md) holds every class and
every synset above it, with their words, parents and definitions. A *concept* is one of those
synsets; ``classes_under(c)`` are the ImageNet classes it covers (a beagle is under hound, dog,
canine, carnivore, mammal, animal...), so a photo's probability of "dog" is the sum of its
probabilities of the classes under dog.

Scenes and common words the hierarchy lacks ("bathroom", "kitchen", "dress" over gown and
overskirt: ``scenes.py``) are concepts too, appended after WordNet's (``word_groups``): no class
has them as a parent, so naming weighs them apart.

``lookup`` turns a word or phrase into concepts: a few everyday words WordNet lacks ("hoodie");
a scene or common word (with the synsets of the same word: "church");
a synset's own word ("dog", "golf ball", plurals folded: "dogs", "mice"); else, for one word,
together and weighted: WordNet nouns whose usual sense the file lacks, through classes named as a
kind of them ("shorts" -> swimming trunks) and near ancestors ("sneaker" -> shoe, "jacket" the
garment -> coat), the leading word of a multi-word name ("kitchen" -> kitchen appliance) and a
word of a class's definition.
"""
from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_FILE = (Path(__file__).resolve().parent.parent.parent / "resources" / "wordnet"
             / "imagenet_wordnet.json.gz")

#: How much a match of each kind counts, relative to a synset's own word (the data file's
#: ``words`` carry their own weights: 0.9 for a class named as a kind of the word, 0.45 for an
#: ancestor near its meaning).
WEIGHT_LEMMA = 1.0
WEIGHT_NAME_PART = 0.5
WEIGHT_DEFINITION = 0.4
#: A scene or common word that is also a synset's word ("dress", "hat"): the classes only the
#: group adds (overskirt, hoopskirt) rank after the synset's (gown). At 0.5 the overskirts came
#: first and "dress" lost a third of its precision on clothing14 (docs/search.md).
WEIGHT_GROUP_EXTRA = 0.25

#: Words of a definition that say nothing about what a photo shows.
_DEFINITION_STOP = frozenset(
    "a an the of and or in on for with to by from as at is are be it its that which who whose "
    "used usually often especially any one two some such other than into having has more "
    "small large long short similar various kind type form made make being very".split())

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters and digits; punctuation, "_" and "-" split)."""
    return _WORD.findall(str(text).lower())


@dataclass(frozen=True)
class Match:
    """Concepts a query phrase names with how much each match is trusted, and how to say it."""

    weights: tuple[tuple[int, float], ...]
    label: str

    @property
    def concepts(self) -> tuple[int, ...]:
        return tuple(c for c, _ in self.weights)


class Vocabulary:
    """The concepts of the data file; build with ``vocabulary()`` (loaded once)."""

    def __init__(self, data: dict):
        concepts = data["concepts"]
        self.n_classes: int = int(data["classes"])
        self.class_names: list[str] = list(data["class_names"])
        self.class_index: dict[str, int] = {n: i for i, n in enumerate(self.class_names)}
        self.wnids: list[str] = concepts["wnid"]
        self.lemmas: list[list[str]] = concepts["lemmas"]
        self.parents: list[list[int]] = concepts["parents"]
        self.glosses: list[str] = concepts["gloss"]
        self._under = self._compute_classes_under()
        self.word_groups: dict[str, int] = self._add_word_groups()
        self._phrases: dict[str, list[int]] = {}
        for c, lemmas in enumerate(self.lemmas):
            for lemma in lemmas:
                self._phrases.setdefault(" ".join(words(lemma)), []).append(c)
        for c, name in enumerate(self.class_names):  # torchvision's names, e.g. "tank suit"
            key = " ".join(words(name))
            if c not in self._phrases.setdefault(key, []):
                self._phrases[key].append(c)
        self._modern: dict[str, list[int]] = data.get("modern", {})
        self._related: dict[str, list[list]] = data.get("words", {})
        self._plurals: dict[str, str] = {k.lower(): v.lower()
                                         for k, v in data.get("plurals", {}).items()}
        self._name_parts: dict[str, list[int]] | None = None
        self._definitions: dict[str, list[int]] | None = None

    # --- the hierarchy ---------------------------------------------------------------------

    def _compute_classes_under(self) -> list[np.ndarray]:
        under: list[set[int]] = [set() for _ in self.wnids]
        for k in range(self.n_classes):
            stack = [k]
            while stack:
                node = stack.pop()
                if k not in under[node]:
                    under[node].add(k)
                    stack.extend(self.parents[node])
        return [np.array(sorted(s), dtype=np.int64) for s in under]

    def _add_word_groups(self) -> dict[str, int]:
        """Append a concept per scene or common word (``scenes.word_groups``) over its classes;
        returns word -> concept. A class name the data file lacks is left out."""
        from photoclust.core.search.scenes import word_groups

        added: dict[str, int] = {}
        for word, class_names in word_groups().items():
            under = sorted({self.class_index[n] for n in class_names if n in self.class_index})
            if not under:
                continue
            added[word] = len(self.wnids)
            self.wnids.append(f"word:{word}")
            self.lemmas.append([word])
            self.parents.append([])
            self.glosses.append("")
            self._under.append(np.array(under, dtype=np.int64))
        return added

    def classes_under(self, concept: int) -> np.ndarray:
        """Sorted indices of the ImageNet classes a concept covers (itself, for a class)."""
        return self._under[concept]

    def ancestors(self, concept: int) -> set[int]:
        """The concept and every synset above it."""
        seen, stack = set(), [concept]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self.parents[node])
        return seen

    def information(self, concept: int) -> float:
        """How specific a concept is, 0 (covers every class) to 1 (one class)."""
        n = max(1, len(self._under[concept]))
        return math.log(self.n_classes / n) / math.log(self.n_classes)

    def name(self, concept: int) -> str:
        """What to call a concept: a class's usual name, else the synset's first word."""
        if concept < self.n_classes:
            return self.class_names[concept]
        return self.lemmas[concept][0].replace("_", " ")

    # --- words to concepts -----------------------------------------------------------------

    def singular_forms(self, word: str) -> list[str]:
        """``word`` and the base forms it may be a plural of (WordNet's rules and exceptions)."""
        forms = [word]
        if word in self._plurals:
            forms.append(self._plurals[word])
        for suffix, ending in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("ses", "s"),
                               ("xes", "x"), ("zes", "z"), ("men", "man"), ("s", "")):
            if word.endswith(suffix) and len(word) > len(suffix) + 1:
                forms.append(word[: -len(suffix)] + ending)
        return list(dict.fromkeys(forms))

    def _phrase_forms(self, phrase: str) -> list[str]:
        parts = words(phrase)
        if not parts:
            return []
        head = parts[:-1]
        return [" ".join([*head, last]) for last in self.singular_forms(parts[-1])]

    def lookup(self, phrase: str, exact_only: bool = False) -> Match | None:
        """The concepts ``phrase`` names (see the module docstring for the order), or ``None``.

        A phrase that is a synset's word (or an everyday word) names those synsets only;
        otherwise a single word gathers the weaker matches together. ``exact_only`` stops after
        the first kind (multi-word phrases must be a name as a whole)."""
        forms = self._phrase_forms(phrase)
        if not forms:
            return None
        for form in forms:
            if form in self._modern:
                return Match(tuple((c, WEIGHT_LEMMA) for c in self._modern[form]), form)
        for form in forms:
            if form in self.word_groups:
                group = self.word_groups[form]
                synsets = [c for c, _ in self._named(form) if c != group]
                # "dress": the synset's classes (gown) first, the group's others after them
                weights = {group: WEIGHT_GROUP_EXTRA if synsets else WEIGHT_LEMMA}
                weights.update((c, WEIGHT_LEMMA) for c in synsets)
                return Match(tuple(sorted(weights.items())), form)
        word = forms[0]
        overridden = word in self._related  # its usual sense is not the one the file has
        named = [f for f in forms if f in self._phrases and not (f == word and overridden)]
        if named and not overridden:
            return Match(self._named(named[0]), named[0])
        weights = dict(self._named(named[0])) if named else {}  # "pants": also "pant"
        if exact_only or " " in forms[0]:
            return None
        for c, weight in self._related.get(word, ()):
            weights[c] = max(weights.get(c, 0.0), weight)
        for table, weight in ((self._name_part_index(), WEIGHT_NAME_PART),
                              (self._definition_index(), WEIGHT_DEFINITION)):
            for form in forms:
                for c in table.get(form, ()):
                    weights[c] = max(weights.get(c, 0.0), weight)
        if not weights:
            return None
        return Match(tuple(sorted(weights.items())), forms[0])

    def _named(self, form: str) -> tuple[tuple[int, float], ...]:
        """The synsets with word ``form``: those where it is the first word when there are
        such ("dress" the garment, not "attire")."""
        found = self._phrases[form]
        first = [c for c in found if " ".join(words(self.lemmas[c][0])) == form]
        return tuple((c, WEIGHT_LEMMA) for c in sorted(first or found))

    def class_weights(self, match: Match) -> np.ndarray:
        """Per ImageNet class, how much a photo's probability of it counts for ``match``."""
        w = np.zeros(self.n_classes, dtype=np.float32)
        for concept, weight in match.weights:
            under = self._under[concept]
            w[under] = np.maximum(w[under], weight)
        return w

    def knows(self, word: str) -> bool:
        return self.lookup(word) is not None

    def _name_part_index(self) -> dict[str, list[int]]:
        """Each leading word of a multi-word name -> the concepts so named ("kitchen" ->
        kitchen appliance; the last word is the kind of thing, which the hierarchy already
        knows: "puppy" must not find the mud puppy)."""
        if self._name_parts is None:
            index: dict[str, list[int]] = {}
            for c, lemmas in enumerate(self.lemmas):
                for lemma in lemmas:
                    parts = lemma.lower().split()  # "short-haired" is not "short"
                    if len(parts) > 1:
                        for part in parts[:-1]:
                            if c not in index.setdefault(part, []):
                                index[part].append(c)
            self._name_parts = index
        return self._name_parts

    def _definition_index(self) -> dict[str, list[int]]:
        """Each content word of a class's definition -> the classes so defined."""
        if self._definitions is None:
            index: dict[str, list[int]] = {}
            for c in range(self.n_classes):
                for word in set(words(self.glosses[c])) - _DEFINITION_STOP:
                    if len(word) > 2 and not word.isdigit():
                        index.setdefault(word, []).append(c)
            self._definitions = index
        return self._definitions


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The vocabulary of the shipped data file, read once per process (about 0.1 s)."""
    with gzip.open(DATA_FILE, "rt", encoding="utf-8") as f:
        return Vocabulary(json.load(f))
