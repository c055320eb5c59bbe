"""Interpretable per-community features, grouped into evidence families.

Every feature is a share in [0, 1] with the counts behind it, so a reason can be
written with numbers. Baselines (5-star share, order-to-review delay, how common a
text is) come from the whole platform, so the features adapt to each dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..graph.layers import burst_windows, money_incidence, poisson_tail, window_tiles
from ..graph.prepare import IDENTIFIER_SOURCES, Prepared
from .textsim import MIN_CHARS, cluster_within, near_duplicate_clusters, normalise_text

#: Weight of each identifier kind in the infrastructure family: an IP is the weakest
#: shared identifier (proxies rotate, NATs and campuses share), the others are strong.
IDENTIFIER_WEIGHT = {"device": 1.0, "payment": 1.0, "address": 0.8, "phone": 1.0, "ip": 0.5}


@dataclass(frozen=True)
class FeatureParams:
    window_hours: float = 24.0
    burst_alpha: float = 0.01
    burst_min_members: int = 3
    burst_min_share: float = 0.1
    min_concentration: float = 0.5
    #: Identifiers shared by more accounts than this are hubs (NAT, campus): never evidence.
    max_identifier_accounts: int = 2000
    generic_text_share: float = 0.005
    batch_window_hours: float = 48.0
    batch_min_members: int = 5
    #: Pseudo-reviews at the platform rate used to smooth a shop's 5-star rate.
    review_prior: float = 10.0
    #: One-sided confidence of the Wilson bounds that every share is scored by (99%).
    confidence_z: float = 2.326
    #: Weight of money from a shop's own payment account to its buyers: refunds look the
    #: same as cashback, while a non-merchant payer paying many buyers is an organiser.
    shop_money_weight: float = 0.5


@dataclass
class Baselines:
    """Platform-wide reference values the features are measured against."""

    five_star_share: float
    fast_delay_s: float | None  # 10th percentile of order -> review delay
    reviewers: int
    generic_texts: pl.DataFrame  # normalised texts too common to be a template fingerprint
    identifier_accounts: pl.DataFrame  # kind, value, platform_accounts
    money: pl.DataFrame  # a, payer, t, amount: every transfer into a buyer's payment account
    payer_recipients: pl.DataFrame  # payer, platform_recipients
    delays: pl.DataFrame | None  # review_id, delay (s) from its order
    bursts: pl.DataFrame  # a, m, c: account activity inside platform-significant burst windows
    tiles: pl.DataFrame  # a, m, tile, c: every account's distinct activity per shop-window
    windows: int  # windows per tile
    shop_reviews: pl.DataFrame  # m, shop_reviews, shop_five_star
    #: Non-generic review texts with a fixed random rank within their shop, for drawing
    #: same-shop control samples (columns m, a, review_id, text, rank).
    shop_texts: pl.DataFrame
    #: (sample size, share of texts in multi-writer near-duplicate clusters) for random
    #: platform reviews: how often texts look templated by chance.
    template_chance: tuple[tuple[int, float], ...]

    def as_dict(self) -> dict:
        return {"five_star_share": round(self.five_star_share, 4), "fast_delay_s": self.fast_delay_s,
                "reviewers": self.reviewers, "generic_texts": self.generic_texts.height,
                "template_chance": [list(x) for x in self.template_chance]}

    def chance_at(self, n: pl.Expr) -> pl.Expr:
        """Chance template share at sample size ``n`` (log-linear interpolation)."""
        if not self.template_chance:
            return pl.lit(0.0)
        sizes = [s for s, _ in self.template_chance]
        shares = [v for _, v in self.template_chance]
        x = n.cast(pl.Float64).clip(sizes[0], sizes[-1]).log()
        out = pl.lit(shares[0])
        for (s0, v0), (s1, v1) in zip(self.template_chance, self.template_chance[1:]):
            t = (x - math.log(s0)) / (math.log(s1) - math.log(s0))
            out = pl.when(x >= math.log(s0)).then(v0 + (v1 - v0) * t.clip(0, 1)).otherwise(out)
        return out


_CHANCE_SIZES = (16, 64, 256, 1024, 4096)
#: Texts per community that the template share is estimated on.
MAX_TEXTS_PER_COMMUNITY = 300


def baselines(prep: Prepared, p: FeatureParams | None = None) -> Baselines:
    """Measure the platform: 5-star share, fast-review delay, generic texts, chance templates."""
    p = p or FeatureParams()
    rv = prep.reviews
    five = float((rv["rating"] >= 5).mean()) if rv.height else 0.0
    delay = _delays(prep)
    fast = float(delay["delay"].quantile(0.10)) if delay is not None and delay.height >= 50 else None
    reviewers = int(rv["a"].n_unique())
    generic = pl.DataFrame(schema={"norm": pl.String})
    chance: list[tuple[int, float]] = []
    shop_texts = pl.DataFrame(schema={"m": pl.UInt32, "a": pl.UInt32, "review_id": pl.String, "text": pl.String,
                                      "rank": pl.UInt32})
    if "text" in rv.columns:
        # Normalise once; generic texts, the chance curve and the shop pools all use it.
        texts = rv.select("m", "a", "review_id", "text", normalise_text(pl.col("text")).alias("norm")).filter(
            pl.col("norm").str.len_chars() >= MIN_CHARS)
        users = texts.group_by("norm").agg(pl.col("a").n_unique().alias("users"))
        generic_from = max(20, math.ceil(p.generic_text_share * max(1, reviewers)))
        generic = users.filter(pl.col("users") >= generic_from).select("norm")
        pool = texts.join(generic, on="norm", how="anti").drop("norm")
        del texts, users
        shop_texts = pool.with_columns(pl.col("review_id").hash(seed=11).rank("ordinal").over("m").alias("rank"))
        for size in _CHANCE_SIZES:
            if pool.height < 2 * size:
                break
            sample = pool.sample(size, seed=size)
            labels = near_duplicate_clusters(sample["text"].to_list())
            chance.append((size, _multi_writer_share(sample["a"].to_list(), labels)))
    money = money_incidence(prep)  # the money layer of the graph reuses it
    tiles, windows = window_tiles(prep.activity().select("a", "m", "t"), p.window_hours)
    tiles = tiles.unique(["a", "c"])
    return Baselines(
        five_star_share=five, fast_delay_s=fast, reviewers=reviewers, generic_texts=generic,
        identifier_accounts=prep.identifiers.group_by("kind", "value").agg(pl.len().alias("platform_accounts")),
        money=money, payer_recipients=money.group_by("payer").agg(pl.col("a").n_unique().alias("platform_recipients")),
        delays=delay, template_chance=tuple(chance),
        bursts=burst_windows(prep, p.window_hours, p.burst_alpha, tiles=(tiles, windows)),
        tiles=tiles, windows=windows,
        shop_reviews=rv.group_by("m").agg(pl.len().alias("shop_reviews"),
                                          (pl.col("rating") >= 5).sum().alias("shop_five_star")),
        shop_texts=shop_texts)


def _multi_writer_share(writers: list, labels) -> float:
    """Share of texts in near-duplicate clusters written by 2+ different accounts."""
    labelled = pl.DataFrame({"community": [0] * len(labels), "a": writers, "cluster": labels})
    return _multi_writer(labelled).height / len(labels) if len(labels) else 0.0


def _delays(prep: Prepared) -> pl.DataFrame | None:
    if "order_id" not in prep.reviews.columns or prep.orders.height == 0:
        return None
    return (prep.reviews.filter(pl.col("order_id").is_not_null())
            .join(prep.orders.select("order_id", pl.col("t").alias("t_order")), on="order_id")
            .select("review_id", (pl.col("t") - pl.col("t_order")).alias("delay")))


def _threshold(n: pl.Expr, p: FeatureParams) -> pl.Expr:
    return pl.max_horizontal(pl.lit(p.burst_min_members), (n * p.burst_min_share).ceil().cast(pl.Int64))


def compute_features(prep: Prepared, members: pl.DataFrame, base: Baselines,
                     p: FeatureParams) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Features per community for ``members`` (columns ``a``, ``community``).

    Returns the feature frame (one row per community) and detail frames that the
    evidence step reuses (shared identifiers, burst shops, payers, template reviews).
    """
    sizes = members.group_by("community").agg(pl.len().alias("n_accounts"))
    feats = sizes
    detail: dict[str, pl.DataFrame] = {}

    # ---------------------------------------------------------------- infrastructure
    platform = base.identifier_accounts
    # Count first and build account lists only for the few identifiers that qualify:
    # list columns over every (community, identifier) would not fit at scale.
    mine = prep.identifiers.join(members, on="a")
    qualifying = (mine.group_by("community", "kind", "value").agg(pl.len().alias("n"))
                  .filter(pl.col("n") >= 2).join(platform, on=["kind", "value"])
                  .filter((pl.col("n") / pl.col("platform_accounts") >= p.min_concentration)
                          & (pl.col("platform_accounts") <= p.max_identifier_accounts)))
    shared = (mine.join(qualifying.select("community", "kind", "value"), on=["community", "kind", "value"])
              .group_by("community", "kind", "value").agg(pl.col("a").alias("accounts"))
              .join(qualifying, on=["community", "kind", "value"]))
    detail["shared_identifiers"] = shared
    per_kind = (shared.explode("accounts").group_by("community", "kind")
                .agg(pl.col("accounts").n_unique().alias("members"), pl.col("value").n_unique().alias("ids")))
    for kind in IDENTIFIER_SOURCES:
        k = per_kind.filter(pl.col("kind") == kind).select(
            "community", pl.col("members").alias(f"shared_{kind}_members"), pl.col("ids").alias(f"shared_{kind}_ids"))
        feats = feats.join(k, on="community", how="left")

    # ---------------------------------------------------------------- coordination
    # A co-burst is a shop-window where improbably many members are active together,
    # measured against the members' own habits: fourteen accounts that each visit a shop
    # once in a hundred days, five of them on one day, is extreme; three of three hundred
    # students who each visit the most popular shop twice is not.
    tiles = base.tiles.join(members, on="a")
    counts = tiles.group_by("community", "m", "c").agg(pl.len().alias("k"))
    habit = counts.group_by("community", "m").agg((pl.col("k").sum() / 2 / base.windows).alias("lam"))
    cand = (counts.join(habit, on=["community", "m"]).join(sizes, on="community")
            .filter(pl.col("k") >= _threshold(pl.col("n_accounts"), p)))
    if cand.height:
        tail = poisson_tail(cand["k"].to_numpy(), cand["lam"].to_numpy())
        cand = cand.filter(pl.Series(tail < p.burst_alpha))
    bursts = (tiles.join(cand.select("community", "m", "c"), on=["community", "m", "c"])
              .group_by("community", "m", "c").agg(pl.col("a").alias("accounts")))
    burst_pairs = bursts.explode("accounts").select("community", "m", pl.col("accounts").alias("a")).unique()
    detail["burst_shops"] = bursts.group_by("community", "m").agg(
        pl.col("accounts").list.len().max().alias("max_members"), pl.len().alias("windows"))
    coord = burst_pairs.group_by("community").agg(pl.col("m").n_unique().alias("burst_shops"))
    multi_accounts = (burst_pairs.group_by("community", "a").agg(pl.col("m").n_unique().alias("s"))
                      .filter(pl.col("s") >= 2).select("community", "a"))
    detail["burst_accounts"] = multi_accounts
    multi = multi_accounts.group_by("community").agg(pl.len().alias("burst_members"))
    feats = feats.join(coord, on="community", how="left").join(multi, on="community", how="left")

    # ---------------------------------------------------------------- content
    rv = prep.reviews.join(members, on="a")
    reviewers_per_shop = (rv.group_by("community", "m").agg(pl.col("a").n_unique().alias("r"))
                          .join(sizes, on="community")
                          .filter(pl.col("r") >= _threshold(pl.col("n_accounts"), p)).select("community", "m"))
    focus_shops = pl.concat([reviewers_per_shop, detail["burst_shops"].select("community", "m")]).unique()
    detail["focus_shops"] = focus_shops
    focus = rv.join(focus_shops, on=["community", "m"])
    # The 5-star baseline is the same shops' other reviewers: a shop that earns 5 stars
    # from everyone makes its fans' 5 stars unremarkable.
    b5 = base.five_star_share
    per_shop = (focus.group_by("community", "m").agg(pl.len().alias("n"), (pl.col("rating") >= 5).sum().alias("n5"))
                .join(base.shop_reviews, on="m")
                .with_columns(((pl.col("shop_five_star") - pl.col("n5") + p.review_prior * b5)
                               / (pl.col("shop_reviews") - pl.col("n") + p.review_prior)).alias("rate")))
    content = per_shop.group_by("community").agg(
        pl.col("n").sum().alias("focus_reviews"), pl.col("n5").sum().alias("focus_five_star"),
        ((pl.col("n") * pl.col("rate")).sum() / pl.col("n").sum()).alias("expected_five_star"))
    feats = feats.join(content, on="community", how="left")
    delays = base.delays
    if delays is not None and base.fast_delay_s is not None:
        fast = (focus.join(delays, on="review_id").group_by("community")
                .agg(pl.len().alias("timed_reviews"), (pl.col("delay") < base.fast_delay_s).sum().alias("fast_reviews")))
        feats = feats.join(fast, on="community", how="left")
    else:
        feats = feats.with_columns(pl.lit(None, pl.UInt32).alias("timed_reviews"),
                                   pl.lit(None, pl.UInt32).alias("fast_reviews"))
    # Descriptive: how concentrated members' reviews are on the focus shops, and how old
    # the accounts were at their first review there.
    all_reviews = rv.group_by("community").agg(pl.len().alias("member_reviews"))
    created = pl.DataFrame({"a": np.arange(prep.n_accounts, dtype=np.uint32), "created": prep.created})
    age = (focus.group_by("community", "a").agg(pl.col("t").min()).join(created, on="a")
           .filter(pl.col("created").is_not_null())
           .group_by("community").agg(((pl.col("t") - pl.col("created")) / 86_400).median().alias("median_account_age_days")))
    feats = feats.join(all_reviews, on="community", how="left").join(age, on="community", how="left")
    tpl, tpl_detail = _templates(prep, focus, members, base)
    detail["templates"] = tpl_detail
    detail["five_star_accounts"] = focus.filter(pl.col("rating") >= 5).select("community", "a").unique()
    feats = feats.join(tpl, on="community", how="left")

    # ---------------------------------------------------------------- money
    paid = (base.money.join(members, on="a").group_by("community", "payer")
            .agg(pl.col("a").unique().alias("accounts"), pl.len().alias("transfers"), pl.col("amount").sum())
            .join(base.payer_recipients, on="payer").join(sizes, on="community")
            .filter((pl.col("accounts").list.len() >= _threshold(pl.col("n_accounts"), p))
                    & (pl.col("accounts").list.len() / pl.col("platform_recipients") >= p.min_concentration))
            .join(prep.merchant_payment.rename({"payment_account_id": "payer", "m": "payer_shop"}),
                  on="payer", how="left"))
    detail["payers"] = paid
    org = paid.explode("accounts").group_by("community").agg(
        pl.col("accounts").n_unique().alias("paid_members"), pl.col("payer").n_unique().alias("payers"),
        pl.col("accounts").filter(pl.col("payer_shop").is_null()).n_unique().alias("organiser_paid_members"))
    transfers = paid.group_by("community").agg(pl.col("transfers").sum().alias("payer_transfers"),
                                               pl.col("amount").sum().alias("payer_amount"))
    shop_pay = (prep.payment_owner.join(prep.merchant_payment, on="payment_account_id")
                .join(members, on="a"))
    detail["shop_payments"] = shop_pay
    sp = shop_pay.group_by("community").agg(pl.col("a").n_unique().alias("shop_payment_members"),
                                            pl.col("m").n_unique().alias("shop_payment_shops"))
    feats = feats.join(org, on="community", how="left").join(transfers, on="community", how="left") \
        .join(sp, on="community", how="left")

    # ---------------------------------------------------------------- provenance
    created = pl.DataFrame({"a": np.arange(prep.n_accounts, dtype=np.uint32), "created": prep.created})
    reg = members.join(created, on="a").filter(pl.col("created").is_not_null()).sort("community", "created")
    if reg.height:
        key = reg["community"].cast(pl.Int64).to_numpy() * (1 << 40) + reg["created"].to_numpy()
        reach = np.searchsorted(key, key + int(p.batch_window_hours * 3600), side="right") - np.arange(len(key))
        batch = (reg.with_columns(pl.Series("k", reach)).group_by("community").agg(pl.col("k").max().alias("batch_members"),
                                                                                  pl.len().alias("dated_members")))
        feats = feats.join(batch, on="community", how="left")
    else:
        feats = feats.with_columns(pl.lit(None, pl.Int64).alias("batch_members"),
                                   pl.lit(None, pl.UInt32).alias("dated_members"))
    return _shares(feats, base, p), detail


