"""The rings of a previous run, indexed for matching live events against them."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from ..schema import IDENTIFIER_KINDS

#: Evidence node roles that are identifiers the ring's members used themselves (payers that
#: funded refunds are evidence too, but no buyer places an order with them).
_SHARED_ROLE = "shared identifier"
_NODE_KIND = {k.node: k.name for k in IDENTIFIER_KINDS}


@dataclass(frozen=True)
class KnownRing:
    """One ring of a previous run: members, the identifiers they shared, its type and evidence."""

    ring_id: str
    members: frozenset[str]
    identifiers: frozenset[tuple[str, str]]
    ring_type: str = ""
    q_ring: float | None = None
    #: Platform accounts each identifier had in the run (a hub is weak evidence).
    platform_accounts: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class KnownRings:
    """Known rings with lookups from account and from ``(kind, value)`` identifier to ring ids.

    >>> rings = pl.DataFrame({"ring_id": ["R-1"], "ring_type": ["device farm"], "q_ring": [1e-6]})
    >>> members = pl.DataFrame({"ring_id": ["R-1", "R-1"], "account_id": ["a", "b"]})
    >>> nodes = pl.DataFrame({"ring_id": ["R-1"], "node_type": ["Device"], "key": ["D1"],
    ...                       "role": ["shared identifier"], "platform_accounts": [2]})
    >>> k = KnownRings.from_tables(rings, members, nodes)
    >>> k.by_account["a"], k.by_identifier[("device", "D1")]
    (('R-1',), ('R-1',))
    """

    rings: dict[str, KnownRing]
    by_account: dict[str, tuple[str, ...]]
    by_identifier: dict[tuple[str, str], tuple[str, ...]]

    @classmethod
    def empty(cls) -> KnownRings:
        return cls({}, {}, {})

    @classmethod
    def from_tables(cls, rings: pl.DataFrame, members: pl.DataFrame, nodes: pl.DataFrame) -> KnownRings:
        """Index ``rings.csv``, ``ring_members.csv`` and ``evidence/nodes.csv`` of a run."""
        info = {r["ring_id"]: r for r in rings.select(
            [c for c in ("ring_id", "ring_type", "q_ring") if c in rings.columns]).iter_rows(named=True)}
        mem: dict[str, set[str]] = {}
        for rid, acc in members.select("ring_id", "account_id").drop_nulls().iter_rows():
            mem.setdefault(rid, set()).add(acc)
        ids: dict[str, dict[tuple[str, str], int]] = {}
        if nodes.height and {"node_type", "key", "role"} <= set(nodes.columns):
            users = "platform_accounts" if "platform_accounts" in nodes.columns else None
            shared = nodes.filter((pl.col("role") == _SHARED_ROLE) & pl.col("node_type").is_in(list(_NODE_KIND)))
            for r in shared.iter_rows(named=True):
                ids.setdefault(r["ring_id"], {})[(_NODE_KIND[r["node_type"]], r["key"])] = int(
                    r[users] or 0) if users else 0
        out: dict[str, KnownRing] = {}
        for rid in sorted(set(mem) | set(ids)):
            meta = info.get(rid, {})
            q = meta.get("q_ring")
            out[rid] = KnownRing(rid, frozenset(mem.get(rid, ())), frozenset(ids.get(rid, {})),
                                 meta.get("ring_type") or "", float(q) if q is not None else None, ids.get(rid, {}))
        by_account: dict[str, list[str]] = {}
        by_identifier: dict[tuple[str, str], list[str]] = {}
        for rid, ring in out.items():
            for a in ring.members:
                by_account.setdefault(a, []).append(rid)
            for i in ring.identifiers:
                by_identifier.setdefault(i, []).append(rid)
        return cls(out, {k: tuple(v) for k, v in by_account.items()},
                   {k: tuple(v) for k, v in by_identifier.items()})

    def __len__(self) -> int:
        return len(self.rings)
