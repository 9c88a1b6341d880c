"""Derive photoclust's search vocabulary from the WordNet 3.0 database files.

The 1,000 ImageNet classes the models predict are WordNet noun synsets. This script writes
``photoclust/resources/wordnet/imagenet_wordnet.json.gz`` with, for those classes and every synset
above them (their hypernym chains):

- ``concepts``: ``wnid``, ``lemmas`` (the synset's words, "_" as space), ``parents`` (indices of
  hypernyms within the file) and ``gloss`` (the definition, without the example sentences).
  The first 1,000 concepts are the classes in model output order; ``class_names`` holds the names
  the embedding engine stores for them (torchvision's ImageNet category names).
- ``plurals``: WordNet's irregular noun forms (``noun.exc``) whose base form is a word of the file.
- ``words``: one-word WordNet nouns whose usual sense is not in the file (none of their senses
  is, or the one that is was tagged less than half as often in SemCor: "jacket" the garment, not
  the book jacket), mapped with a weight to the concepts of the file near that usual sense: the
  nearest ancestors at most two hypernym steps up that are specific enough ("sneaker" -> shoe),
  and classes named as a kind of one of its synonyms ("shorts", also "trunks" -> swimming
  trunks).
- ``modern``: a few everyday words that WordNet 3.0 (2006) lacks or files elsewhere ("hoodie",
  "puppy"), with the synset a person means by them.

Run from the repository root with Debian's ``wordnet-base`` installed (``apt-get install
wordnet-base``) or ``--wordnet DIR`` pointing at a WordNet 3.0 ``dict`` folder::

    python tools/build_wordnet_vocabulary.py [--wordnet /usr/share/wordnet]

See docs/search.md for why the file is derived rather than a dependency.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "photoclust" / "resources" / "wordnet" / "imagenet_wordnet.json.gz"

#: Everyday words that WordNet 3.0 lacks, or files where no ImageNet class is under them (a
#: puppy is a "young mammal", not a dog), with the WordNet synset a person means by them.
EVERYDAY_WORDS = {
    "puppy": "n02084071",       # dog
    "pup": "n02084071",
    "doggy": "n02084071",
    "kitten": "n02121808",      # domestic cat
    "kitty": "n02121808",
    "hoodie": "n04370456",      # sweatshirt
    "hoody": "n04370456",
    "smartphone": "n02992529",  # cellular telephone
    "cellphone": "n02992529",
    "tshirt": "n03595614",      # jersey, T-shirt
    "sneakers": "n04120489",    # running shoe
    "trainers": "n04120489",
    "jeans": "n03594734",       # jean, blue jean, denim
    "ebike": "n02834778",       # bicycle
}

#: How much a word's match counts: a class named as a kind of it ("swimming trunks" for
#: "shorts", a synonym of trunks), an ancestor near its meaning ("shoe" for "sneaker").
WEIGHT_SAME_NAME = 0.9
WEIGHT_HYPERNYM = 0.45
#: A word outside the file maps to an ancestor at most this many hypernym steps up...
MAX_STEPS_UP = 2
#: ...that covers at most this many of the 1,000 classes (higher ones say too little).
MAX_CLASSES_UNDER = 60


def read_synsets(wordnet: Path) -> dict[str, dict]:
    """All noun synsets of ``data.noun``: ``{wnid: {lemmas, parents, gloss}}``."""
    synsets = {}
    with open(wordnet / "data.noun", encoding="latin-1") as f:
        for line in f:
            if line.startswith(" "):
                continue  # the licence header
            data, _, gloss = line.partition(" | ")
            fields = data.split()
            offset, n_words = fields[0], int(fields[3], 16)
            lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(n_words)]
            lemmas = [w.split("(")[0] for w in lemmas]  # "beagle(a)" style markers
            lex_ids = [int(fields[5 + 2 * i], 16) for i in range(n_words)]
            sense_keys = [f"{w.lower().replace(' ', '_')}%1:{fields[1]}:{lex_id:02d}::"
                          for w, lex_id in zip(lemmas, lex_ids)]
            at = 4 + 2 * n_words
            n_pointers = int(fields[at])
            parents = []
            for i in range(n_pointers):
                symbol, target, pos = fields[at + 1 + 4 * i: at + 4 + 4 * i]
                if symbol in ("@", "@i") and pos == "n":
                    parents.append("n" + target)
            gloss = gloss.strip().split("; \"")[0].split(";\"")[0].strip()
            synsets["n" + offset] = {"lemmas": lemmas, "parents": parents, "gloss": gloss,
                                     "sense_keys": sense_keys}
    return synsets


def read_index(wordnet: Path) -> dict[str, list[str]]:
    """WordNet's nouns -> their synsets, most frequent sense first."""
    words = {}
    with open(wordnet / "index.noun", encoding="latin-1") as f:
        for line in f:
            if line.startswith(" "):
                continue
            fields = line.split()
            lemma, synset_cnt = fields[0], int(fields[2])
            words[lemma.replace("_", " ")] = ["n" + o for o in fields[-synset_cnt:]]
    return words


