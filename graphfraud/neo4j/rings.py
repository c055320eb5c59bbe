"""Write a detection run's rings back into Neo4j, replacing the previous run's."""

from __future__ import annotations

import hashlib
import json
from typing import TypedDict

import polars as pl

from ..run import RunResult
from .gateway import Gateway, with_retries
from .ingest import write_batches
from .statements import (
    EVIDENCE_TYPES,
    RING_DELETE_OTHER_RUNS,
    RING_MEMBER_CLEANUP,
    RING_MEMBERS,
    RING_UPSERT,
    ring_evidence_statement,
)


class PushReport(TypedDict):
    """What :func:`push_rings` wrote."""

    rings: int
    members: int
    evidence_links: int
    run_id: str


def run_id(run: RunResult) -> str:
    """Identifies one detection run: its creation time, parameters and ring ids."""
    basis = json.dumps([run.manifest.get("created_at"), run.manifest.get("parameters"),
                        sorted(run.rings["ring_id"].to_list())], sort_keys=True, default=str)
    return hashlib.sha1(basis.encode()).hexdigest()[:12]


def push_rings(run: RunResult, gw: Gateway, batch_size: int = 5_000) -> PushReport:
    """Replace the rings in Neo4j by this run's: rings, members (``RingMember``), evidence links.

    Order matters: other runs' rings are deleted first (with their MEMBER_OF links), the
    new rings written, and only then are ``RingMember`` labels without a ring removed,
    so no stale label survives and no current member loses it.
    """
    rid = run_id(run)
    families = [c for c in run.rings.columns if c.startswith("p_")]
    rings = [{"ring_id": r["ring_id"], "ring_type": r["ring_type"], "evidence": r["evidence"], "q_value": r["q_ring"],
              "reasons": r["reasons"], "n_accounts": r["n_accounts"],
              "families": {c: r[c] for c in families if r[c] is not None}} for r in run.rings.iter_rows(named=True)]
    with_retries(lambda: gw.write(RING_DELETE_OTHER_RUNS, {"run_id": rid}))
    with_retries(lambda: gw.write(RING_UPSERT, {"rings": rings, "run_id": rid}))
    members = write_batches(gw, RING_MEMBERS, run.members.select("ring_id", "account_id", "member_evidence"),
                            batch_size)
    linked = 0
    for node_type in EVIDENCE_TYPES:
        rows = (run.nodes.filter(pl.col("node_type") == node_type).select("ring_id", "key").unique()
                .sort("ring_id", "key"))
        linked += write_batches(gw, ring_evidence_statement(node_type), rows, batch_size)
    with_retries(lambda: gw.write(RING_MEMBER_CLEANUP))
    return {"rings": len(rings), "members": members, "evidence_links": linked, "run_id": rid}
