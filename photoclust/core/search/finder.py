"""Finding photos: by words (what they show, cluster names, folders and file names, dates,
cameras) and by likeness to another photo.

A query is cut into terms: a date ("2023", "july"), else the longest run of words that names a
WordNet concept ("golf ball"), else one word. Each term scores every photo in [0, 1] by its best
source: what the photo shows (the stored probabilities of the ImageNet classes under the concept,
so "dog" sums every breed), the name of its cluster (names you gave count fully, suggested names
half), its folder and file name, its camera, its date. A photo must match every term that
matches anything (their geometric mean ranks it); words that match nothing are ignored, and a
query where nothing matches gives no result and ``search_hint`` says why. Measured in
bench/search_quality.py; design in docs/search.md.
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from photoclust.core.clustering import NO_CLUSTER
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import Assignment, Embedding, Photo, PhotoStatus, Source
from photoclust.core.search.index import (
    _EMBEDDING_ROWID,
    SearchIndex,
    Vectors,
    WordColumn,
    search_index,
    similar_vectors,
    vectors_space,
)
from photoclust.core.search.vocabulary import Match, Vocabulary, vocabulary, words

log = logging.getLogger(__name__)

#: Photos scoring less than this are not results (a 3 % chance of a dog is not a dog photo).
MIN_SCORE = 0.05
#: Source weights: names the user gave, folder and file names, suggested cluster names.
WEIGHT_USER_NAME = 1.0
WEIGHT_PATH = 0.9
WEIGHT_SUGGESTED_NAME = 0.5
#: Longest run of words tried as one concept ("cassette tape player").
LONGEST_PHRASE = 4

MONTHS = {name: i + 1 for i, names in enumerate([
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")]) for name in names}
#: "2023-07" or "2023-07-14": that year and month (a day is not searched).
_ISO_MONTH = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})(?:-\d{1,2})?(?!\d)")
#: Words that only frame a query ("photos of my dogs").
STOP_WORDS = frozenset("a an the of and with in on at my our me show find all some photo photos "
                       "picture pictures pic pics image images".split())


class SearchError(ValueError):
    """A photo cannot be used as a search start; the message is one sentence for the user."""


@dataclass(frozen=True)
class SearchHit:
    id: int
    path: str
    score: float
    cluster_id: int | None
    why: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Term:
    text: str
    match: Match | None = None
    year: int | None = None
    month: int | None = None


def _is_year(word: str) -> bool:
    return len(word) == 4 and word.isdigit() and 1800 <= int(word) <= 2200


def parse_query(text: str, vocab: Vocabulary | None = None) -> list[_Term]:
    """The terms of a query (see the module docstring)."""
    vocab = vocab or vocabulary()
    dates = [_Term(m.group(0), year=int(m.group(1))) for m in _ISO_MONTH.finditer(text)]
    dates += [_Term(m.group(0), month=int(m.group(2))) for m in _ISO_MONTH.finditer(text)
              if 1 <= int(m.group(2)) <= 12]
    text = _ISO_MONTH.sub(" ", text)
    tokens = words(text)
    content = [t for t in tokens if t not in STOP_WORDS]
    terms: list[_Term] = dates
    i = 0
    while i < len(content):
        word = content[i]
        if _is_year(word):
            terms.append(_Term(word, year=int(word)))
            i += 1
            continue
        if word in MONTHS and (len(word) > 3 or vocab.lookup(word, exact_only=True) is None):
            terms.append(_Term(word, month=MONTHS[word]))
            i += 1
            continue
        for length in range(min(LONGEST_PHRASE, len(content) - i), 1, -1):
            phrase = " ".join(content[i:i + length])
            match = vocab.lookup(phrase, exact_only=True)
            if match is not None:
                terms.append(_Term(phrase, match))
                i += length
                break
        else:
            terms.append(_Term(word, vocab.lookup(word)))
            i += 1
    return terms


def _rows_with(column: WordColumn, text: str, vocab: Vocabulary) -> np.ndarray:
    """Rows whose words include every word of ``text`` (any singular form)."""
    result = None
    for word in words(text):
        found = column.rows_with(vocab.singular_forms(word))
        result = found if result is None else np.intersect1d(result, found)
    return result if result is not None else np.zeros(0, np.int64)


def _term_scores(index: SearchIndex, term: _Term, vocab: Vocabulary
                 ) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """Per photo row, the term's score and, per source, ``(scores, why)`` to explain it."""
    n = len(index.ids)
    sources: list[tuple[np.ndarray, str]] = []
    if term.year is not None or term.month is not None:
        hit = (index.years == term.year) if term.year is not None else (index.months == term.month)
        sources.append((hit.astype(np.float32), "date"))
    else:
        if term.match is not None and len(index.vectors.photo_ids):
            shown = np.zeros(n, np.float32)
            per_vector = index.vectors.probs @ vocab.class_weights(term.match)
            ok = index.vector_rows >= 0
            shown[index.vector_rows[ok]] = np.minimum(per_vector[ok], 1.0)
            sources.append((shown, "shows"))
        wanted = set(words(term.text))
        for cid, (name, source, name_words) in index.cluster_names.items():
            if all(any(f in name_words for f in vocab.singular_forms(w)) for w in wanted):
                weight = WEIGHT_USER_NAME if source == Source.USER else WEIGHT_SUGGESTED_NAME
                sources.append(((index.cluster_ids == cid) * np.float32(weight),
                                f"cluster: {name}"))
        for table, weight, label in ((index.path_words, WEIGHT_PATH, "folder or file name"),
                                     (index.camera_words, 1.0, "camera")):
            rows = _rows_with(table, term.text, vocab)
            if len(rows):
                scores = np.zeros(n, np.float32)
                scores[rows] = weight
                sources.append((scores, label))
    if not sources:
        return np.zeros(n, np.float32), []
    return np.max(np.stack([s for s, _ in sources]), axis=0), sources


