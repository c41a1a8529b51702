"""Errors shown to the user: one clear line at the edge (CLI exit code, gr.Error in the UI)."""


class CoachError(Exception):
    """An error whose message is meant for the user, not a traceback."""

    exit_code = 1


class UserInputError(CoachError):
    """The user gave us something we cannot use (bad path, empty answer, malformed file)."""

    exit_code = 2


class NotFoundError(UserInputError):
    """An id the user named does not exist (question, session, track)."""


class CorpusError(CoachError):
    """The corpus on disk is invalid; the message names the file and the item."""


class IntegrityError(CoachError):
    """A packaged resource (model file, BPE table) failed its checksum."""


class StoreError(CoachError):
    """The vector store is unreachable or inconsistent."""


class EngineError(CoachError):
    """The model engine failed in a way no fallback could cover."""


class ConflictError(CoachError):
    """Another window or process changed the same interview session first."""


class DamagedFileError(CoachError):
    """A database file is unreadable; the message names it and says how to recover."""