def read_counts(wordnet: Path) -> dict[str, int]:
    """How often each word sense was tagged in the SemCor corpus (``cntlist.rev``)."""
    counts = {}
    for line in (wordnet / "cntlist.rev").read_text(encoding="latin-1").splitlines():
        key, _, count = line.split()
        counts[key] = int(count)
    return counts


def imagenet_wnids() -> list[str]:
    import timm

    path = Path(timm.__file__).parent / "data" / "_info" / "imagenet_synsets.txt"
    return path.read_text().split()


def imagenet_names() -> list[str]:
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def build(wordnet: Path) -> dict:
    synsets = read_synsets(wordnet)
    classes = imagenet_wnids()
    order = list(classes)
    seen = set(order)
    queue = list(classes)
    while queue:  # every hypernym of the classes, breadth first
        wnid = queue.pop(0)
        for parent in synsets[wnid]["parents"]:
            if parent not in seen:
                seen.add(parent)
                order.append(parent)
                queue.append(parent)
    index = {wnid: i for i, wnid in enumerate(order)}
    concepts = {
        "wnid": order,
        "lemmas": [synsets[w]["lemmas"] for w in order],
        "parents": [[index[p] for p in synsets[w]["parents"]] for w in order],
        "gloss": [synsets[w]["gloss"] for w in order],
    }
    classes_under = _classes_under(concepts["parents"], len(classes))
    known = {lemma.lower() for lemmas in concepts["lemmas"] for lemma in lemmas}

    def nearest_in_file(wnid: str) -> list[int]:
        frontier, found = [wnid], []
        for _ in range(MAX_STEPS_UP):
            frontier = [p for w in frontier for p in synsets[w]["parents"]]
            found = [index[p] for p in frontier if p in index]
            if found:
                break
        return [c for c in found if len(classes_under[c]) <= MAX_CLASSES_UNDER]

    counts = read_counts(wordnet)

    def count(wnid: str, word: str) -> int:
        keys = synsets[wnid]["sense_keys"]
        lemmas = [w.lower() for w in synsets[wnid]["lemmas"]]
        return counts.get(keys[lemmas.index(word)], 0) if word in lemmas else 0

    class_heads: dict[str, list[int]] = {}  # "trunks" -> swimming trunks
    for c in range(len(classes)):
        for lemma in concepts["lemmas"][c]:
            parts = lemma.lower().split()
            for start in range(1, len(parts)):
                class_heads.setdefault(" ".join(parts[start:]), []).append(c)

    words = {}
    for word, senses in read_index(wordnet).items():
        word = word.lower()
        primary = senses[0]
        if primary in index or " " in word:
            continue
        in_file = [w for w in senses if w in index]
        if in_file and 2 * sum(count(w, word) for w in in_file) >= count(primary, word):
            continue  # the sense the file has is common enough: the word names it
        targets = {c: WEIGHT_HYPERNYM for c in nearest_in_file(primary)}
        rare = set().union(*(classes_under[index[w]] for w in in_file))  # the book jacket
        for lemma in synsets[primary]["lemmas"]:
            for c in class_heads.get(lemma.lower(), ()):
                if c not in rare:
                    targets[c] = WEIGHT_SAME_NAME
        if targets:
            words[word] = sorted([c, w] for c, w in targets.items())
    modern = {}
    for word, wnid in EVERYDAY_WORDS.items():
        if wnid in index:
            modern[word] = [index[wnid]]
        elif nearest_in_file(wnid):
            modern[word] = nearest_in_file(wnid)
    # sorted keys and lists: the file is the same bytes on every run
    vocabulary = known | set(words) | set(modern)
    plurals = {}
    for line in (wordnet / "noun.exc").read_text(encoding="latin-1").splitlines():
        form, *bases = line.split()
        bases = [b.replace("_", " ") for b in bases if b.replace("_", " ").lower() in vocabulary]
        if bases and form.replace("_", " ") not in vocabulary:
            plurals[form.replace("_", " ")] = bases[0]
    return {
        "source": "WordNet 3.0 (Princeton University), see LICENSE-WordNet.txt; derived by "
                  "tools/build_wordnet_vocabulary.py",
        "classes": len(classes),
        "class_names": imagenet_names(),
        "concepts": concepts,
        "plurals": plurals,
        "words": words,
        "modern": modern,
    }


def _classes_under(parents: list[list[int]], n_classes: int) -> list[set[int]]:
    under: list[set[int]] = [set() for _ in parents]
    for c in range(n_classes):
        stack = [c]
        while stack:
            node = stack.pop()
            if c not in under[node]:
                under[node].add(c)
                stack.extend(parents[node])
    return under


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"),
                        help="folder with WordNet 3.0's data.noun, index.noun and noun.exc")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not (args.wordnet / "data.noun").exists():
        print(f"No WordNet database in {args.wordnet}: apt-get install wordnet-base, or give "
              "--wordnet DIR.", file=sys.stderr)
        return 2
    data = build(args.wordnet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    with gzip.GzipFile(args.out, "wb", mtime=0) as f:  # byte-identical reruns
        f.write(text.encode("utf-8"))
    print(f"{args.out}: {len(data['concepts']['wnid'])} concepts, {len(data['words'])} words, "
          f"{len(data['plurals'])} plural forms, {args.out.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
