"""Errors a user can cause: each carries a one-line message that says what to do."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message ("" when it has none)."""
    lines = str(exc).splitlines()
    return lines[0] if lines else ""


class FluffyError(Exception):
    """Base of all user-facing errors; the CLI prints the message and exits 2."""


class ModelUnavailable(FluffyError):
    """The CLIP weights cannot be found, downloaded or read."""


class PhotoUnreadable(FluffyError):
    """A photo the user named cannot be read as an image."""


class UnknownConcept(FluffyError):
    """A concept name that is not in the store."""


class ConceptMismatch(FluffyError):
    """A concept (or inverter) file that belongs to another model, or is malformed."""


class BadQuery(FluffyError):
    """A query that cannot be run (empty, only negatives, unknown photo…)."""


class HomeUnwritable(FluffyError):
    """The home directory cannot be written (read-only, full disk)."""


class CatalogTooNew(FluffyError):
    """The catalog was made by a newer Fluffy, whose layout this one cannot read safely."""


class Cancelled(FluffyError):
    """Long work stopped because the user asked it to."""
