"""The digest in words (HTML, escaped) and as a chart (PNG).

Owns: family names in three languages, the text layout a police weekly analysis would use
("fake customer service rose to 16.7% of cases, up 2.8 points"), and the 8-week share chart drawn
with matplotlib and a CJK font, readable at phone size.
"""

from __future__ import annotations

import io
from collections import Counter
from html import escape
from pathlib import Path

from bot.digest.stats import OTHER, FamilyLine, WeekStats
from bot.engine import Engine
from bot.lang import Lang, rule_text

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
        "zh-hans": "📊 <b>本周反诈速报（{week}）</b>",
        "zh-hant": "📊 <b>本週防詐快報（{week}）</b>",
        "en": "📊 <b>Weekly scam report ({week})</b>",
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
        "zh-hans": "各类占比（与上周相比）：",
        "zh-hant": "各類占比（與上週相比）：",
        "en": "Share of each type (change on last week):",
    },
    "riser": {
        "zh-hans": "📈 上升最多：{name}，占 {share}%，上升 {change} 个百分点。",
        "zh-hant": "📈 上升最多：{name}，占 {share}%，上升 {change} 個百分點。",
        "en": "📈 Biggest riser: {name}, {share}% of cases, up {change} points.",
    },
    "faller": {
        "zh-hans": "📉 下降最多：{name}，占 {share}%，下降 {change} 个百分点。",
        "zh-hant": "📉 下降最多：{name}，占 {share}%，下降 {change} 個百分點。",
        "en": "📉 Biggest faller: {name}, {share}% of cases, down {change} points.",
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


def _zh_or_en(lang: Lang) -> str:
    return "en" if lang == "en" else "zh"


def family_name(family: str, lang: Lang) -> str:
    names = FAMILY_NAMES.get(family, {"zh": family, "en": family.replace("_", " ")})
    return rule_text(names["zh"], names["en"], lang)


def _signed(x: float) -> str:
    return f"+{x:.1f}" if x > 0 else f"{x:.1f}"


def render_text(
    stats: WeekStats, lang: Lang, engine: Engine | None, seasonal: str | None = None
) -> str:
    """The digest message. Every dynamic piece is escaped."""
    parts = [WORDS["title"][lang].format(week=escape(stats.week))]
    parts.append(WORDS["checks"][lang].format(checks=stats.checks, matched=stats.matched))
    if not stats.families:
        parts.append(WORDS["none"][lang])
        return "\n\n".join(parts)
    lines = [WORDS["shares"][lang]]
    for f in stats.families:
        lines.append(
            f"• {escape(family_name(f.family, lang))}: {f.share:.1f}% ({_signed(f.change)})"
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
        share=f"{line.share:.1f}",
        change=f"{abs(line.change):.1f}",
    )


def render_chart(
    history: list[tuple[str, Counter[str]]], lang: Lang, min_family_hits: int
) -> bytes:
    """Share of each family over the weeks in ``history``, as a PNG for phones (1080 px wide)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    font = next((f for f in CJK_FONTS if Path(f).is_file()), None)
    if font is not None:
        font_manager.fontManager.addfont(font)
        plt.rcParams["font.family"] = font_manager.FontProperties(fname=font).get_name()
    totals = [sum(c.values()) for _, c in history]
    families: Counter[str] = Counter()
    for _, c in history:
        families.update(c)
    shown = [f for f, n in families.most_common() if n >= min_family_hits][:7]
    weeks = [w.split("-")[1] for w, _ in history]
    fig, ax = plt.subplots(figsize=(7.2, 5.4), dpi=150)
    for fam in shown:
        shares = [
            100.0 * c.get(fam, 0) / t if t else 0.0
            for (_, c), t in zip(history, totals, strict=True)
        ]
        ax.plot(weeks, shares, marker="o", linewidth=2.5, label=family_name(fam, lang))
    ax.set_ylabel("%" if lang == "en" else "占比 %", fontsize=13)
    ax.set_title(
        "Share of scam types, last 8 weeks" if lang == "en" else "近 8 周各类诈骗占比", fontsize=15
    )
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=11, loc="upper left", bbox_to_anchor=(0, -0.1), ncol=2, frameon=False)
    else:
        ax.text(
            0.5,
            0.5,
            "no data yet" if lang == "en" else "暂无数据",
            ha="center",
            fontsize=16,
            transform=ax.transAxes,
        )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
