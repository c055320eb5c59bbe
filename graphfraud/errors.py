"""One exception root for everything graphfraud raises on purpose.

Every message states the problem *and* the fix, so the CLI can print it as-is
and exit non-zero without a traceback. :class:`GraphfraudWarning` is the one warning
category: something went worse than planned but the result is still right (the CLI
prints it as one ``warning:`` line).
"""

from __future__ import annotations


class GraphfraudError(Exception):
    """Root of every error graphfraud raises deliberately."""


class DataContractError(GraphfraudError):
    """Input files break the data contract in a way that makes the data unusable."""


class ParameterError(GraphfraudError, ValueError):
    """A parameter has a bad value; the message shows the value and the allowed range."""


class Neo4jConnectionError(GraphfraudError):
    """Neo4j is unreachable, refuses the credentials, or the driver is misconfigured."""


class RunDirectoryError(GraphfraudError):
    """A run or case directory is missing files that the command needs."""


class NotFittedError(GraphfraudError, AttributeError):
    """A fitted attribute or method was used before ``fit``."""


class GraphfraudWarning(UserWarning):
    """The run goes on and its results are right, but something went worse than planned."""
