"""Connection settings from the environment (or a prompt): never argv, never logged."""

from __future__ import annotations

import getpass
import os
import re
import sys
from dataclasses import dataclass, field

from ..errors import Neo4jConnectionError

_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")
#: URI schemes of the Bolt protocol. The driver would also take http(s):// for its preview
#: Query API, which needs extra packages and speaks a different protocol, so it is refused.
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def display_uri(text: str) -> str:
    """``text`` with the user-info (``user:password@``) of every URI in it masked.

    >>> display_uri("cannot reach neo4j+s://neo4j:s3cret@db.example:7687?x=1")
    'cannot reach neo4j+s://***@db.example:7687?x=1'
    """
    return _USERINFO.sub("***@", str(text))


def check_scheme(uri: str) -> None:
    """Refuse a URI that is not Bolt, before any driver sees it."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme not in BOLT_SCHEMES:
        raise Neo4jConnectionError(
            f"NEO4J_URI={display_uri(uri)!r} is not usable (graphfraud speaks Bolt: {', '.join(BOLT_SCHEMES)}); "
            "use e.g. bolt://localhost:7687 or neo4j://host:7687.")


@dataclass(frozen=True)
class Settings:
    uri: str
    username: str
    database: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        check_scheme(self.uri)  # also for settings built directly, not from the environment

    def __repr__(self) -> str:  # the password never reaches a log or a traceback
        return (f"Settings(uri={display_uri(self.uri)!r}, username={self.username!r}, database={self.database!r}, "
                "password=***)")


def settings_from_env(env: dict[str, str] | None = None, prompt: bool | None = None) -> Settings:
    """Read ``NEO4J_URI``, ``NEO4J_USERNAME``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``.

    A missing password is asked for on the terminal when there is one.

    >>> settings_from_env({"NEO4J_URI": "bolt://localhost:7687", "NEO4J_PASSWORD": "s3cret"})
    Settings(uri='bolt://localhost:7687', username='neo4j', database='neo4j', password=***)
    """
    env = dict(os.environ) if env is None else env
    uri = env.get("NEO4J_URI")
    if not uri:
        raise Neo4jConnectionError(
            "NEO4J_URI is not set. Start Neo4j (docker compose -f docker/compose.yaml up -d) and "
            "export NEO4J_URI=bolt://localhost:7687 (plus NEO4J_USERNAME / NEO4J_PASSWORD).")
    if _USERINFO.search(uri):
        # Never echo it: the user-info is usually user:password.
        raise Neo4jConnectionError(
            f"NEO4J_URI ({display_uri(uri)}) carries credentials in the URI; the driver does not accept them there. "
            "Put the user in NEO4J_USERNAME and the password in NEO4J_PASSWORD, and keep NEO4J_URI to scheme://host:port.")
    check_scheme(uri)
    password = env.get("NEO4J_PASSWORD")
    if not password:
        interactive = sys.stdin.isatty() if prompt is None else prompt
        if not interactive:
            raise Neo4jConnectionError("NEO4J_PASSWORD is not set and there is no terminal to ask for it; "
                                       "export NEO4J_PASSWORD (it is never accepted on the command line).")
        password = getpass.getpass(f"Neo4j password for {env.get('NEO4J_USERNAME', 'neo4j')} at {uri}: ")
    return Settings(uri, env.get("NEO4J_USERNAME", "neo4j"), env.get("NEO4J_DATABASE", "neo4j"), password)