def _explain(index: SearchIndex, row: int, term: _Term, sources, vocab: Vocabulary) -> str:
    best, label = max(sources, key=lambda s: s[0][row])
    if label == "date":
        return f"date: {term.text}"
    if label == "folder or file name":
        return f"{label}: {term.text}"
    if label == "camera":
        return f"camera: {index.cameras[row]}"
    match = term.match
    if label != "shows" or match is None:
        return label
    v = index.row_of_vector[row]
    weights = vocab.class_weights(match)
    probs = index.vectors.probs[v]
    classes = [(p * weights[k], k) for k, p in zip(probs.indices, probs.data) if weights[k] > 0]
    if not classes:
        return match.label
    top_class = vocab.class_names[max(classes)[1]]
    label = match.label
    return label if top_class.lower() == label else f"{label} ({top_class})"


def search_photos(library: Library, text: str, limit: int = 50,
                  model: str | None = None) -> list[SearchHit]:
    """The photos that best match ``text``, best first, at most ``limit``; ``[]`` when nothing
    matches (``search_hint(text)`` says why). Names of people select their photos
    (``search/people.py``)."""
    from photoclust.core.search.people import search_people

    by_people = search_people(library, text, limit, model, search_photos, SearchHit)
    if by_people is not None:
        return by_people
    vocab = vocabulary()
    terms = parse_query(text, vocab)
    if not terms or limit <= 0:
        return []
    index = search_index(library, model)
    scored = [_with_when_where(library, index, term, *_term_scores(index, term, vocab))
              for term in terms]
    scored = [item for item in scored if item[1].any()]
    if not scored:
        return []
    stack = np.stack([s for _, s, _ in scored])
    if len(scored) == 1:
        total = stack[0]
    else:
        total = np.exp(np.log(np.maximum(stack, 1e-9)).mean(axis=0))
        total[(stack == 0).any(axis=0)] = 0.0
    candidates = np.flatnonzero(total >= MIN_SCORE)
    if len(candidates) == 0:
        return []
    order = candidates[np.lexsort((index.ids[candidates], -total[candidates]))][:limit]
    hits = []
    for row in order.tolist():
        why = ", ".join(dict.fromkeys(_explain(index, row, term, sources, vocab)
                                      for term, scores, sources in scored if scores[row] > 0))
        hits.append(_hit(index, row, float(total[row]), why))
    return hits


