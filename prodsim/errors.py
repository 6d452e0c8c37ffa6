"""Errors whose message is meant for the person using prodsim."""

from __future__ import annotations

import logging
import uuid


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


def log_unexpected(where: str) -> str:
    """Logs the exception being handled, with its trace, under a short reference; returns what people are told.

    Call it inside an ``except`` block. The reference is in both, so the log line can be found from a screenshot.
    """
    reference = uuid.uuid4().hex[:8]
    logging.getLogger("prodsim").exception("unexpected error in %s (reference %s)", where, reference)
    return f"Something went wrong on our side (reference {reference} in the server log)."
