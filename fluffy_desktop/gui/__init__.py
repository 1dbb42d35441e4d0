"""The desktop app (PySide6): widgets over the Album facade; imports no torch directly."""
