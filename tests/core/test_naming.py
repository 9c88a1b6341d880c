"""Cluster names from WordNet's hierarchy over the photos' top classes (no model weights)."""
from __future__ import annotations

import pytest

from photoclust.core.clustering.naming import hierarchy_names, suggest_names
from photoclust.core.search.vocabulary import vocabulary


def name_of(*first_classes: str) -> str:
    """The name of one cluster whose photos have these most likely classes."""
    top = {i: [(name, 0.7), ("velvet", 0.1)] for i, name in enumerate(first_classes)}
    return suggest_names([0] * len(top), list(top), top)[0]


def test_one_kind_is_named_by_its_class():
    assert name_of("beagle", "beagle", "beagle", "beagle", "basset") == "beagle"
    assert name_of("golden_retriever") == "golden retriever"


def test_several_kinds_get_the_most_specific_concept_covering_most():
    assert name_of("cowboy hat", "sombrero", "bonnet", "sombrero") == "hat"
    assert name_of("cowboy hat", "sombrero") == "hat"
    assert set(name_of("beagle", "tabby").split(" / ")) == {"beagle", "tabby"}
    assert name_of("sandal", "clog", "Loafer", "running shoe", "cowboy boot") == "shoe"  # 3 of 5
    assert name_of("sandal", "clog", "running shoe", "cowboy boot") == "footwear"
    assert name_of("beagle", "basset", "bloodhound", "Afghan hound") == "hound"
    assert name_of("beagle", "golden retriever", "Chihuahua", "pug", "collie") == "dog"


def test_two_concepts_only_when_the_cluster_holds_two():
    assert set(name_of("beagle", "basset", "tabby", "Persian cat").split(" / ")) == {
        "hound", "domestic cat"}
    assert name_of("beagle", "basset", "beagle", "tabby", "Persian cat").startswith("hound / ")
    # a cluster that is mostly one thing is named after it
    assert name_of("sorrel", "sorrel", "sorrel", "collie", "hartebeest") == "sorrel"
    # three breeds are not two things
    assert name_of("beagle", "Chihuahua", "golden retriever", "collie") == "dog"


def test_abstract_upper_categories_are_never_names():
    name = name_of("jean", "sandal", "cowboy hat", "tabby", "golf ball", "church")
    assert name not in ("whole", "object", "artifact", "entity", "physical entity")


def test_names_stay_distinct_and_user_names_are_not_touched_here():
    top = {1: [("beagle", 0.9)], 2: [("beagle", 0.8)], 3: [("beagle", 0.9)], 4: [("beagle", 0.7)]}
    names = suggest_names([0, 0, 1, 1], [1, 2, 3, 4], top)
    assert names[0] == "beagle" and names[1] not in ("beagle", "")


def test_unknown_class_names_fall_back_to_the_votes():
    top = {1: [("some_other_model_class", 0.9)], 2: [("some_other_model_class", 0.8)]}
    assert suggest_names([0, 0], [1, 2], top) == {0: "some other model class"}
    assert hierarchy_names([[("some_other_model_class", 0.9)]]) == []


def test_vocabulary_matches_the_engine_class_names():
    from photoclust.core.embedding.backbones import imagenet_class_names

    vocab = vocabulary()
    assert vocab.class_names == imagenet_class_names()
    assert vocab.n_classes == 1000 and len(vocab.wnids) > 1000


@pytest.mark.parametrize("word, expected", [
    ("dogs", "beagle"), ("puppies", "beagle"), ("hats", "sombrero"), ("shoes", "running shoe"),
    ("mice", "mouse"), ("hoodie", "sweatshirt"), ("golf balls", "golf ball"),
    ("shorts", "swimming trunks"), ("jacket", "trench coat"), ("kitchen", "toaster"),
])
def test_vocabulary_words_reach_their_classes(word, expected):
    vocab = vocabulary()
    match = vocab.lookup(word)
    assert match is not None
    assert vocab.class_weights(match)[vocab.class_index[expected]] > 0