def _with_when_where(library: Library, index: SearchIndex, term: _Term, scores: np.ndarray,
                     sources: list) -> tuple[_Term, np.ndarray, list]:
    """A term also matches the photos taken at a place or in an event it names (docs/places.md);
    dates are matched by the index, corrected for the photos whose time the user shifted."""
    if term.year is not None or term.month is not None:
        return term, *_with_time_shifts(library, index, term, scores, sources)
    from photoclust.core.events.queries import photos_named_by

    extra = [(np.isin(index.ids, np.fromiter(ids, np.int64, len(ids))).astype(np.float32), why)
             for ids, why in photos_named_by(library, term.text)]
    if not extra:
        return term, scores, sources
    sources = [*sources, *extra]
    return term, np.max(np.stack([s for s, _ in sources]), axis=0), sources


def _with_time_shifts(library: Library, index: SearchIndex, term: _Term, scores: np.ndarray,
                      sources: list) -> tuple[np.ndarray, list]:
    """A date term's scores with the photos whose time was shifted (``shift-time``) judged by
    their shifted time: the index keeps the times as the photos say them."""
    from photoclust.core.events.queries import shifted_year_months

    shifted = shifted_year_months(library)
    if not shifted or not len(index.ids):
        return scores, sources
    ids = np.fromiter(shifted, np.int64, len(shifted))
    rows = np.searchsorted(index.ids, ids)
    known = (rows < len(index.ids)) & (index.ids[np.minimum(rows, len(index.ids) - 1)] == ids)
    values = np.array([shifted[int(i)] for i in ids], dtype=np.int64).reshape(-1, 2)
    hit = (values[:, 0] == term.year) if term.year is not None else (values[:, 1] == term.month)
    scores = scores.copy()
    scores[rows[known]] = hit[known].astype(scores.dtype)
    fixed = []
    for source, why in sources:
        source = source.copy()
        source[rows[known]] = hit[known].astype(source.dtype)
        fixed.append((source, why))
    return scores, fixed


def _hit(index: SearchIndex, row: int, score: float, why: str) -> SearchHit:
    cid = int(index.cluster_ids[row])
    return SearchHit(int(index.ids[row]), index.paths[row], round(score, 4),
                     None if cid == NO_CLUSTER else cid, why)


def similar_photos(library: Library, photo: int | str | Path, limit: int = 20,
                  model: str | None = None) -> list[SearchHit]:
    """The photos that look most like ``photo`` (an id, or a path the library knows), best
    first, itself left out. Raises ``SearchError`` when the photo is not in the library or has
    no embedding yet. Reads only what likeness needs (``index.similar_vectors``): a new
    process's first "similar" does not build the index of words. When the photos and embeddings
    were taken from the kept space on the library's fingerprint alone, the answer's photos are
    checked against the library (present, with the embedding the space has for them); one that
    is not makes every pair read again."""
    photo_id = _photo_id(library, photo)
    for recheck in (False, True):
        vectors = similar_vectors(library, model, recheck=recheck)
        trusted = not recheck and vectors.key[1:2] == ("kept",)
        photo_ids = vectors.photo_ids
        v = int(np.searchsorted(photo_ids, photo_id))
        if v >= len(photo_ids) or photo_ids[v] != photo_id:
            if trusted:
                continue
            raise SearchError(_why_not_searchable(library, photo_id, vectors.model))
        space = vectors_space(library, vectors)
        k = min(limit, len(space) - 1)
        if k <= 0:
            return []
        top, similarity = _nearest_rows(library, vectors, space, v, k)
        rows = top.tolist() + [v]
        ids = [int(photo_ids[t]) for t in rows]
        facts: dict[int, tuple[str, int | None]] = {}
        fresh = True
        embedding_join = (Embedding, (Embedding.content_hash == Photo.content_hash)
                          & (Embedding.model == vectors.model)
                          & (Embedding.preprocess_version == PREPROCESS_VERSION))
        with library.session() as s:
            for chunk in chunks(ids):
                for pid, path, cluster, status, rowid in s.execute(
                        select(Photo.id, Photo.path, Assignment.cluster_id, Photo.status,
                               _EMBEDDING_ROWID)
                        .outerjoin(Assignment, Assignment.photo_id == Photo.id)
                        .outerjoin(*embedding_join)
                        .where(Photo.id.in_(chunk))):
                    facts[pid] = (path, cluster)
                    fresh &= status == PhotoStatus.PRESENT and rowid is not None
                    fresh &= rowid == int(vectors.embedding_ids[np.searchsorted(photo_ids, pid)])
        if trusted and (not fresh or len(facts) < len(ids)):
            log.info("The kept space of similar photos in %s is stale; every photo's embedding "
                     "is checked.", library.data_dir)
            continue
        break
    name = Path(facts[photo_id][0]).name if photo_id in facts else str(photo_id)
    return [SearchHit(pid, facts[pid][0], round(float(similarity[t]), 4), facts[pid][1],
                      f"looks like {name}")
            for pid, t in zip(ids, rows) if pid in facts and pid != photo_id]


