"""Qt item models over the library (lazy, paged; thumbnails loaded off the GUI thread)."""