def _templates(prep: Prepared, focus: pl.DataFrame, members: pl.DataFrame,
               base: Baselines) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Near-duplicate clusters among each community's focus reviews, and their chance level.

    The chance level is measured on a matched control: for every focus shop, as many
    other reviewers' texts at that shop as the members wrote there. Texts about one shop
    share its vocabulary, so only duplication beyond that is a template.
    """
    empty = pl.DataFrame(schema={"community": pl.UInt32, "text_reviews": pl.UInt32, "template_reviews": pl.UInt32,
                                 "templates": pl.UInt32, "control_texts": pl.UInt32, "control_share": pl.Float64})
    no_detail = pl.DataFrame(schema={"community": pl.UInt32, "a": pl.UInt32, "review_id": pl.String,
                                     "cluster": pl.Int64})
    if "text" not in prep.reviews.columns or focus.height == 0:
        return empty, no_detail
    texts = (focus.select("community", "m", "a", "review_id", "text").join(
        base.shop_texts.select("review_id"), on="review_id", how="semi"))
    # A template share is a proportion: a fixed pseudo-random sample of a community's texts
    # estimates it, and the Wilson bound accounts for the sample size. This bounds the
    # text work of very large communities.
    texts = (texts.with_columns(pl.col("review_id").hash(seed=13).rank("ordinal").over("community").alias("_r"))
             .filter(pl.col("_r") <= MAX_TEXTS_PER_COMMUNITY).drop("_r").sort("community", "review_id"))
    if texts.height == 0:
        return empty, no_detail
    labelled = texts.select("community", "a", "review_id").with_columns(
        pl.Series("cluster", cluster_within(texts["community"].to_numpy(), texts["text"])))
    tagged = _multi_writer(labelled)
    counts = labelled.group_by("community").agg(pl.len().alias("text_reviews")).join(
        tagged.group_by("community").agg(pl.len().alias("template_reviews"),
                                         pl.col("cluster").n_unique().alias("templates")),
        on="community", how="left")
    # Matched control: the first 2k texts by fixed rank at each shop, minus the members', first k.
    want = texts.group_by("community", "m").agg(pl.len().alias("k"))
    # Cut each shop's texts to the most any community needs *before* joining: a popular
    # shop is a focus shop of many communities.
    need = want.group_by("m").agg((2 * pl.col("k").max() + 2).alias("need"))
    pool = base.shop_texts.join(need, on="m").filter(pl.col("rank") <= pl.col("need")).drop("need")
    control = (want.join(pool, on="m").filter(pl.col("rank") <= 2 * pl.col("k") + 2)
               .join(members, on=["community", "a"], how="anti").sort("community", "m", "rank")
               .filter(pl.int_range(pl.len()).over("community", "m") < pl.col("k")))
    if control.height:
        control_lab = control.select("community", "a", "review_id").with_columns(
            pl.Series("cluster", cluster_within(control["community"].to_numpy(), control["text"])))
        ctl = control_lab.group_by("community").agg(pl.len().alias("control_texts")).join(
            _multi_writer(control_lab).group_by("community").agg(pl.len().alias("control_templated")),
            on="community", how="left").select(
            "community", "control_texts",
            (pl.col("control_templated").fill_null(0) / pl.col("control_texts")).alias("control_share"))
        counts = counts.join(ctl, on="community", how="left")
    else:
        counts = counts.with_columns(pl.lit(None, pl.UInt32).alias("control_texts"),
                                     pl.lit(None, pl.Float64).alias("control_share"))
    return counts, tagged.select("community", "a", "review_id", "cluster")


def _multi_writer(labelled: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``labelled`` in near-duplicate clusters written by 2+ different accounts."""
    multi = (labelled.filter(pl.col("cluster") >= 0).group_by("community", "cluster")
             .agg(pl.col("a").n_unique().alias("writers")).filter(pl.col("writers") >= 2))
    return labelled.join(multi.select("community", "cluster"), on=["community", "cluster"], how="semi")