def _nearest_rows(library: Library, vectors: Vectors, space: np.ndarray, v: int, k: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``space`` nearest row ``v`` (itself left out), best first (ties: the
    lower photo id), and the similarity of every row (only those rows' are filled when the
    nearest-neighbour index answered): by the index from ``ann.EXACT_BELOW`` photos, exactly
    below, or when the index is not there or answers fewer rows than asked."""
    from photoclust.core.search import ann

    photo_ids = vectors.photo_ids
    if len(space) >= ann.EXACT_BELOW and vectors.basis is not None:
        graph = ann.neighbour_index(library, vectors.model, photo_ids, vectors.embedding_ids,
                                    space, ann.basis_id(vectors.basis))
        if graph is not None:
            found, _ = graph.search(space[v], k + 1)
            ids = found[0][found[0] >= 0]
            rows = np.minimum(np.searchsorted(photo_ids, ids), len(photo_ids) - 1)
            rows = rows[(photo_ids[rows] == ids) & (rows != v)]  # only photos it should hold
            if len(rows) >= k:  # else searched exactly below: results are never short
                similarity = np.full(len(space), -np.inf, np.float32)
                similarity[rows] = space[rows] @ space[v]  # scored exactly
                top = rows[np.lexsort((photo_ids[rows], -similarity[rows]))][:k]
                return top, similarity
    return _exact_rows(space, photo_ids, v, k)


def _exact_rows(space: np.ndarray, photo_ids: np.ndarray, v: int, k: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """``_nearest_rows`` by comparing row ``v`` with every row."""
    similarity = space @ space[v]
    similarity[v] = -np.inf
    top = np.argpartition(-similarity, k - 1)[:k]
    return top[np.lexsort((photo_ids[top], -similarity[top]))], similarity


def _photo_id(library: Library, photo: int | str | Path) -> int:
    if isinstance(photo, (int, np.integer)):
        return int(photo)
    from photoclust.core.library.queries import photo_by_path

    info = photo_by_path(library, photo)
    if info is None:
        raise SearchError(f"{photo} is not a photo in this library (index its folder first).")
    return info.id


def _why_not_searchable(library: Library, photo_id: int, model: str) -> str:
    with library.session() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            return f"There is no photo {photo_id} in this library."
        if photo.status == PhotoStatus.MISSING:
            return f"Photo {photo_id} ({photo.path}) is missing from disk; index its folder again."
        if photo.status != PhotoStatus.PRESENT:
            return f"Photo {photo_id} ({photo.path}) no longer reads as a photo."
    return (f"Photo {photo_id} has no embedding under {model} yet; run `photoclust embed` "
            "first.")


def search_hint(text: str) -> str:
    """What to tell someone whose query found nothing (or who typed nothing useful yet)."""
    tokens = words(text)
    examples = ("Type what the photos show (dog, hat, car), a person's name, a place (a city "
                "or country), a cluster, folder or file name, a year or month (2023, july 2023) "
                "or a camera.")
    if not tokens:
        return examples
    vocab = vocabulary()
    unknown = [t for t in tokens if t not in STOP_WORDS and not _is_year(t) and t not in MONTHS
               and not vocab.knows(t)]
    if unknown and len(unknown) == len([t for t in tokens if t not in STOP_WORDS]):
        quoted = ", ".join(f'"{w}"' for w in unknown)
        return (f"No photo matches {quoted}: it is not a word photoclust knows for what photos "
                f"show, nor a person's or a place's name, nor in a cluster, folder, file or camera "
                f"name. {examples}")
    return (f'No photo matches "{" ".join(tokens)}". Try a broader word (dog rather than beagle, '
            f"clothing rather than blazer) or fewer words. {examples}")
