"""Review texts, nicknames and phone numbers for the tactic zoo.

Reviews carry a cheap numeric *recipe* while the market is built (:class:`Texts`: a kind,
the rating, the writer's verbosity, a template, a brief); :func:`render` writes every text
in one vectorised pass at the end, so generation cost does not grow with the number of
families or shops.

Ordinary texts are composed from aspect phrase banks whose polarity follows the rating
(1-2 stars complain, 5 stars praise), with openers, closers and connectors; verbose
writers cover more aspects and tell short stories; some write generic short texts or
nothing. Rings write in three styles:

* studio templates with slots (near-duplicates, the classic 刷单 script),
* paraphrases of one brief: the same selling points in varied wording — synonym swaps,
  reordered points, different openers, closers and joiners,
* ordinary-looking texts with one of the brief's points worked in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# ------------------------------------------------------------------ ordinary texts
#: Aspect banks: (positive phrases, negative phrases). A review mentions 1-4 aspects.
ASPECTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("质量很好", "做工精细", "用料扎实", "细节处理得不错", "比想象中的要好", "手感很好", "质感不错",
      "做工没得挑", "东西很结实", "材质摸起来挺舒服", "和描述的一样", "品质对得起价格", "没有线头"),
     ("质量一般般", "做工有点粗糙", "和图片有点色差", "有股味道", "用了两天就坏了", "线头很多",
      "材质很廉价", "和描述不符", "质量堪忧", "有划痕")),
    (("物流很快", "快递小哥态度好", "第二天就到了", "包装很严实", "顺丰发货很放心", "发货速度快",
      "隔天就收到了", "包装得很仔细", "物流比预期快", "三天就到了"),
     ("发货有点慢", "快递有点暴力，盒子压坏了", "等了一个星期才到", "物流速度一般", "包装太简陋了",
      "快递放门口也不说一声", "发错货了")),
    (("客服很耐心", "客服回复及时", "卖家服务态度好", "售后处理得很快", "客服推荐的尺码很合适",
      "店家还送了小礼品", "有问必答", "客服小姐姐很温柔", "退换货很方便"),
     ("问了客服半天才回", "客服态度敷衍", "售后推来推去", "客服一问三不知", "申请售后没人理")),
    (("性价比很高", "价格实惠", "活动价买的很划算", "这个价格值了", "趁着满减入手的", "比上次买的便宜",
      "比实体店便宜不少", "领了券很划算", "学生党友好"),
     ("有点小贵", "不值这个价", "刚买就降价了", "性价比不高", "价格虚高")),
    (("已经回购好几次了", "给家里人买的，都说好", "孩子很喜欢", "老公说不错", "同事推荐来的",
      "用了一周再来评价", "送朋友的，朋友很满意", "会推荐给朋友", "妈妈很喜欢", "还会再来的"),
     ("不会再买了", "给家里人用都说不行", "后悔买了", "不推荐", "差点就退了")),
    (("颜色很正", "尺码标准", "上身效果好", "味道不错", "口感很好", "音质清晰", "续航还可以",
      "吸水性好", "大小合适", "很好用", "效果明显", "安装简单"),
     ("颜色偏暗", "尺码偏小", "味道怪怪的", "音质一般", "续航不行", "偏大了一码", "效果不明显",
      "安装说明看不懂")),
    (("给老公买的，他穿上说很舒服，尺码也刚好", "买来送给爸妈，老人家用着说方便，比之前那个强多了",
      "上周末带孩子出去玩用上了，一整天都没出问题", "办公室同事看到了也问链接，已经分享给她们了",
      "对比了好几家才下单的，这家的细节确实做得更用心", "之前一直用的别的牌子，换了这个感觉也不差",
      "用了快一个月才来评价，到现在都没有什么问题", "出差带着很方便，放在行李箱里也不占地方",
      "家里猫咪特别喜欢，每天都要围着转好几圈", "冬天用正合适，早上起来也不会觉得冷"),
     ("用了不到一周就出问题了，联系客服也只是让等", "和上次买的完全不一样，怀疑是换了供应商",
      "包装里少了一个配件，补发又等了好几天", "洗了一次就变形了，实在让人失望",
      "宣传说得很好，实际用起来差距挺大的")),
)
OPENERS = ("", "", "", "收到了，", "买的{p}，", "这次买的{p}，", "第二次买了，", "终于到了，", "用了几天，",
           "给家里买的{p}，", "619活动买的，", "看了很多家最后选的这家，", "之前在别家买过，")
CLOSERS = ("", "", "", "", "总体满意。", "推荐。", "下次还来。", "好评。", "给个好评。", "五星。", "满意。",
           "先用着看看。")
MID_CLOSERS = ("", "", "", "一般吧。", "还可以。", "就这样吧。", "凑合吧。", "先用着看看。")
NEG_CLOSERS = ("", "", "失望。", "差评。", "不推荐。", "再也不来了。", "凑合吧。")
CONNECTORS = ("，", "，", "，", "。", "，而且", "，就是", "；")
PRODUCTS = ("衣服", "鞋子", "面膜", "耳机", "水杯", "零食", "床单", "充电宝", "口红", "背包", "台灯", "茶叶",
            "牛肉干", "洗衣液", "手机壳", "毛巾", "拖鞋", "保温杯", "数据线", "坚果", "卫衣", "奶粉", "猫粮",
            "键盘", "雨伞", "枕头", "香水", "帽子", "袜子", "咖啡")
GENERIC_POS = ("默认好评", "不错", "好评", "挺好的", "满意", "很好", "还可以", "好", "东西不错", "五星好评",
               "非常满意", "质量不错", "物流很快", "很满意", "好评！", "可以", "喜欢", "推荐", "赞",
               "不错不错", "还行", "挺满意的", "好用", "OK", "nice", "没毛病", "值得购买")
GENERIC_MID = ("一般", "还行", "凑合", "中规中矩", "就那样", "马马虎虎", "还可以吧")
GENERIC_NEG = ("差评", "不好", "失望", "很差", "垃圾", "不推荐", "退货了", "质量差")
DEFAULT_REVIEW = "此用户没有填写评价。"

# ------------------------------------------------------------------ studio templates
#: Brushing-studio scripts; {a} and {b} are filled from SLOT_A / SLOT_B.
TEMPLATES = (
    "宝贝收到了，{a}，跟卖家描述的一模一样，{b}，五星好评推荐购买！",
    "非常愉快的一次购物，{a}，包装很精美，{b}，下次还会光顾！",
    "{a}，掌柜发货神速，{b}，强烈推荐给大家，值得入手！",
    "东西真的很好，{a}，没有色差，{b}，卖家服务也超级好，好评！",
    "收到货很惊喜，{a}，物超所值，{b}，已经安利给身边的朋友了",
    "这是我网购最满意的一次，{a}，做工精致，{b}，必须五星！",
    "品质超级好，{a}，一点异味都没有，{b}，以后就认准这家店了",
    "到手就爱上了，{a}，质感满满，{b}，给掌柜一百个赞！",
    "闺蜜推荐来买的，{a}，果然没让我失望，{b}，会回购的",
    "物美价廉，{a}，客服小姐姐超热情，{b}，满分好评！",
    "好评好评，{a}，{b}，真心推荐这家店，亲们放心买！",
    "第一次给这么长的好评，{a}，而且{b}，总之非常满意！",
    "很赞的一次购物，{a}，{b}，店家人很好，推荐！",
    "实物比图片还好看，{a}，{b}，这个价格真的超值！",
    "老顾客了，一如既往的好，{a}，{b}，支持掌柜！",
    "超出预期，{a}，{b}，买了不后悔，五星送上！",
)
SLOT_A = ("质量很好", "做工很细致", "面料舒服", "效果很明显", "味道很正", "尺码标准", "手感一流", "颜值很高",
          "材质很好", "用起来很顺手")
SLOT_B = ("物流给力", "快递很快", "包装严实", "性价比超高", "价格实惠", "发货及时", "客服耐心", "售后放心")


# ------------------------------------------------------------------ paraphrases of one brief
#: Selling points a campaign brief asks writers to mention. Each point has several wordings;
#: ``{adv}`` is a degree adverb and ``{adj}`` a praise word, both swapped per review.
POINTS: tuple[tuple[str, ...], ...] = (
    ("续航{adv}久，充一次能用好几天", "电池{adv}耐用，好几天不用充电", "一次充满能撑好几天，续航{adj}"),
    ("降噪效果{adv}{adj}，地铁上也很安静", "戴上以后周围{adv}安静，降噪{adj}", "通勤路上降噪{adv}给力"),
    ("保温效果{adv}好，早上的热水晚上还是温的", "装的热水一天都是温的，保温{adj}", "保温能力{adv}强，冬天必备"),
    ("上脸{adv}服帖，一整天都不脱妆", "妆感{adv}自然，持妆一整天", "用了一天也不卡粉，{adv}服帖"),
    ("香味{adv}高级，留香时间长", "味道{adv}好闻，一整天都有淡淡的香", "留香持久，香味{adj}"),
    ("穿上{adv}显瘦，版型好看", "版型{adv}正，上身显瘦", "显瘦效果{adj}，腰身很好看"),
    ("口感酥脆不油腻，{adv}好吃", "吃起来{adv}香脆，一点也不腻", "酥酥脆脆的，口感{adj}"),
    ("护眼无频闪，孩子写作业用{adv}合适", "光线{adv}柔和，看久了眼睛也不累", "无频闪护眼，灯光{adj}"),
    ("吸水性{adv}好，洗了几次也不掉毛", "很吸水，洗过几次一点都不掉毛", "毛巾{adv}软，吸水{adj}"),
    ("面料{adv}亲肤，穿着很舒服", "布料摸起来{adv}柔软，贴身穿也舒服", "面料舒服透气，{adj}"),
    ("容量{adv}大，装得下很多东西", "空间{adv}大，出门装东西很方便", "能装很多，容量{adj}"),
    ("安装{adv}简单，十分钟就装好了", "按说明书很快就装好了，{adv}方便", "安装省心，{adj}"),
    ("零添加，宝宝吃得{adv}放心", "配料表{adv}干净，给孩子吃很放心", "没有添加剂，{adv}安心"),
    ("清洁力{adv}强，衣服洗得很干净", "去污效果{adv}好，领口都洗干净了", "洗得干净还有淡淡清香，{adj}"),
    ("连接{adv}稳定，一点都不卡", "蓝牙连接快，用着{adv}稳定", "信号稳定，延迟{adv}低"),
    ("分量{adv}足，一家人够吃", "量很足，{adv}实在", "分量给得{adv}足，很良心"),
)
ADVERBS = ("很", "非常", "特别", "超级", "十分", "相当", "真的", "超")
ADJECTIVES = ("很好", "一流", "很赞", "没得说", "很棒", "杠杠的", "绝了", "无敌")
BRIEF_OPENERS = ("收到货了，", "用了几天来评价，", "第一次买这家，", "回购了，", "朋友推荐的，", "", "",
                 "犹豫了很久才下单，", "趁活动入手的，", "给家人买的，", "到货很快，", "已经用了一周，")
BRIEF_CLOSERS = ("推荐购买！", "值得入手。", "五星好评！", "会回购的。", "强烈推荐！", "", "很满意。",
                 "买了不亏。", "大家放心买。", "好评。")
BRIEF_JOINERS = ("，", "，而且", "，另外", "。", "，还有", "；")


#: Chance that an aspect phrase is positive, by star rating 1..5.
_P_POSITIVE = np.array([0.05, 0.15, 0.45, 0.85, 0.97])

# Text kinds of a recipe.
EMPTY, DEFAULT, GENERIC, COMPOSED, TEMPLATE, PARAPHRASE, WITH_POINTS = range(7)
#: Rough length of each kind (characters), used before rendering (likes favour long texts).
APPROX_LEN = np.array([0, 9, 3, 0, 32, 32, 40])
BRIEF_MAX = 4


@dataclass
class Texts:
    """Recipes of ``n`` review texts (see :func:`render`)."""

    kind: np.ndarray
    verbosity: np.ndarray
    template: np.ndarray
    brief: np.ndarray  # (n, BRIEF_MAX) point ids, -1 padded

    @classmethod
    def of(cls, kind: np.ndarray, verbosity=0.3, template=-1, brief: np.ndarray | None = None) -> Texts:
        n = len(kind)
        b = np.full((n, BRIEF_MAX), -1, np.int16)
        if brief is not None:
            brief = np.asarray(brief)
            brief = np.broadcast_to(brief, (n, brief.shape[-1]))
            b[:, : brief.shape[1]] = brief
        return cls(np.asarray(kind, np.int8), np.broadcast_to(np.asarray(verbosity, np.float32), n).copy(),
                   np.broadcast_to(np.asarray(template, np.int16), n).copy(), b)

    def __len__(self) -> int:
        return len(self.kind)

    def approx_len(self) -> np.ndarray:
        return np.where(self.kind == COMPOSED, 8 + 40 * self.verbosity, APPROX_LEN[self.kind])

    def columns(self) -> dict[str, np.ndarray]:
        return {"tk": self.kind, "tv": self.verbosity, "tt": self.template,
                **{f"tb{j}": self.brief[:, j] for j in range(BRIEF_MAX)}}


def _generic_or(rng: np.random.Generator, kind: int, n: int, p_generic: float | np.ndarray) -> np.ndarray:
    return np.where(rng.random(n) < p_generic, GENERIC, kind).astype(np.int8)


def ordinary(rng: np.random.Generator, n: int, p_empty: float | np.ndarray = 0.12,
             p_generic: float | np.ndarray = 0.28, verbosity: float | np.ndarray = 0.3) -> Texts:
    """What ordinary customers write: nothing, a generic short text, or a composed one."""
    u = rng.random(n)
    kind = np.where(u < p_empty, EMPTY, np.where(u < np.asarray(p_empty) + p_generic, GENERIC, COMPOSED))
    return Texts.of(kind, verbosity)


def default_reviews(n: int) -> Texts:
    """The platform's automatic positive review after the review period lapses."""
    return Texts.of(np.full(n, DEFAULT))


