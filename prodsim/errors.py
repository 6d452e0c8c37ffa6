"""Errors whose message is meant for the person using prodsim."""

from __future__ import annotations


class ProdsimError(Exception):
    """A problem the user can act on.

    The message says what happened, why, and what to do; pages show it as is and the CLI
    prints it as ``{"error": message}``. Details for developers go to the log.
    """


class BadInputError(ProdsimError):
    """An uploaded file, column mapping or argument that prodsim refuses; nothing was written."""


class ModelLoadError(ProdsimError):
    """A model folder or file that cannot be loaded as an encoder."""


class Cancelled(ProdsimError):
    """Long work stopped on request; whatever was finished is kept."""
