"""Words people use for photos that ImageNet's hierarchy does not give: scenes and common words.

WordNet puts a toilet seat under "seat" and a refrigerator under "white goods", never under
"bathroom" or "kitchen": the places where objects are found, and everyday words over several
classes ("dress" over gown and overskirt), are not in its hypernym tree. This table adds them,
from what the ImageNet classes are (their WordNet definitions), not from any photo set: each word
lists the classes whose objects belong to that place or are that kind of thing. A word that is
also a WordNet synset's word ("hat", "church", "house") adds these classes to the synset's.

``vocabulary.Vocabulary`` turns each word into a concept (``classes_under`` = the classes
listed), so search finds "bathroom" and naming (``clustering/naming.py``) can call a cluster a
bathroom when the photos' objects say so. Measured in bench/search_quality.py; docs/search.md.
"""
from __future__ import annotations

#: Places, and the ImageNet classes (torchvision's names) whose objects are found there.
SCENES: dict[str, tuple[str, ...]] = {
    "bathroom": ("medicine chest", "toilet seat", "shower curtain", "tub", "bathtub",
                 "washbasin", "soap dispenser", "toilet tissue", "plunger", "shower cap"),
    "kitchen": ("microwave", "refrigerator", "dishwasher", "stove", "Dutch oven", "frying pan",
                "wok", "toaster", "espresso maker", "coffeepot", "mixing bowl", "spatula",
                "wooden spoon", "ladle", "strainer", "Crock Pot", "dishrag", "plate rack",
                "can opener", "cleaver", "waffle iron", "measuring cup", "saltshaker",
                "caldron", "teapot"),
    "bedroom": ("studio couch", "quilt", "four-poster", "pillow", "wardrobe", "crib", "cradle",
                "chiffonier", "bassinet"),
    "living room": ("home theater", "television", "entertainment center", "rocking chair",
                    "fire screen", "bookcase", "table lamp", "lampshade", "window shade"),
    "beach": ("seashore", "sandbar", "promontory"),
    "street": ("street sign", "traffic light", "parking meter", "manhole cover", "mailbox"),
    "mountain": ("alp", "volcano", "cliff", "valley"),
    "house": ("tile roof", "thatch", "patio", "picket fence", "mobile home", "boathouse",
              "sliding door", "window screen", "palace", "monastery"),
    "church": ("church", "bell cote", "altar", "organ", "monastery"),
}

#: Everyday words over classes that WordNet files elsewhere ("shower cap" is a cap, a kind of
#: headdress, but "hat" in WordNet is only the brimmed kind).
COMMON_WORDS: dict[str, tuple[str, ...]] = {
    "hat": ("cowboy hat", "sombrero", "bonnet", "bearskin", "mortarboard", "bathing cap",
            "shower cap"),
    "dress": ("gown", "overskirt", "hoopskirt"),
}
# ("shoe" needs no entry: WordNet's shoe covers Loafer, running shoe and sandal, and a mix of
# shoes and boots is rightly "footwear".)


def word_groups() -> dict[str, tuple[str, ...]]:
    """Scenes and common words together, each word once."""
    return {**SCENES, **COMMON_WORDS}