def wilson(hits: pl.Expr, total: pl.Expr, z: float, upper: bool = False) -> pl.Expr:
    """Wilson score bound of the share ``hits / total`` (lower by default).

    Every share-based feature is scored by its lower confidence bound, not its point
    estimate: four 5-star reviews out of four, or a 78% share where 70% is usual, are
    what chance produces somewhere among thousands of communities; four hundred out of
    four hundred are not. Empty samples give 0 (lower) or 1 (upper).

    >>> round(pl.select(wilson(pl.lit(4), pl.lit(4), 2.326)).item(), 3)
    0.425
    >>> round(pl.select(wilson(pl.lit(400), pl.lit(400), 2.326)).item(), 3)
    0.987
    """
    n = total.cast(pl.Float64)
    phat = pl.when(n > 0).then(hits / n).otherwise(0.0)
    z2 = z * z
    centre = phat + z2 / (2 * n)
    spread = z * (phat * (1 - phat) / n + z2 / (4 * n * n)).sqrt()
    bound = (centre + spread if upper else centre - spread) / (1 + z2 / n)
    return pl.when(n > 0).then(bound.clip(0, 1)).otherwise(1.0 if upper else 0.0)


def excess(share: pl.Expr, base: float | pl.Expr) -> pl.Expr:
    """How far ``share`` lies above ``base``, as a fraction of the headroom, in [0, 1]."""
    return ((share - base) / (1 - base)).clip(0, 1)


