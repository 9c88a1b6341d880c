"""A merge keeps the name the user gave (issue 24, point 5): core and command line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from _edit_fixtures import add_embeddings, add_photos
from photoclust.cli import main
from photoclust.core.clustering import editing
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.edits.history import undo
from photoclust.core.library.queries import list_clusters


@pytest.fixture
def clusters(library) -> dict[str, int]:
    """"shoe" (4 photos), "boot" (3), "wool" (2), all named automatically."""
    ids = add_photos(library, 9)
    add_embeddings(library, ids, np.eye(9, 8, dtype=np.float32))
    apply_clustering(library, "efficientnet_lite0", "kmeans", ids, [0] * 4 + [1] * 3 + [2] * 2,
                     suggested_names=["shoe", "boot", "wool"])
    return {c.name: c.id for c in list_clusters(library)}


def _names(library) -> dict[int, tuple[str, str]]:
    return {c.id: (c.name, c.name_source) for c in list_clusters(library)}


def test_the_users_name_wins_over_a_suggested_one(library, clusters):
    editing.rename_cluster(library, clusters["wool"], "Hats")
    assert editing.merge_keeps(library, clusters["shoe"], [clusters["wool"]]) == \
        (clusters["shoe"], "Hats")
    result = editing.merge_clusters(library, clusters["shoe"], [clusters["wool"]])
    assert _names(library)[clusters["shoe"]] == ("Hats", "user")
    assert clusters["wool"] not in _names(library)  # merged away
    assert result.description == "Merged Hats into shoe, keeping the name Hats"
    undo(library)
    assert _names(library)[clusters["shoe"]] == ("shoe", "auto")
    assert _names(library)[clusters["wool"]] == ("Hats", "user")


def test_the_targets_own_name_stays_when_the_user_gave_it_or_nobody_did(library, clusters):
    assert editing.merge_keeps(library, clusters["shoe"], [clusters["boot"]]) == \
        (clusters["shoe"], "shoe")
    editing.merge_clusters(library, clusters["shoe"], [clusters["boot"]])
    assert _names(library)[clusters["shoe"]] == ("shoe", "auto")
    editing.rename_cluster(library, clusters["shoe"], "Shoes")
    editing.rename_cluster(library, clusters["wool"], "Hats")
    assert editing.merge_keeps(library, clusters["shoe"], [clusters["wool"]])[1] == "Shoes"
    editing.merge_clusters(library, clusters["shoe"], [clusters["wool"]])
    assert _names(library)[clusters["shoe"]] == ("Shoes", "user")


def test_cli_merge_keeps_the_users_name(capsys, library, clusters):
    path = str(library.path)
    assert main(["rename", str(clusters["wool"]), "Hats", "--library", path]) == 0
    capsys.readouterr()
    assert main(["merge", str(clusters["shoe"]), str(clusters["wool"]), "--library", path]) == 0
    out = capsys.readouterr().out
    assert "keeping the name Hats" in out
    assert main(["clusters", "--library", path, "--json"]) == 0
    listed = {c["id"]: c["name"] for c in json.loads(capsys.readouterr().out)}
    assert listed[clusters["shoe"]] == "Hats" and clusters["wool"] not in listed