def templated(rng: np.random.Generator, n: int, templates: np.ndarray, p_generic: float = 0.12) -> Texts:
    """A ring's texts: one of its studio templates (slots filled at render), or generic.

    ``templates`` lists the ring's templates, or per row (an (n, m) array) the writer's.
    """
    templates = np.asarray(templates)
    pick = rng.integers(0, templates.shape[-1], n)
    chosen = templates[np.arange(n), pick] if templates.ndim == 2 else templates[pick]
    return Texts.of(_generic_or(rng, TEMPLATE, n, p_generic), template=chosen)


def new_brief(rng: np.random.Generator, k: int | None = None) -> np.ndarray:
    """The selling points (indices into ``POINTS``) that one campaign brief asks for."""
    k = int(rng.integers(2, BRIEF_MAX + 1)) if k is None else k
    return rng.choice(len(POINTS), size=k, replace=False)


def briefs(rng: np.random.Generator, k: int, points: int | None = None) -> np.ndarray:
    """``k`` briefs as a (k, BRIEF_MAX) array of point ids, -1 padded."""
    out = np.full((k, BRIEF_MAX), -1, np.int16)
    for i in range(k):
        b = new_brief(rng, points)
        out[i, : len(b)] = b
    return out


def paraphrase(rng: np.random.Generator, brief: np.ndarray, n: int, p_generic: float = 0.0) -> Texts:
    """``n`` paraphrases of ``brief`` (one brief, or one per row as an (n, k) array)."""
    return Texts.of(_generic_or(rng, PARAPHRASE, n, p_generic), brief=brief)


