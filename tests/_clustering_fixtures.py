"""Libraries with embeddings inserted directly (no model run), for clustering tests."""
import json

import numpy as np

from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.library.models import Embedding, Photo

MODEL = "efficientnet_lite0"
CLASS_NAMES = [("espresso", "cup"), ("golden_retriever", "Labrador_retriever"),
               ("sports_car", "convertible"), ("daisy", "pot")]


def add_embedded_photos(library, X, labels, model=MODEL, start=0):
    """Photo rows (one content each) with their vectors and top classes, as EmbedJob stores them."""
    ids = []
    with library.session() as s:
        for i, (vector, label) in enumerate(zip(X, labels), start):
            content = f"{i:064x}"
            photo = Photo(path=f"/photos/p{i}.jpg", content_hash=content, file_size=1, mtime_ns=0)
            s.add(photo)
            first, second = CLASS_NAMES[label % len(CLASS_NAMES)]
            s.add(Embedding(content_hash=content, model=model,
                            preprocess_version=PREPROCESS_VERSION, dim=X.shape[1],
                            vector=np.asarray(vector, "<f2").tobytes(),
                            top_classes=json.dumps([[first, 0.6], [second, 0.35]])))
            s.flush()
            ids.append(photo.id)
    return np.array(ids)
