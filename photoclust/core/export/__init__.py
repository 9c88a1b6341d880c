"""Export: albums as folders with a manifest and XMP sidecars (``albums.py``) and which
copy of a duplicate group stands for it (``duplicates_choice.py``)."""