def with_points(rng: np.random.Generator, n: int, brief: np.ndarray, p_generic: float = 0.0) -> Texts:
    """Ordinary-looking texts with one of the brief's points worked in (or a generic one)."""
    return Texts.of(_generic_or(rng, WITH_POINTS, n, p_generic), verbosity=rng.beta(1.0, 3.0, n), brief=brief)


def concat(parts: list[Texts]) -> Texts:
    return Texts(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("kind", "verbosity", "template", "brief")))


# ------------------------------------------------------------------ rendering
def _bank(strings) -> pl.Series:
    """A phrase bank with an empty string appended (index ``len`` means "nothing")."""
    return pl.Series([*strings, ""], dtype=pl.String)


def _flat(banks: list[tuple[str, ...]]) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Concatenate phrase banks: (flat bank, offset of each bank, size of each bank)."""
    sizes = np.array([len(b) for b in banks])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return _bank([p for b in banks for p in b]), offsets, sizes


def _pick(rng: np.random.Generator, off: np.ndarray, size: np.ndarray, bank: np.ndarray) -> np.ndarray:
    return off[bank] + (rng.random(len(bank)) * size[bank]).astype(np.int64)


_ASPECTS, _ASPECT_OFF, _ASPECT_SIZE = _flat([b for pos_neg in ASPECTS for b in pos_neg])
_OPENERS = _bank(o.replace("{p}", p) for o in OPENERS for p in PRODUCTS)
_CLOSERS, _CLOSER_OFF, _CLOSER_SIZE = _flat([NEG_CLOSERS, MID_CLOSERS, CLOSERS])
_CONNECTORS = _bank(CONNECTORS)
_GENERIC, _GENERIC_OFF, _GENERIC_SIZE = _flat([GENERIC_NEG, GENERIC_MID, GENERIC_POS])
_TEMPLATES = _bank(t.format(a=a, b=b) for t in TEMPLATES for a in SLOT_A for b in SLOT_B)
_WORDINGS = [[w.replace("{adv}", adv).replace("{adj}", adj) for w in point for adv in ADVERBS for adj in ADJECTIVES]
             for point in POINTS]
_POINTS, _POINT_OFF, _POINT_SIZE = _flat([tuple(w) for w in _WORDINGS])
_BRIEF_OPENERS, _BRIEF_CLOSERS, _JOINERS = _bank(BRIEF_OPENERS), _bank(BRIEF_CLOSERS), _bank(BRIEF_JOINERS)


def _polarity(rating: np.ndarray) -> np.ndarray:
    """0 negative (1-2 stars), 1 mixed (3), 2 positive (4-5)."""
    return np.select([rating <= 2, rating == 3], [0, 1], 2)


def _composed(rng: np.random.Generator, rating: np.ndarray, verbosity: np.ndarray, closing: bool = True) -> pl.Series:
    n = len(rating)
    r = np.clip(rating.astype(np.int64), 1, 5)
    n_aspects = len(ASPECTS)
    n_slots = 1 + rng.binomial(n_aspects - 1, 0.05 + 0.6 * verbosity)
    order = np.argsort(rng.random((n, n_aspects)), axis=1)
    pieces = [_OPENERS.gather((rng.random(n) * (len(_OPENERS) - 1)).astype(np.int64))]
    nothing_a, nothing_c = len(_ASPECTS) - 1, len(_CONNECTORS) - 1
    for j in range(n_aspects):
        used = j < n_slots
        bank = order[:, j] * 2 + (rng.random(n) >= _P_POSITIVE[r - 1])
        phrase = np.where(used, _pick(rng, _ASPECT_OFF, _ASPECT_SIZE, bank), nothing_a)
        if j:
            conn = np.where(used, rng.integers(0, len(CONNECTORS), n), nothing_c)
            pieces.append(_CONNECTORS.gather(conn))
        pieces.append(_ASPECTS.gather(phrase))
    if closing:
        closer = _CLOSERS.gather(_pick(rng, _CLOSER_OFF, _CLOSER_SIZE, _polarity(r)))
        pieces.append(pl.select(pl.when(closer == "").then(pl.lit("")).otherwise("。" + closer)).to_series())
    return pl.select(pl.concat_str(pieces).str.replace_all("。。", "。", literal=True)).to_series()


def _points(rng: np.random.Generator, brief: np.ndarray, p_keep: float) -> pl.Series:
    """The brief's points in random order and wording; each kept with ``p_keep`` (at least one)."""
    n = len(brief)
    valid = brief >= 0
    order = np.argsort(np.where(valid, rng.random(brief.shape), 2.0), axis=1)
    point = np.take_along_axis(brief, order, axis=1)
    keep = np.take_along_axis(valid, order, axis=1) & (rng.random(brief.shape) < p_keep)
    keep[:, 0] = True  # the first valid point always survives (every brief has one)
    keep &= point >= 0
    pieces = []
    nothing_p, nothing_j = len(_POINTS) - 1, len(_JOINERS) - 1
    for j in range(brief.shape[1]):
        p = np.maximum(point[:, j], 0)
        idx = np.where(keep[:, j], _pick(rng, _POINT_OFF, _POINT_SIZE, p), nothing_p)
        if j:
            # A joiner only between two kept points.
            before = keep[:, :j].any(axis=1)
            pieces.append(_JOINERS.gather(np.where(keep[:, j] & before, rng.integers(0, len(BRIEF_JOINERS), n),
                                                   nothing_j)))
        pieces.append(_POINTS.gather(idx))
    return pl.select(pl.concat_str(pieces)).to_series()


