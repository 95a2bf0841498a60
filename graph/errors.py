"""Errors a user can act on. The CLI prints their message as one line; anything else is a bug."""


class WarrantError(Exception):
    """Base class: the message is meant for the person at the keyboard."""


class ConfigurationError(WarrantError):
    """A setting is wrong or the environment cannot support it (unwritable home, port in use)."""


class GraphUnavailable(WarrantError):
    """The graph server cannot be reached, refused the credentials, or failed to start."""


class NotFound(WarrantError):
    """No node with that id (at that time)."""


class ConcurrentModification(WarrantError):
    """The node changed since the caller read it: its `version` no longer matches."""


class InvalidGraphInput(WarrantError):
    """A label, relationship type or property the model does not allow."""
