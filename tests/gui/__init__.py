"""pytest-qt tests of the desktop app, offscreen, over real Albums on the tiny model."""