def render(rng: np.random.Generator, kind: np.ndarray, rating: np.ndarray, verbosity: np.ndarray,
           template: np.ndarray, brief: np.ndarray) -> pl.Series:
    """Write every recipe's text (``None`` for reviews without text)."""
    n = len(kind)
    out = pl.Series("text", [None] * n, dtype=pl.String)

    def put(k: int, make) -> None:
        rows = np.flatnonzero(kind == k)
        if len(rows):
            out.scatter(rows, make(rows))

    put(DEFAULT, lambda rows: pl.Series([DEFAULT_REVIEW] * len(rows), dtype=pl.String))
    put(GENERIC, lambda rows: _GENERIC.gather(_pick(rng, _GENERIC_OFF, _GENERIC_SIZE,
                                                    _polarity(np.clip(rating[rows], 1, 5)))))
    put(COMPOSED, lambda rows: _composed(rng, rating[rows], verbosity[rows]))
    put(TEMPLATE, lambda rows: _TEMPLATES.gather(template[rows].astype(np.int64) * len(SLOT_A) * len(SLOT_B)
                                                 + rng.integers(0, len(SLOT_A) * len(SLOT_B), len(rows))))

    def framed(rows: np.ndarray) -> pl.Series:
        m = len(rows)
        opener = _BRIEF_OPENERS.gather(rng.integers(0, len(BRIEF_OPENERS), m))
        closer = _BRIEF_CLOSERS.gather(rng.integers(0, len(BRIEF_CLOSERS), m))
        end = pl.select(pl.when(closer == "").then(pl.lit("。")).otherwise("，" + closer)).to_series()
        return pl.select(pl.concat_str([opener, _points(rng, brief[rows], 0.6), end])).to_series()

    def mixed(rows: np.ndarray) -> pl.Series:
        base = _composed(rng, np.full(len(rows), 5), verbosity[rows], closing=False)
        return pl.select(pl.concat_str([base, pl.lit("，"), _points(rng, brief[rows], 0.3), pl.lit("。")])).to_series()

    put(PARAPHRASE, framed)
    put(WITH_POINTS, mixed)
    return out


