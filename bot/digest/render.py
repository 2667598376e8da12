"""The digest in words (HTML, escaped) and as a chart (PNG).

Owns: family names in three languages, the text layout a police weekly analysis would use
("fake customer service: 30 messages, 50.0% of cases, +10.0 percentage points"), dates as a
reader writes them ("Nov 30 – Dec 6", "11月30日–12月6日"), and the chart: this week's count of
each family the text names, as sorted horizontal bars with the change on last week beside each
and the biggest riser in colour, every label in the reader's language and script, drawn with
matplotlib and a CJK font, readable at phone size. Only counts of anonymized hits reach it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from bot.digest.stats import OTHER, FamilyLine, WeekStats
from bot.engine import Engine
from bot.lang import Lang, rule_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)

FAMILY_NAMES: dict[str, dict[str, str]] = {
    "fake_customer_service": {"zh": "冒充客服", "en": "Fake customer service"},
    "order_brushing": {"zh": "刷单返利", "en": "Order brushing / task jobs"},
    "investment": {"zh": "虚假投资理财", "en": "Fake investment"},
    "shopping": {"zh": "网络购物", "en": "Online shopping"},
    "traffic_diversion": {"zh": "诈骗引流", "en": "Lures into groups"},
    "impersonate_officials": {"zh": "冒充公检法", "en": "Fake police or officials"},
    "loan_credit": {"zh": "贷款、征信", "en": "Loans and credit"},
    "impersonate_acquaintance": {"zh": "冒充领导熟人", "en": "Fake boss or relative"},
    "romance": {"zh": "网络婚恋交友", "en": "Romance"},
    "game_trading": {"zh": "游戏交易", "en": "Game trading"},
    "account_prize_lures": {"zh": "账户异常、中奖、补贴", "en": "Account, prize and subsidy lures"},
    "black_market": {"zh": "黑灰产招募", "en": "Black-market recruiting"},
    "illegal_services": {
        "zh": "非法服务广告（赌博、假证、色情、个人信息）",
        "en": "Illegal-service ads (gambling, fake papers, sex, personal data)",
    },
    "phishing_link": {"zh": "钓鱼链接", "en": "Phishing links"},
    "fake_education": {"zh": "冒充老师、学校", "en": "Fake teacher or school"},
    "fake_delivery": {"zh": "快递重新派送费", "en": "Parcel redelivery fees"},
    "account_alert": {"zh": "账户安全警报", "en": "Account alerts"},
    "toll_tax_refund": {"zh": "路费、退税", "en": "Toll and tax refunds"},
    "task_jobs": {"zh": "网络兼职任务", "en": "Task jobs"},
    "prize_lure": {"zh": "中奖、付费短信", "en": "Prizes and premium texts"},
    "tech_support_callback": {"zh": "假扣费、假技术支持", "en": "Fake charges, tech support"},
    "advance_fee": {"zh": "遗产、包裹预付费", "en": "Inheritance and advance fees"},
    "sextortion": {"zh": "裸聊、隐私敲诈", "en": "Sextortion"},
    "spam_ads": {"zh": "垃圾广告链接", "en": "Spam ads with links"},
    "money_owed": {
        "zh": "假赔偿、补助、转账待领",
        "en": "Fake settlements, benefits, payments to claim",
    },
    "pay_to_account": {"zh": "陌生收款账户（“钱打到这张卡”）", "en": "Pay-into-this-account texts"},
    OTHER: {"zh": "其他", "en": "Other"},
}

WORDS = {
    "title": {
        "zh-hans": "📊 <b>本周反诈速报（{days}）</b>",
        "zh-hant": "📊 <b>本週防詐快報（{days}）</b>",
        "en": "📊 <b>Weekly scam report ({days})</b>",
    },
    "so_far": {
        "zh-hans": "{days}，截至目前",
        "zh-hant": "{days}，截至目前",
        "en": "{days}, so far",
    },
    "checks": {
        "zh-hans": "本周共检查 {checks} 条消息，其中 {matched} 条与已知诈骗流程吻合。",
        "zh-hant": "本週共檢查 {checks} 則訊息，其中 {matched} 則與已知詐騙手法吻合。",
        "en": "{checks} messages were checked this week; {matched} matched a known scam flow.",
    },
    "none": {
        "zh-hant": "本週沒有足夠的資料。",
        "zh-hans": "本周没有足够的数据。",
        "en": "Not enough data this week.",
    },
    "shares": {
        "zh-hans": "各类消息数和占比（与上周相比）：",
        "zh-hant": "各類訊息數和佔比（與上週相比）：",
        "en": "Each type: messages, share of cases (change on last week):",
    },
    "line": {
        "zh-hans": "• {name}：{count} 条，占 {share}%（{points}）",
        "zh-hant": "• {name}：{count} 則，佔 {share}%（{points}）",
        "en": "• {name}: {count}, {share}% ({points})",
    },
    "points": {
        "zh-hans": "{change} 个百分点",
        "zh-hant": "{change} 個百分點",
        "en": "{change} percentage points",
    },
    "level": {"zh-hans": "持平", "zh-hant": "持平", "en": "no change"},
    "riser": {
        "zh-hans": "📈 上升最多：{name}，{count} 条（上周 {previous} 条），"
        "占 {share}%，上升 {change} 个百分点。",
        "zh-hant": "📈 上升最多：{name}，{count} 則（上週 {previous} 則），"
        "佔 {share}%，上升 {change} 個百分點。",
        "en": "📈 Biggest riser: {name}, {count} messages (last week {previous}), "
        "{share}% of cases, up {change} percentage points.",
    },
    "faller": {
        "zh-hans": "📉 下降最多：{name}，{count} 条（上周 {previous} 条），"
        "占 {share}%，下降 {change} 个百分点。",
        "zh-hant": "📉 下降最多：{name}，{count} 則（上週 {previous} 則），"
        "佔 {share}%，下降 {change} 個百分點。",
        "en": "📉 Biggest faller: {name}, {count} messages (last week {previous}), "
        "{share}% of cases, down {change} percentage points.",
    },
    "flow": {
        "zh-hans": "🔎 <b>本周关注：{title}</b>",
        "zh-hant": "🔎 <b>本週關注：{title}</b>",
        "en": "🔎 <b>Flow of the week: {title}</b>",
    },
    "advice": {"zh-hans": "怎么办：", "zh-hant": "怎麼辦：", "en": "What to do:"},
    "changed": {
        "zh-hans": "本周更新的规则：{rules}",
        "zh-hant": "本週更新的規則：{rules}",
        "en": "Rules updated this week: {rules}",
    },
}

# The chart's words. Traditional is written out (not converted), in Taiwan's usage.
CHART_WORDS = {
    "title": {
        "zh-hans": "各类诈骗消息数",
        "zh-hant": "各類詐騙訊息數",
        "en": "Scam messages by type",
    },
    "subtitle": {
        "zh-hans": "{days} · 右侧为与上周（{previous}）相比的变化",
        "zh-hant": "{days} · 右側為與上週（{previous}）相比的變化",
        "en": "{days} · on the right: change from {previous}",
    },
    "riser": {"zh-hans": "▲ 上升最多", "zh-hant": "▲ 上升最多", "en": "▲ Biggest riser"},
    "new": {"zh-hans": "新出现", "zh-hant": "新出現", "en": "new"},
    "level": {"zh-hans": "持平", "zh-hant": "持平", "en": "same"},
    "axis": {
        "zh-hans": "匹配的消息数（条）",
        "zh-hant": "吻合的訊息數（則）",
        "en": "messages that matched",
    },
    "note": {
        "zh-hans": "只统计匿名的命中次数；本周不足 {min} 条的类型计入“其他”。",
        "zh-hant": "只統計匿名的命中次數；本週不足 {min} 則的類別計入「其他」。",
        "en": "Anonymized counts only; types with fewer than {min} this week are under Other.",
    },
    "empty": {"zh-hans": "本周暂无数据", "zh-hant": "本週暫無資料", "en": "No data this week yet"},
}

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# A percent change of a small number says more about chance than about a trend ("+200%" for
# 2 -> 6): below this many last week, the chart gives the difference in messages only.
PERCENT_BASE = 10


def family_name(family: str, lang: Lang) -> str:
    names = FAMILY_NAMES.get(family, {"zh": family, "en": family.replace("_", " ")})
    return rule_text(names["zh"], names["en"], lang)


def day_span(first: dt.date, last: dt.date, lang: Lang) -> str:
    """The days a digest covers, as a reader writes them: "Dec 7–13", "Nov 30 – Dec 6",
    "12月7日–13日", "11月30日–12月6日"; the year only when the span crosses one."""
    years = first.year != last.year
    if lang == "en":

        def day(d: dt.date) -> str:
            return f"{MONTHS_EN[d.month - 1]} {d.day}" + (f", {d.year}" if years else "")

        if first == last:
            return day(first)
        if first.month == last.month and not years:
            return f"{day(first)}–{last.day}"
        return f"{day(first)} – {day(last)}"

    def tag(d: dt.date) -> str:
        return (f"{d.year}年" if years else "") + f"{d.month}月{d.day}日"

    if first == last:
        return tag(first)
    if first.month == last.month and not years:
        return f"{tag(first)}–{last.day}日"
    return f"{tag(first)}–{tag(last)}"


def _this_week(stats: WeekStats, lang: Lang) -> str:
    days = day_span(stats.first_day, stats.last_day, lang)
    return WORDS["so_far"][lang].format(days=days) if stats.so_far else days


def _signed(x: float) -> str:
    return f"+{x:.1f}" if x > 0 else f"{x:.1f}"


def points(change: float, lang: Lang) -> str:
    """A change of share in words: "+13.2 percentage points", "-2.0 个百分点", "no change"."""
    if round(change, 1) == 0:
        return WORDS["level"][lang]
    return WORDS["points"][lang].format(change=_signed(change))


def render_text(
    stats: WeekStats, lang: Lang, engine: Engine | None, seasonal: str | None = None
) -> str:
    """The digest message. Every dynamic piece is escaped."""
    parts = [WORDS["title"][lang].format(days=escape(_this_week(stats, lang)))]
    parts.append(WORDS["checks"][lang].format(checks=stats.checks, matched=stats.matched))
    if not stats.families:
        parts.append(WORDS["none"][lang])
        return "\n\n".join(parts)
    lines = [WORDS["shares"][lang]]
    for f in stats.families:
        lines.append(
            WORDS["line"][lang].format(
                name=escape(family_name(f.family, lang)),
                count=f.count,
                share=f"{f.share:.1f}",
                points=points(f.change, lang),
            )
        )
    parts.append("\n".join(lines))
    if stats.riser:
        parts.append(_move("riser", stats.riser, lang))
    if stats.faller:
        parts.append(_move("faller", stats.faller, lang))
    if stats.riser and stats.top_rule_of_riser and engine is not None:
        rule = engine.rules.rule(stats.top_rule_of_riser)
        if rule is not None:
            title = escape(rule_text(rule.title.zh, rule.title.en, lang))
            flow = [WORDS["flow"][lang].format(title=title)]
            flow += [
                f"{i}. {escape(rule_text(st.title.zh, st.title.en, lang))}"
                for i, st in enumerate(rule.stages, 1)
            ]
            flow.append(WORDS["advice"][lang])
            flow += [
                "• " + escape(rule_text(zh, en, lang))
                for zh, en in list(zip(rule.advice.zh, rule.advice.en, strict=False))[:3]
            ]
            parts.append("\n".join(flow))
    if stats.rules_changed:
        parts.append(WORDS["changed"][lang].format(rules=escape(", ".join(stats.rules_changed))))
    if seasonal:
        parts.append("🗓 " + escape(seasonal))
    return "\n\n".join(parts)


def _move(key: str, line: FamilyLine, lang: Lang) -> str:
    return WORDS[key][lang].format(
        name=escape(family_name(line.family, lang)),
        count=line.count,
        previous=line.previous_count,
        share=f"{line.share:.1f}",
        change=f"{abs(line.change):.1f}",
    )


@dataclass(frozen=True)
class ChartRow:
    family: str
    name: str  # in the reader's language
    count: int
    change: str  # "▲ +61 (+41%)", "▼ −3", "new", "same"
    rising: bool | None  # None: no change, or new
    riser: bool  # the digest's biggest riser: drawn in colour, labelled


@dataclass(frozen=True)
class ChartSpec:
    """Everything the chart says, in words: what the tests read and the drawing draws."""

    title: str
    subtitle: str
    axis: str
    riser_label: str
    note: str
    empty: str
    rows: tuple[ChartRow, ...]  # as the text lists them: most messages first, "other" last


def count_change(line: FamilyLine, lang: Lang) -> str:
    """The change in messages on last week, with a percent only when last week's count is large
    enough to mean something; "new" rather than a percent of zero."""
    if line.previous_count == 0:
        return CHART_WORDS["new"][lang]
    diff = line.count - line.previous_count
    if diff == 0:
        return CHART_WORDS["level"][lang]
    arrow, sign = ("▲", "+") if diff > 0 else ("▼", "−")
    out = f"{arrow} {sign}{abs(diff)}"
    percent = round(100 * abs(diff) / line.previous_count)
    if line.previous_count >= PERCENT_BASE and percent:
        out += f" ({sign}{percent}%)"
    return out


def chart_spec(stats: WeekStats, lang: Lang, min_family_hits: int) -> ChartSpec:
    riser = stats.riser.family if stats.riser else None
    rows = tuple(
        ChartRow(
            family=f.family,
            name=family_name(f.family, lang),
            count=f.count,
            change=count_change(f, lang),
            rising=None
            if f.previous_count == 0 or f.count == f.previous_count
            else f.count > f.previous_count,
            riser=f.family == riser,
        )
        for f in stats.families
    )
    previous = day_span(stats.previous_first_day, stats.previous_last_day, lang)
    return ChartSpec(
        title=CHART_WORDS["title"][lang],
        subtitle=CHART_WORDS["subtitle"][lang].format(
            days=_this_week(stats, lang), previous=previous
        ),
        axis=CHART_WORDS["axis"][lang],
        riser_label=CHART_WORDS["riser"][lang],
        note=CHART_WORDS["note"][lang].format(min=min_family_hits),
        empty=CHART_WORDS["empty"][lang],
        rows=rows,
    )


# Colours: one strong colour for the riser, a quiet one for the rest, grey for "other";
# changes in red when scams rise, green when they fall.
BAR, RISER, OTHER_BAR = "#8da4be", "#e8590c", "#ced4da"
UP, DOWN, FLAT, INK, MUTED = "#c92a2a", "#2b8a3e", "#495057", "#212529", "#6c757d"
ROW_INCHES = 0.62  # one family: its name above, its bar below


def _font_family() -> list[str]:
    """The CJK font first, DejaVu (matplotlib's own) for any glyph it lacks."""
    from matplotlib import font_manager

    font = next((f for f in CJK_FONTS if Path(f).is_file()), None)
    if font is None:
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(font)
    return [font_manager.FontProperties(fname=font).get_name(), "DejaVu Sans"]


def draw_chart(spec: ChartSpec) -> Figure:
    """The chart as a matplotlib figure (no pyplot), 1080 px wide at 150 dpi: per row the family's
    name, below it the bar with its count at the end, and the change in a column on the right."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    n = max(len(spec.rows), 1)
    top, bottom = 1.0, 0.95  # inches: title and subtitle; axis, its label and the note
    height = top + bottom + n * ROW_INCHES
    fig = Figure(figsize=(7.2, height), dpi=150, facecolor="white")
    left, right = 0.04, 0.96
    ax = fig.add_axes((left, bottom / height, 0.64, n * ROW_INCHES / height))
    fig.text(left, 1 - 0.32 / height, spec.title, fontsize=18, color=INK, va="center")
    fig.text(left, 1 - 0.7 / height, spec.subtitle, fontsize=12, color=MUTED, va="center")
    fig.text(left, 0.17 / height, spec.note, fontsize=9, color=MUTED, va="center")
    if not spec.rows:
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            spec.empty,
            ha="center",
            va="center",
            fontsize=16,
            color=MUTED,
            transform=ax.transAxes,
        )
        return fig
    column = blended_transform_factory(fig.transFigure, ax.transData)  # x: figure, y: row
    most = max(r.count for r in spec.rows) or 1
    ax.set_xlim(0, most * 1.16)  # room for the count at the end of the longest bar
    ax.set_ylim(n - 0.5, -0.62)  # first row on top
    for i, row in enumerate(spec.rows):
        bar_y, name_y = i + 0.14, i - 0.3
        colour = RISER if row.riser else OTHER_BAR if row.family == OTHER else BAR
        ax.barh(bar_y, row.count, height=0.46, color=colour)
        ax.text(
            0,
            name_y,
            row.name,
            fontsize=12,
            va="center",
            ha="left",
            color=RISER if row.riser else INK,
        )
        ax.text(
            row.count + most * 0.015,
            bar_y,
            str(row.count),
            fontsize=12,
            va="center",
            ha="left",
            color=INK,
        )
        change_colour = FLAT if row.rising is None else UP if row.rising else DOWN
        ax.text(
            right,
            bar_y,
            row.change,
            fontsize=12,
            va="center",
            ha="right",
            color=RISER if row.riser else change_colour,
            transform=column,
        )
        if row.riser:
            ax.text(
                right,
                name_y,
                spec.riser_label,
                fontsize=11,
                va="center",
                ha="right",
                color=RISER,
                transform=column,
            )
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(OTHER_BAR)
    ax.xaxis.set_major_locator(
        MaxNLocator(nbins=5, steps=[1, 2, 5, 10], integer=True)
    )  # messages come whole
    ax.tick_params(axis="x", labelsize=10, colors=MUTED, length=0)
    ax.grid(axis="x", color="#e9ecef", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xlabel(spec.axis, fontsize=10, color=MUTED, loc="left")
    return fig


def render_chart(stats: WeekStats, lang: Lang, min_family_hits: int) -> bytes:
    """This week's chart as a PNG for phones (1080 px wide). matplotlib's settings are global:
    callers on threads draw one chart at a time."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with matplotlib.rc_context({"font.family": _font_family()}):
        fig = draw_chart(chart_spec(stats, lang, min_family_hits))
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()
