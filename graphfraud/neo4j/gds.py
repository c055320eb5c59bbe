"""Neo4j Graph Data Science as the community engine of the candidate generators.

For data already in Neo4j, :class:`GdsLeiden` is a
:class:`~graphfraud.detect.communities.Partitioner`: each account graph the generators
build is projected into GDS (a Cypher aggregation projection fed from parameters), GDS
Leiden runs there, and the projection is dropped again, also when a step fails. The
detector is unchanged, so the same ring tables come out of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl

from ..detect.communities import EMPTY, number_by_smallest
from ..errors import GraphfraudError
from .gateway import Gateway
from .statements import GDS_DROP, GDS_LEIDEN, GDS_PROJECT, GDS_VERSION, GDS_WCC


class GdsError(GraphfraudError):
    """Neo4j has no usable Graph Data Science library."""


def gds_version(gw: Gateway) -> str:
    """The GDS version Neo4j runs; a :class:`GdsError` that says how to get it when there is none."""
    from neo4j.exceptions import ClientError

    try:
        return str(gw.read(GDS_VERSION)[0]["version"])
    except ClientError:
        raise GdsError("this Neo4j has no Graph Data Science library (gds.version() is unknown); start the "
                       "local server with 'graphfraud neo4j serve start' (it includes GDS 2.13), install the GDS "
                       "plugin, or leave out --engine gds.") from None


@contextmanager
def projection(gw: Gateway, edges: pl.DataFrame) -> Iterator[str]:
    """Project ``edges`` (a, b, weight; undirected) as a GDS graph; yield its name, then drop it."""
    ordered = edges.select("a", "b", "weight").sort("a", "b")
    name = f"graphfraud-{uuid.uuid4().hex}"
    params: dict[str, Any] = {"graph": name, "a": ordered["a"].cast(pl.Int64).to_list(),
                              "b": ordered["b"].cast(pl.Int64).to_list(),
                              "w": ordered["weight"].cast(pl.Float64).to_list()}
    try:
        gw.read(GDS_PROJECT, params)
        yield name
    finally:
        # failIfMissing=false: a projection that failed half-way, or never started, drops quietly.
        gw.read(GDS_DROP, {"graph": name})


def _frame(row: dict[str, Any]) -> pl.DataFrame:
    nodes = np.asarray(row["a"], dtype=np.int64)
    order = np.argsort(nodes, kind="stable")
    nodes, labels = nodes[order], np.asarray(row["community"], dtype=np.int64)[order]
    return pl.DataFrame({"a": nodes.astype(np.uint32), "community": number_by_smallest(nodes, labels)}, schema=EMPTY)


class GdsLeiden:
    """GDS Leiden (modularity, ``gamma`` = resolution, one worker, seeded) on a projection.

    Parameters
    ----------
    gw : Gateway
        Connection to a Neo4j with GDS 2.x (every statement goes through it).
    """

    name = "gds"

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.version = gds_version(gw)

    def __call__(self, edges: pl.DataFrame, *, resolution: float, seed: int) -> pl.DataFrame:
        if edges.height == 0:
            return pl.DataFrame(schema=EMPTY)
        with projection(self.gw, edges) as graph:
            row = self.gw.read(GDS_LEIDEN, {"graph": graph, "gamma": float(resolution), "seed": int(seed)})[0]
        return _frame(row)

    def components(self, edges: pl.DataFrame) -> pl.DataFrame:
        """(a, community): GDS weakly connected components of ``edges``, numbered by smallest account."""
        if edges.height == 0:
            return pl.DataFrame(schema=EMPTY)
        with projection(self.gw, edges) as graph:
            row = self.gw.read(GDS_WCC, {"graph": graph})[0]
        return _frame(row)
