"""`photoclust embed` and `photoclust organize` through the real command line."""
from __future__ import annotations

import json
import urllib.error

import pytest
import torch

from _cli_runs import run_json
from helpers import write_photos
from photoclust.cli import main
from photoclust.core.library import open_library
from photoclust.core.library.queries import photo_by_path

#: Photos big enough to be embedded from their thumbnail, named photo0.jpg, photo1.jpg, ...
PHOTOS = {"size": (320, 240), "name": "photo{}.jpg"}



@pytest.mark.slow
def test_embed_json_reports_embedded_then_already(tmp_path, capsys):
    library = str(tmp_path / "lib.sqlite")
    photos = write_photos(tmp_path / "photos", 3, **PHOTOS)
    run_json(capsys, "index", str(photos), "--library", library)

    first = run_json(capsys, "embed", "--library", library, "--device", "cpu", "--batch-size", "2")
    second = run_json(capsys, "embed", "--library", library, "--device", "cpu")

    assert set(first) >= {"embedded", "skipped", "already", "model", "device", "seconds",
                          "photos_per_second"}
    assert (first["embedded"], first["already"], first["skipped"]) == (3, 0, [])
    assert first["model"] == "efficientnet_lite2" and first["device"].startswith("cpu")
    assert (second["embedded"], second["already"]) == (0, 3)


@pytest.mark.slow
def test_a_library_keeps_the_model_it_was_embedded_with(tmp_path, capsys):
    """A library organised with another model than today's default keeps using it, so its
    clusters, corrections and new photos stay in one embedding space."""
    library = str(tmp_path / "lib.sqlite")
    photos = write_photos(tmp_path / "photos", 4, **PHOTOS)
    run_json(capsys, "index", str(photos), "--library", library)
    first = run_json(capsys, "embed", "--model", "efficientnet_lite0", "--library", library)
    write_photos(tmp_path / "more", 2, first=100, **PHOTOS)
    run_json(capsys, "index", str(photos), str(tmp_path / "more"), "--library", library)

    again = run_json(capsys, "embed", "--library", library)
    clustered = run_json(capsys, "cluster", "--k", "2", "--library", library)

    assert (first["model"], first["embedded"]) == ("efficientnet_lite0", 4)
    assert (again["model"], again["embedded"], again["already"]) == ("efficientnet_lite0", 2, 4)
    assert clustered["n"] == 6


def test_embed_resnet50_offline_is_one_sentence_not_a_traceback(tmp_path, capsys, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    library = str(tmp_path / "lib.sqlite")

    code = main(["embed", "--model", "resnet50", "--library", library])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("photoclust: ") and err.count("\n") == 1
    assert "efficientnet_lite2" in err and "Traceback" not in err


def test_embed_unknown_model_lists_the_choices(tmp_path, capsys):
    code = main(["embed", "--model", "nope", "--library", str(tmp_path / "lib.sqlite")])
    assert code == 1
    assert "choose one of: efficientnet_lite0" in capsys.readouterr().err


@pytest.mark.slow
def test_organize_indexes_embeds_and_clusters(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos", 6, **PHOTOS)
    library = str(tmp_path / "lib.sqlite")

    result = run_json(capsys, "organize", str(photos), "--library", library, "--k", "2",
                      "--device", "cpu")

    assert result["index"]["added"] == 6
    assert result["embed"]["embedded"] == 6
    assert result["cluster"]["k"] == 2 and result["cluster"]["n"] == 6
    assert sum(c["size"] for c in result["cluster"]["clusters"]) == 6

    (photos / "photo0.jpg").rename(photos / "renamed.jpg")
    again = run_json(capsys, "organize", str(photos), "--library", library, "--k", "2")
    assert again["index"]["moved"] == 1 and again["embed"]["embedded"] == 0
    assert again["embed"]["already"] == 6


def test_organize_unreadable_folder_fails_before_any_work(tmp_path, capsys):
    library = tmp_path / "lib.sqlite"
    code = main(["organize", str(tmp_path / "nowhere"), "--library", str(library)])
    assert code == 1
    assert "no such folder" in capsys.readouterr().err


def test_organize_unknown_method_fails_before_indexing(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos", 1, **PHOTOS)
    library = tmp_path / "lib.sqlite"
    code = main(["organize", str(photos), "--library", str(library), "--method", "magic"])
    assert code == 1
    assert "unknown method 'magic'" in capsys.readouterr().err
    assert main(["status", "--library", str(library), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == 0


@pytest.mark.slow
def test_moving_a_library_to_another_model_keeps_names_and_corrections(tmp_path, capsys):
    """`organize --model efficientnet_lite2` moves a Lite0 library to Lite2; cluster ids, the
    names you gave and the photos you placed carry over, and the library's model follows."""
    library = str(tmp_path / "lib.sqlite")
    photos = write_photos(tmp_path / "photos", 6, **PHOTOS)
    run_json(capsys, "organize", str(photos), "--model", "efficientnet_lite0", "--k", "2",
             "--library", library)
    clusters = run_json(capsys, "clusters", "--library", library)
    first, second = clusters[0]["id"], clusters[1]["id"]
    run_json(capsys, "rename", str(first), "Mine", "--library", library)
    placed = str(photos / "photo0.jpg")
    run_json(capsys, "move", placed, "--to", str(second), "--library", library)

    moved = run_json(capsys, "organize", str(photos), "--model", "efficientnet_lite2", "--k", "2",
                     "--library", library)

    assert moved["embed"]["model"] == "efficientnet_lite2" and moved["embed"]["embedded"] == 6
    status = run_json(capsys, "status", "--library", library)
    assert status["model"] == "efficientnet_lite2"
    assert status["embedded"] == {"efficientnet_lite0": 6, "efficientnet_lite2": 6}
    after = {c["id"]: c for c in run_json(capsys, "clusters", "--library", library)}
    assert after[first]["name"] == "Mine"
    with open_library(library) as lib:
        photo = photo_by_path(lib, placed)
    assert (photo.cluster_id, photo.source) == (second, "user")


@pytest.mark.slow
def test_organize_summary_counts_unreadable_photos_on_their_own_line(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos", 4, **PHOTOS)
    library = str(tmp_path / "lib.sqlite")
    run_json(capsys, "index", str(photos), "--library", library)
    (photos / "photo1.jpg").write_bytes(b"no longer a photo")

    code = main(["organize", str(photos), "--library", library, "--k", "2", "--device", "cpu"])
    out = capsys.readouterr().out

    assert code == 0
    indexed = next(line for line in out.splitlines() if line.startswith("Indexed:"))
    assert "0 skipped" in indexed
    unreadable = [line for line in out.splitlines() if line.startswith("Unreadable:")]
    assert len(unreadable) == 1 and unreadable[0].startswith("Unreadable: 1 photo(s)")
    assert "photo1.jpg" in out
