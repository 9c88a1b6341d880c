"""Organize: the headless main job (``pipeline.py``: index, embed, faces, cluster,
events), the library's settings it runs under (``settings.py``) and ``evaluate``
(``evaluation.py``: Organize on a labelled folder, scored)."""