# ------------------------------------------------------------------ nicknames and phones
NICK_A = ("快乐的", "安静的", "爱吃", "小", "阿", "大", "开心", "追风的", "浅笑", "温柔的", "吃货", "奔跑的",
          "爱笑的", "简单", "橘子味的", "南方", "北城", "晴天", "一只", "懒懒的", "酷酷的", "佛系")
NICK_B = ("小猫", "兔子", "鱼", "丸子", "小明", "芒果", "土豆", "月亮", "星星", "橙子", "阿杰", "妞妞", "小胖",
          "少年", "姑娘", "大叔", "宝宝", "熊", "汤圆", "柠檬", "咸鱼", "奶茶")
PINYIN = ("xiaoming", "lili", "zhangwei", "wangfang", "chen", "liu", "huang", "zhao", "yang", "sunny", "lucky",
          "momo", "jiajia", "tiantian", "kiki", "leo", "amy", "jack", "xiaoyu", "haohao")
#: Nickname styles: composed Chinese, platform default (tb/用户/jd_ + digits), pinyin + digits, short.
NICK_STYLES = 4
#: Mobile number segments; 162/165/167/170/171 are virtual-operator ranges that
#: verification-code platforms sell in bulk.
PHONE_PREFIXES = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159,
                           166, 173, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199])