def test_the_shipped_vocabulary_is_what_the_tool_derives_from_wordnet(tmp_path):
    import gzip
    import importlib.util
    import json
    from pathlib import Path

    from photoclust.core.search.vocabulary import DATA_FILE

    wordnet = Path("/usr/share/wordnet")
    if not (wordnet / "data.noun").exists():
        pytest.skip("WordNet 3.0 database files absent (apt-get install wordnet-base)")
    tool = Path(__file__).resolve().parents[2] / "tools" / "build_wordnet_vocabulary.py"
    spec = importlib.util.spec_from_file_location("build_wordnet_vocabulary", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--wordnet", str(wordnet), "--out", str(tmp_path / "v.json.gz")]) == 0
    with gzip.open(tmp_path / "v.json.gz", "rt") as new, gzip.open(DATA_FILE, "rt") as shipped:
        assert json.load(new) == json.load(shipped)


# --- scenes and common words (issue #24, point 2) -------------------------------------------------

def test_a_cluster_of_bathroom_objects_is_a_bathroom():
    # What the model sees in bathroom photos: medicine chests, tubs, toilet seats, curtains.
    assert name_of("medicine chest", "medicine chest", "medicine chest", "tub", "toilet seat",
                   "shower curtain") == "bathroom"
    assert name_of("microwave", "refrigerator", "dishwasher", "microwave", "stove") == "kitchen"
    assert name_of("studio couch", "quilt", "four-poster", "studio couch") == "bedroom"
    # churches were "building": church, bell cote, monastery and a mosque-like one
    assert name_of("church", "bell cote", "church", "bell cote", "monastery", "mosque") == "church"


def test_a_cluster_of_gowns_and_overskirts_is_a_dress_not_a_garment():
    assert name_of("gown", "gown", "overskirt", "overskirt", "hoopskirt", "jersey") == "dress"


def test_a_scene_word_does_not_replace_a_name_that_says_as_much():
    assert name_of("cab", "cab", "cab", "cab", "streetcar") == "cab"  # not "street"
    assert name_of("medicine chest", "medicine chest", "medicine chest", "medicine chest",
                   "tub") == "medicine chest"


def test_every_scene_and_common_word_lists_real_imagenet_classes():
    from photoclust.core.search.scenes import word_groups

    vocab = vocabulary()
    for word, classes in word_groups().items():
        assert [c for c in classes if c not in vocab.class_index] == [], word
        match = vocab.lookup(word)
        assert match is not None and vocab.word_groups[word] in match.concepts


def names_of(*photos: list[tuple[str, float]]) -> str:
    """The name of one cluster whose photos have these stored top classes."""
    top = dict(enumerate(photos))
    return suggest_names([0] * len(top), list(top), top)[0]


def test_an_everyday_word_the_model_says_unsure_names_the_cluster():
    # Knitted hats: to ImageNet most are wool, knee pads or backpacks first and a hat after;
    # the hat classes together outvote every other class ("wool / bonnet" before).
    assert names_of([("wool", 0.4), ("bonnet", 0.2), ("knee pad", 0.1)],
                    [("knee pad", 0.4), ("cowboy hat", 0.25), ("wool", 0.1)],
                    [("backpack", 0.35), ("sombrero", 0.3), ("wool", 0.1)],
                    [("bonnet", 0.5), ("wool", 0.1)],
                    [("ski mask", 0.4), ("shower cap", 0.3)],
                    [("wool", 0.3), ("bearskin", 0.2)]) == "hat"
    # Dresses the model sees as velvet, pajamas and aprons first: "dress", not "garment".
    assert names_of([("velvet", 0.4), ("overskirt", 0.3)], [("pajama", 0.4), ("gown", 0.35)],
                    [("apron", 0.5), ("hoopskirt", 0.2)], [("overskirt", 0.45), ("velvet", 0.2)],
                    [("jersey", 0.4), ("gown", 0.3)]) == "dress"


def test_an_everyday_word_among_the_classes_does_not_outvote_what_the_photos_are():
    # a can opener (a kitchen object) second in every photo of airliners: still "airliner"
    assert names_of(*[[("airliner", 0.7), ("can opener", 0.1)]] * 5) == "airliner"
    # hats in most photos' classes, but wool alone has more votes than all the hats together
    assert names_of([("wool", 0.8), ("bonnet", 0.1)], [("wool", 0.7), ("sombrero", 0.1)],
                    [("wool", 0.8), ("velvet", 0.1)], [("wool", 0.6), ("bonnet", 0.2)]) != "hat"
    # a more specific name that covers most photos is kept: jeans with a gown among the classes
    assert names_of(*[[("jean", 0.6), ("gown", 0.2)]] * 4) == "jean"
    # one class of the word holds most of its votes: that class says more than the word
    signs = [[("street sign", 0.3), ("safe", 0.25), ("parking meter", 0.05)],
             [("safe", 0.3), ("street sign", 0.25)], [("street sign", 0.4), ("mailbox", 0.1)],
             [("envelope", 0.3), ("street sign", 0.2)]]
    assert "street sign" in names_of(*signs)
