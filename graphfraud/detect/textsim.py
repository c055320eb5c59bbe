"""Near-duplicate review texts that work on Chinese.

Texts are normalised (punctuation, digits, spaces and emoji removed), cut into
character bigrams (the usual unit for Chinese, which has no spaces), and grouped with
MinHash + LSH banding into near-duplicate clusters. Very short texts (the generic
"不错", "默认好评") are never clustered: they carry no template fingerprint.

Everything is vectorised: signatures are computed for all texts at once (numpy, in
chunks), candidate pairs come from one join per band, and clusters are the connected
components of verified pairs.

>>> texts = ["宝贝收到了，质量很好，和描述的完全一致，物流给力，五星好评推荐购买！",
...          "宝贝收到了，做工很细致，和描述的完全一致，物流给力，五星好评推荐购买！",
...          "买的耳机，物流很快，客服回复及时。", "不错"]
>>> near_duplicate_clusters(texts).tolist()
[0, 0, -1, -1]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

#: Normalised texts shorter than this are "generic" and never form a template.
MIN_CHARS = 8
#: Estimated bigram Jaccard similarity from which two texts are near-duplicates; it matches
#: the LSH banding (16 bands x 4 rows collide around 0.5) and keeps slot-filled variants
#: of one template together.
MIN_SIMILARITY = 0.5
_STRIP = r"[\s\p{P}\p{S}\p{N}]+"
_PERMS = 64
_BANDS = 16
_ROWS = _PERMS // _BANDS
_PRIME = np.uint64((1 << 61) - 1)
_CHUNK = 1 << 18  # bigrams per numpy block: bounds memory at ~_CHUNK x _PERMS x 8 bytes


_Text = TypeVar("_Text", pl.Expr, pl.Series)


def normalise_text(expr: _Text) -> _Text:
    """Lower-case, without punctuation, symbols, digits or spaces."""
    return expr.str.to_lowercase().str.replace_all(_STRIP, "")


def _perms() -> tuple[np.ndarray, np.ndarray]:
    # Fixed: signatures must not depend on the run's seed.
    rng = np.random.default_rng(20240301)
    a = rng.integers(1, 1 << 31, _PERMS, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, _PERMS, dtype=np.uint64)
    return a, b


def signatures(norm: pl.Series) -> np.ndarray:
    """MinHash signatures (rows x 64) of normalised texts over their character bigrams."""
    frame = pl.DataFrame({"t": norm}).with_row_index("row")
    chars = frame.select("row", pl.col("t").str.split("").alias("c"))
    left = chars.select("row", pl.col("c").list.slice(0, pl.col("c").list.len() - 1).alias("x")).explode("x")
    right = chars.select(pl.col("c").list.slice(1).alias("y")).explode("y")
    bigrams = pl.concat([left, right], how="horizontal").filter(pl.col("x").is_not_null() & pl.col("y").is_not_null())
    bigrams = bigrams.select("row", (pl.col("x") + pl.col("y")).hash(seed=7).alias("h")).unique().sort("row")
    rows = bigrams["row"].to_numpy()
    # Reduce the 64-bit hash to 31 bits so (h * a + b) stays below 2**63: no overflow.
    h = (bigrams["h"].to_numpy() >> np.uint64(33)).astype(np.uint64)
    a, b = _perms()
    sig = np.full((frame.height, _PERMS), np.iinfo(np.uint64).max, dtype=np.uint64)
    for lo in range(0, len(h), _CHUNK):
        hi = min(len(h), lo + _CHUNK)
        vals = np.outer(h[lo:hi], a)
        vals += b
        # vals % (2**61 - 1) without a 64-bit division: vals = q * 2**61 + r is q + r modulo
        # the prime, and q + r < 2 * prime since vals < 2**63.
        low = vals & _PRIME
        vals >>= np.uint64(61)
        vals += low
        del low
        vals[vals >= _PRIME] -= _PRIME
        r = rows[lo:hi]
        starts = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
        # A text's bigrams may straddle two blocks: combine with what earlier blocks found.
        block = np.minimum.reduceat(vals, starts, axis=0)
        sig[r[starts]] = np.minimum(sig[r[starts]], block)
    return sig


def cluster_within(groups: np.ndarray, texts: pl.Series) -> np.ndarray:
    """Near-duplicate cluster label per text, clusters never crossing ``groups``.

    Returns ``-1`` for generic, empty or unique texts; other labels are dense integers,
    unique across groups.
    """
    norm = pl.select(normalise_text(texts.cast(pl.String))).to_series()
    ok = (norm.str.len_chars() >= MIN_CHARS).fill_null(False).to_numpy()
    labels = np.full(len(texts), -1, dtype=np.int64)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return labels
    sig = signatures(norm.gather(idx))
    mix = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
                   dtype=np.uint64)[:_ROWS]
    group = np.asarray(groups)[idx]
    pairs = []
    for k in range(_BANDS):
        key = (sig[:, k * _ROWS:(k + 1) * _ROWS] * mix).sum(axis=1).view(np.int64)
        band = pl.DataFrame({"i": np.arange(len(idx)), "g": group, "key": key})
        # Texts in one band bucket agree on these rows: a star to the bucket's first text
        # keeps them connected with O(m) pairs instead of O(m^2).
        star = band.with_columns(pl.col("i").min().over("g", "key").alias("j")).filter(pl.col("i") != pl.col("j"))
        if star.height:
            pairs.append(star.select(pl.col("j").alias("i"), pl.col("i").alias("j")))
    if not pairs:
        return labels
    cand = pl.concat(pairs).unique()
    i = cand["i"].to_numpy()
    j = cand["j"].to_numpy()
    # Signature agreement estimates Jaccard similarity; verifying stops chance chains.
    keep = (sig[i] == sig[j]).mean(axis=1) >= MIN_SIMILARITY
    i, j = i[keep], j[keep]
    n = len(idx)
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    sizes = np.bincount(comp)
    clustered = sizes[comp] > 1
    # Dense labels in order of first appearance, so results do not depend on scipy's numbering.
    _, first = np.unique(comp, return_index=True)
    order = np.argsort(np.argsort(first))
    dense = np.unique(order[comp[clustered]], return_inverse=True)[1] if clustered.any() else np.empty(0, int)
    out = np.full(n, -1, dtype=np.int64)
    out[clustered] = dense
    labels[idx] = out
    return labels


def near_duplicate_clusters(texts: list[str | None]) -> np.ndarray:
    """Cluster label per text (``-1`` = generic, empty or unique) for one group of texts."""
    return cluster_within(np.zeros(len(texts), dtype=np.int64), pl.Series(texts, dtype=pl.String))


# ---------------------------------------------------------------------- paraphrase similarity
#: Hashed feature space of character bigrams and trigrams.
_FEATURES = 1 << 20
#: Texts the inverse document frequencies are measured on (a fixed pseudo-random sample).
IDF_SAMPLE = 200_000
#: Texts cut into n-grams at once (the IDF's whole 200,000-text sample at once took 0.97 GB
#: above its input).
_TEXTS_PER_BLOCK = 20_000


def _ngrams(norm: pl.Series) -> pl.DataFrame:
    """(row, h) hashed character 2- and 3-grams of normalised texts, one row per occurrence."""
    chars = pl.DataFrame({"t": norm}).with_row_index("row").select("row", pl.col("t").fill_null("").str.split("")
                                                                    .alias("c"))
    grams = []
    for n in (2, 3):
        length = (pl.col("c").list.len().cast(pl.Int64) - (n - 1)).clip(0, None)
        cols = [chars.select(pl.col("c").list.slice(i, length).alias(f"x{i}"))
                for i in range(n)]
        frame = pl.concat([chars.select("row"), *cols], how="horizontal").explode([f"x{i}" for i in range(n)])
        frame = frame.filter(pl.all_horizontal([pl.col(f"x{i}").is_not_null() for i in range(n)]))
        grams.append(frame.select("row", pl.concat_str([f"x{i}" for i in range(n)]).hash(seed=n).alias("h")))
    out = pl.concat(grams)
    return out.with_columns((pl.col("h") % _FEATURES).cast(pl.Int64).alias("h"))


def _ngram_blocks(norm: pl.Series) -> Iterator[tuple[int, pl.DataFrame]]:
    """(first row, :func:`_ngrams` of the block) for consecutive blocks of ``norm``.

    A text's n-grams are all in its block, so whatever is counted per (text, n-gram) is
    the same as over all texts at once, and memory is bounded by the block.
    """
    for lo in range(0, len(norm), _TEXTS_PER_BLOCK):
        yield lo, _ngrams(norm.slice(lo, _TEXTS_PER_BLOCK))


def idf_table(texts: pl.Series) -> np.ndarray:
    """Smoothed inverse document frequency per hashed feature, from (a sample of) ``texts``."""
    # The sample's rows depend only on the length and the seed, so the texts are sampled
    # before they are normalised: the same sample, without normalising every review.
    if len(texts) > IDF_SAMPLE:
        texts = texts.sample(IDF_SAMPLE, seed=17)
    norm = pl.select(normalise_text(texts.cast(pl.String))).to_series()
    df = np.zeros(_FEATURES, dtype=np.int64)
    for _, grams in _ngram_blocks(norm):
        df += np.bincount(grams.unique()["h"].to_numpy(), minlength=_FEATURES)
    return np.log((1 + len(norm)) / (1 + df)) + 1.0


def tfidf(texts: pl.Series, idf: np.ndarray) -> csr_matrix:
    """L2-normalised TF-IDF rows (scipy CSR) of ``texts`` over hashed character n-grams."""
    norm = pl.select(normalise_text(texts.cast(pl.String))).to_series()
    counted = [grams.group_by("row", "h").agg(pl.len().alias("tf")).with_columns(pl.col("row") + lo)
               for lo, grams in _ngram_blocks(norm)]
    grams = (pl.concat(counted) if counted
             else pl.DataFrame(schema={"row": pl.UInt32, "h": pl.Int64, "tf": pl.UInt32}))
    del counted
    rows, cols = grams["row"].to_numpy(), grams["h"].to_numpy()
    vals = (1 + np.log(grams["tf"].to_numpy())) * idf[cols]
    # The CSR matrix is built in canonical form (indices sorted in each row), whatever the
    # order of its entries.
    m = csr_matrix((vals, (rows, cols)), shape=(len(texts), _FEATURES))
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return csr_matrix(m.multiply(1 / norms[:, None]))