VIRTUAL_PREFIXES = np.array([162, 165, 167, 170, 171])


def _choice(rng: np.random.Generator, bank, n: int) -> pl.Series:
    return pl.Series(bank).gather(rng.integers(0, len(bank), n))


def nicknames(rng: np.random.Generator, style: np.ndarray) -> pl.Series:
    """Nicknames in the given style per account (0 Chinese, 1 platform default, 2 pinyin, 3 short)."""
    n = len(style)
    digits = pl.Series(rng.integers(0, 10_000, n)).cast(pl.String)
    long_digits = pl.Series(rng.integers(10_000_000, 99_999_999, n)).cast(pl.String)
    chinese = _choice(rng, NICK_A, n) + _choice(rng, NICK_B, n) + pl.select(
        pl.when(pl.Series(rng.random(n) < 0.3)).then(digits).otherwise(pl.lit(""))).to_series()
    default = _choice(rng, ("tb", "用户", "jd_", "t_"), n) + long_digits
    pinyin = _choice(rng, PINYIN, n) + pl.Series(rng.integers(80, 2010, n)).cast(pl.String)
    short = _choice(rng, NICK_B, n)
    s = pl.Series(style)
    return pl.select(pl.when(s == 0).then(chinese).when(s == 1).then(default).when(s == 2).then(pinyin)
                     .otherwise(short)).to_series().alias("nickname")


def phones(rng: np.random.Generator, virtual: np.ndarray) -> np.ndarray:
    """11-digit mobile numbers; ``virtual`` marks numbers from virtual-operator segments."""
    n = len(virtual)
    prefix = np.where(virtual, VIRTUAL_PREFIXES[rng.integers(0, len(VIRTUAL_PREFIXES), n)],
                      PHONE_PREFIXES[rng.integers(0, len(PHONE_PREFIXES), n)])
    return prefix.astype(np.int64) * 100_000_000 + rng.integers(0, 100_000_000, n)