def _shares(feats: pl.DataFrame, base: Baselines, p: FeatureParams) -> pl.DataFrame:
    """Turn counts into shares in [0, 1]; shrink small samples towards the baseline."""
    z = lambda c: pl.col(c).fill_null(0)  # noqa: E731

    zc = p.confidence_z

    def share(c: str) -> pl.Expr:
        return wilson(z(c), pl.col("n_accounts"), zc)

    kinds = list(IDENTIFIER_SOURCES)
    infra_terms = [share(f"shared_{k}_members") * IDENTIFIER_WEIGHT[k] for k in kinds]
    expected5 = pl.col("expected_five_star").fill_null(base.five_star_share).clip(0, 1 - 1e-9)
    five_excess = excess(wilson(z("focus_five_star"), z("focus_reviews"), zc), expected5)
    # By definition 10% of platform reviews come faster than the platform's 10th percentile.
    fast_excess = excess(wilson(z("fast_reviews"), z("timed_reviews"), zc), 0.1)
    raw_template = pl.when(z("text_reviews") > 0).then(z("template_reviews") / z("text_reviews")).otherwise(0.0)
    # Chance level: the matched same-shop control (its upper bound: it is a sample too) when
    # it is at least half as large as the members' texts, else the platform-wide curve.
    control_upper = wilson(pl.col("control_share") * z("control_texts"), z("control_texts"), zc, upper=True)
    chance = (pl.when(z("control_texts") * 2 >= z("text_reviews")).then(control_upper)
              .otherwise(base.chance_at(z("text_reviews").clip(1, None)))).fill_null(0.0).clip(0, 1 - 1e-9)
    template = excess(wilson(z("template_reviews"), z("text_reviews"), zc), chance)
    shops_factor = ((z("burst_shops") - 1) / 2).clip(0, 1)
    return feats.with_columns(
        pl.max_horizontal(infra_terms).alias("f_infrastructure"),
        (share("burst_members") * shops_factor).alias("f_coordination"),
        five_excess.alias("five_star_excess"),
        fast_excess.alias("fast_review_excess"),
        raw_template.alias("template_raw_share"),
        pl.when(z("member_reviews") > 0).then(z("focus_reviews") / z("member_reviews")).otherwise(0.0).alias("shop_focus"),
        chance.alias("template_chance"),
        template.alias("template_share"),
        pl.max_horizontal(share("organiser_paid_members"), p.shop_money_weight * share("paid_members"),
                          share("shop_payment_members")).clip(0, 1).alias("f_money"),
        pl.when(z("batch_members") >= p.batch_min_members).then(share("batch_members")).otherwise(0.0)
        .alias("f_provenance"),
    ).with_columns(
        (1 - (1 - 0.6 * pl.col("five_star_excess")) * (1 - pl.col("template_share"))
         * (1 - 0.6 * pl.col("fast_review_excess"))).alias("f_content"),
    )
