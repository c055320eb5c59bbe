"""Rings across runs: stable ids and what changed.

A ring keeps its id from one run to the next when its membership overlaps a ring of the
previous run with Jaccard index at least :data:`KEEP_JACCARD` (0.5: more than half of
the union is shared). Matches are made greedily by decreasing Jaccard, one to one, so a
ring that split keeps its id on its larger part. Unmatched rings keep the id derived
from their members.

:func:`diff` classifies the rings of two runs:

* ``kept`` — the same id in both runs, with the members that joined and left
  (``grown``, ``shrunk`` or ``unchanged``);
* ``merged`` — a new ring holding at least :data:`PART_SHARE` of each of two or more
  previous rings;
* ``split`` — a previous ring whose members are, at least :data:`PART_SHARE` of them each,
  in two or more new rings;
* ``new`` / ``vanished`` — rings with no counterpart.

>>> import polars as pl
>>> old = pl.DataFrame({"ring_id": ["R-a"] * 4, "account_id": list("wxyz")})
>>> new = pl.DataFrame({"ring_id": ["R-n"] * 5, "account_id": list("wxyzv")})
>>> carry_ids(new, old)
{'R-n': 'R-a'}
>>> diff(old, new.with_columns(pl.lit("R-a").alias("ring_id"))).rows[0].change
'grown'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

#: A ring keeps the id of a previous ring it overlaps this much (Jaccard index).
KEEP_JACCARD = 0.5
#: A part of a merge or a split holds at least this share of the ring it came from.
PART_SHARE = 0.3


def _overlaps(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """(ring_a, ring_b, both, n_a, n_b, jaccard) for every pair of rings sharing members."""
    na = a.group_by("ring_id").agg(pl.len().alias("n_a"))
    nb = b.group_by("ring_id").agg(pl.len().alias("n_b"))
    both = (a.select(pl.col("ring_id").alias("ring_a"), "account_id")
            .join(b.select(pl.col("ring_id").alias("ring_b"), "account_id"), on="account_id")
            .group_by("ring_a", "ring_b").agg(pl.len().alias("both")))
    return (both.join(na.rename({"ring_id": "ring_a"}), on="ring_a").join(nb.rename({"ring_id": "ring_b"}), on="ring_b")
            .with_columns((pl.col("both") / (pl.col("n_a") + pl.col("n_b") - pl.col("both"))).alias("jaccard"))
            .sort(["jaccard", "both", "ring_a", "ring_b"], descending=[True, True, False, False]))


def carry_ids(members: pl.DataFrame, previous: pl.DataFrame, min_jaccard: float = KEEP_JACCARD) -> dict[str, str]:
    """New ring id -> previous ring id for rings that keep their identity (see module doc)."""
    taken_new: set[str] = set()
    taken_old: set[str] = set()
    out: dict[str, str] = {}
    for new, old, jac in _overlaps(members, previous).select("ring_a", "ring_b", "jaccard").iter_rows():
        if jac < min_jaccard:
            break
        if new in taken_new or old in taken_old:
            continue
        taken_new.add(new)
        taken_old.add(old)
        out[new] = old
    return out


def best_jaccard(members: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    """(ring_id, jaccard): each ring of ``members`` with its best Jaccard index to a ring of ``reference``.

    Both frames are (ring_id, account_id); a ring that shares no member scores 0. How
    far two engines' (or a run's and the planted) rings agree, ring by ring.

    >>> a = pl.DataFrame({"ring_id": ["x"] * 4 + ["y"] * 2, "account_id": list("abcdef")})
    >>> b = pl.DataFrame({"ring_id": ["p"] * 3, "account_id": list("abc")})
    >>> best_jaccard(a, b).rows()
    [('x', 0.75), ('y', 0.0)]
    """
    best = _overlaps(members, reference).group_by("ring_a").agg(pl.col("jaccard").max())
    return (members.select("ring_id").unique().join(best.rename({"ring_a": "ring_id"}), on="ring_id", how="left")
            .with_columns(pl.col("jaccard").fill_null(0.0)).sort("ring_id"))


@dataclass(frozen=True)
class RingChange:
    """How one ring changed between two runs."""

    ring_id: str
    change: str  # unchanged, grown, shrunk, changed, merged, split, new, vanished
    sources: list[str] = field(default_factory=list)  # previous rings (merged) or new rings (split)
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunDiff:
    """Every ring of two runs with its change; ``table()`` for printing or writing."""

    rows: list[RingChange]

    def table(self) -> pl.DataFrame:
        return pl.DataFrame({
            "ring_id": [r.ring_id for r in self.rows], "change": [r.change for r in self.rows],
            "related": [", ".join(r.sources) for r in self.rows],
            "joined": [len(r.joined) for r in self.rows], "left": [len(r.left) for r in self.rows]},
            schema={"ring_id": pl.String, "change": pl.String, "related": pl.String, "joined": pl.Int64,
                    "left": pl.Int64})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.change] = out.get(r.change, 0) + 1
        return out


def diff(before: pl.DataFrame, after: pl.DataFrame) -> RunDiff:
    """Classify the rings of two memberships (ring_id, account_id) — see the module doc."""
    before = before.select("ring_id", "account_id").unique()
    after = after.select("ring_id", "account_id").unique()
    ov = _overlaps(before, after)
    share_old = ov.with_columns((pl.col("both") / pl.col("n_a")).alias("of_old"),
                                (pl.col("both") / pl.col("n_b")).alias("of_new"))
    rows: list[RingChange] = []
    old_ids = set(before["ring_id"].to_list())
    new_ids = set(after["ring_id"].to_list())
    members = {rid: set(g["account_id"].to_list()) for (rid,), g in before.group_by(["ring_id"])}
    members_new = {rid: set(g["account_id"].to_list()) for (rid,), g in after.group_by(["ring_id"])}
    explained_old: set[str] = set()
    explained_new: set[str] = set()
    # Splits and merges first: they explain several rings at once.
    for old in sorted(old_ids):
        parts = (share_old.filter((pl.col("ring_a") == old) & (pl.col("of_old") >= PART_SHARE))["ring_b"]
                 .sort().to_list())
        if len(parts) >= 2:
            rows.append(RingChange(old, "split", parts))
            explained_old.add(old)
            explained_new.update(parts)
    for new in sorted(new_ids):
        parts = (share_old.filter((pl.col("ring_b") == new) & (pl.col("of_old") >= PART_SHARE))["ring_a"]
                 .sort().to_list())
        if len(parts) >= 2:
            rows.append(RingChange(new, "merged", parts))
            explained_new.add(new)
            explained_old.update(parts)
    for rid in sorted(old_ids & new_ids - explained_old - explained_new):
        joined = sorted(members_new[rid] - members[rid])
        left = sorted(members[rid] - members_new[rid])
        change = ("unchanged" if not joined and not left else "grown" if not left else "shrunk" if not joined
                  else "changed")
        rows.append(RingChange(rid, change, [], joined, left))
        explained_old.add(rid)
        explained_new.add(rid)
    rows += [RingChange(r, "new", [], sorted(members_new[r])) for r in sorted(new_ids - explained_new)]
    rows += [RingChange(r, "vanished", [], [], sorted(members[r])) for r in sorted(old_ids - explained_old)]
    return RunDiff(rows)
