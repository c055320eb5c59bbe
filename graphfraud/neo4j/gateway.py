"""The one way Cypher reaches Neo4j: a gateway with ``write`` and ``read``.

:class:`DriverGateway` uses the official ``neo4j`` driver with managed transactions;
:class:`RecordingGateway` records every statement and its parameters for unit tests.
Callers pass a query *template* and a parameter dict, never a formatted string.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from ..errors import Neo4jConnectionError
from .settings import Settings, display_uri


class Gateway(Protocol):
    def write(self, query: str, parameters: dict[str, Any] | None = None) -> dict[str, int]: ...

    def read(self, query: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def _transient() -> tuple[type[BaseException], ...]:
    from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

    return (TransientError, ServiceUnavailable, SessionExpired)


def with_retries(fn: Callable[[], Any], attempts: int = 5, backoff_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> Any:
    """Call ``fn``; retry transient Neo4j errors (deadlocks, leader switches) with backoff.

    A server that stays unreachable through every attempt (5 attempts, 7.5 s of backoff in
    all) becomes a :class:`Neo4jConnectionError` that says how to resume.
    """
    from neo4j.exceptions import ServiceUnavailable, SessionExpired

    transient = _transient()
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except transient as exc:
            if attempt == attempts:
                if isinstance(exc, (ServiceUnavailable, SessionExpired)):
                    raise Neo4jConnectionError(
                        "lost the connection to Neo4j (the server stopped or the network dropped); start it "
                        "again and re-run the same command: every write is an idempotent MERGE, so nothing "
                        "is duplicated.") from None
                raise
            sleep(backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


class DriverGateway:
    """A gateway over the official driver; connection errors become clear messages."""

    def __init__(self, settings: Settings) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, ConfigurationError, ServiceUnavailable

        self._database = settings.database
        uri = display_uri(settings.uri)  # what messages may show
        try:
            # Retries happen in one place, with_retries (bounded, and the same for every gateway);
            # the driver's own retry loop (30 s per transaction by default) would multiply them.
            self._driver = GraphDatabase.driver(settings.uri, auth=(settings.username, settings.password),
                                                max_transaction_retry_time=0)
            self._driver.verify_connectivity()
        except AuthError:
            raise Neo4jConnectionError(
                f"Neo4j at {uri} refused the credentials of user {settings.username!r}; "
                "check NEO4J_USERNAME and NEO4J_PASSWORD.") from None
        except (ServiceUnavailable, OSError):
            raise Neo4jConnectionError(
                f"cannot reach Neo4j at {uri}; start it (graphfraud neo4j serve start, or docker compose -f "
                "docker/compose.yaml up -d) or fix NEO4J_URI.") from None
        except (ConfigurationError, ValueError) as exc:
            raise Neo4jConnectionError(f"NEO4J_URI={uri!r} is not usable ({display_uri(str(exc))}); "
                                       "use e.g. bolt://localhost:7687 or neo4j://host:7687.") from None

    def write(self, query: str, parameters: dict[str, Any] | None = None) -> dict[str, int]:
        with self._driver.session(database=self._database) as session:
            summary = session.execute_write(lambda tx: tx.run(query, parameters or {}).consume())
        return {k: v for k, v in summary.counters.__dict__.items() if isinstance(v, int) and v}

    def read(self, query: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._driver.session(database=self._database) as session:
            return session.execute_read(lambda tx: [r.data() for r in tx.run(query, parameters or {})])

    def close(self) -> None:
        self._driver.close()


@dataclass
class RecordingGateway:
    """Records (query, parameters); answers reads from ``responses`` and can fail on purpose.

    ``fail`` maps a call number (1-based) to an exception raised at that call, so tests
    can check retries. ``responses`` maps a query template to the rows it returns.
    """

    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail: dict[int, BaseException] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    attempts: int = 0

    def _call(self, kind: str, query: str, parameters: dict[str, Any] | None) -> None:
        self.attempts += 1
        if self.attempts in self.fail:
            raise self.fail[self.attempts]
        self.calls.append((kind, query, parameters or {}))

    def write(self, query: str, parameters: dict[str, Any] | None = None) -> dict[str, int]:
        self._call("write", query, parameters)
        return {}

    def read(self, query: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self._call("read", query, parameters)
        return list(self.responses.get(query, []))

    def close(self) -> None:
        pass

    @property
    def queries(self) -> list[str]:
        return [q for _, q, _ in self.calls]


def batched(rows: list[dict[str, Any]] | pl.DataFrame, size: int) -> Iterable[list[dict[str, Any]]]:
    """Consecutive slices of ``rows`` of at most ``size``, as lists of dicts.

    A data frame is turned into dicts one slice at a time: a table of millions of rows
    as Python dicts at once would take several times the memory of the table itself.

    >>> [len(b) for b in batched([{}] * 5, 2)]
    [2, 2, 1]
    >>> [b for b in batched(pl.DataFrame({"x": [1, 2, 3]}), 2)]
    [[{'x': 1}, {'x': 2}], [{'x': 3}]]
    """
    if isinstance(rows, pl.DataFrame):
        for chunk in rows.iter_slices(size):
            yield chunk.to_dicts()
        return
    for i in range(0, len(rows), size):
        yield rows[i:i + size]
