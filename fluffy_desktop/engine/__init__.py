"""The engine: everything Fluffy does, with no Qt. The Album facade is the way in."""
