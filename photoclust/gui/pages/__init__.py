"""The pages of the main window (see ``base.Page``)."""
