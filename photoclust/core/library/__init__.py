"""The SQLite photo library: open it, migrate it, scan folders into it."""
from photoclust.core.library.db import (
    Library,
    LibraryError,
    LibraryUnavailableError,
    NewerLibraryError,
    default_library_path,
    open_library,
)

__all__ = ["Library", "LibraryError", "LibraryUnavailableError", "NewerLibraryError",
           "default_library_path", "open_library"]
