"""Moved to ``photoclust.core.map_layout`` (Qt-free). This name stays only while the old main
window still imports it; the shell's map page imports the core module directly."""
from photoclust.core.map_layout import (  # noqa: F401
    MapLayout,
    MapLayoutJob,
    cluster_of_photos,
    tsne_layout,
)
