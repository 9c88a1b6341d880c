"""Widgets of the main window: cluster sidebar, photo grid, preview pane, map, welcome page."""
