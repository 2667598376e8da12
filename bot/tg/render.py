"""Turn a verdict into the reply a person reads: HTML (every piece escaped) and buttons.

Owns: the layout of private-chat verdicts and group warnings, the length budget (Telegram
allows 4096 characters), and the callback data of the feedback and report buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from bot.engine import Verdict
from bot.engine.victim import Act, SelfReport
from bot.tg.i18n import Lang, rule_text, t

MAX_MESSAGE = 4096
MAX_QUOTE = 60
MAX_QUOTES_PER_STAGE = 2
QUOTE_INDENT = "    "  # quote lines start with this, so they can be dropped first if too long


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()


_DOT_BEFORE_LETTER = re.compile(r"\.(?=[A-Za-z])")
_SCHEME = re.compile(r"(?i)\b(http|https|ftp)://")


def defang(text: str) -> str:
    """Quoted scam links and handles must not become live links in the warning itself:
    ``hxxp://jd-lipei[.]cn``, ``＠handle``."""
    text = _SCHEME.sub(lambda m: m.group(1).lower().replace("t", "x", 2) + "://", text)
    text = _DOT_BEFORE_LETTER.sub("[.]", text)
    return text.replace("@", "＠")


def _quote(text: str, lang: Lang = "en") -> str:
    text = " ".join(text.split())
    if len(text) > MAX_QUOTE:
        text = text[: MAX_QUOTE - 1] + "…"
    # Taiwan and Hong Kong quote with 「」, as the rest of a Traditional reply does.
    left, right = ("「", "」") if lang == "zh-hant" else ("“", "”")
    return f"{left}{escape(defang(text))}{right}"


def feedback_buttons(
    lang: Lang, ref: str, with_report: bool = True
) -> tuple[tuple[Button, ...], ...]:
    row1 = (
        Button(t("btn_helpful", lang), f"fb:h:{ref}"),
        Button(t("btn_wrong", lang), f"fb:w:{ref}"),
    )
    if not with_report:
        return (row1,)
    return (row1, (Button(t("btn_report", lang), f"rp:ask:{ref}"),))


def confirm_buttons(lang: Lang, ref: str) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(t("btn_confirm", lang), f"rp:yes:{ref}"),
            Button(t("btn_cancel", lang), f"rp:no:{ref}"),
        ),
    )


MAX_URGENT = 2  # pieces of advice on the first screen


def verdict_buttons(
    lang: Lang,
    ref: str,
    *,
    details: bool = False,
    report: str = "ask",
    group: bool = False,
) -> tuple[tuple[Button, ...], ...]:
    """The buttons under a matched verdict: the view toggle ("Details" on the short view, back
    to it on the details) and, in a private chat, the family card, then feedback and report
    (``report``: ``ask``, ``confirm`` while asking for consent, ``done`` after). A group gets
    the toggle only: the other buttons answer one person's own check."""
    toggle = (
        Button(t("btn_short", lang), f"dt:s:{ref}")
        if details
        else Button(t("btn_details", lang), f"dt:d:{ref}")
    )
    if group:
        return ((toggle,),)
    first = ((toggle, Button(t("btn_family", lang), f"fm:{ref}")),)
    if report == "confirm":
        return first + feedback_buttons(lang, ref, with_report=False) + confirm_buttons(lang, ref)
    return first + feedback_buttons(lang, ref, with_report=report == "ask")


def render_verdict(
    verdict: Verdict,
    lang: Lang,
    region: str,
    hotline: str | None,
    ref: str,
    *,
    checked: str | None = None,
    report: SelfReport | None = None,
    continued: bool = False,
    details: bool = False,
    group: bool = False,
) -> Reply:
    """The reply for a verdict (never says "safe"); ``checked`` first, when the message
    checked is not the one replied to (it names what was checked); ``continued`` says the
    verdict continues the person's previous check.

    Action first: a match is answered with the risk, the scam type, the one or two most
    urgent pieces of advice and the hotline; ``details`` adds the stages seen (quoted where
    the verdict has evidence), the step reached, what comes next and all the advice. When the
    person said they already acted (``report``), what cannot wait comes before everything
    else, in both views."""
    parts: list[str] = [checked] if checked else []
    if continued:
        parts.append(t("continued", lang))
    hotline_line = t("hotline", lang, number=escape(hotline)) if hotline else ""
    victim = report is not None and report.victim
    if report is not None and report.victim:
        parts.append(victim_steps(report.acts, lang, hotline))
        hotline_line = ""  # already in the urgent steps
    if verdict.rule is None or verdict.risk == "none":
        if report is not None and report.victim:
            parts.append(t("victim_send_more", lang))
        elif report is not None and report.follow_up:
            parts.append(t("ask_what", lang))
        else:
            parts.append(t("risk_none", lang))
            parts.append(t("general_advice", lang))
        if hotline_line:
            parts.append(hotline_line)
        return Reply(_fit(parts), () if group else feedback_buttons(lang, ref))

    rule = verdict.rule
    parts.append(
        t(f"risk_{verdict.risk}", lang)
        + "\n"
        + t("family", lang)
        + "<b>"
        + escape(rule_text(rule.title_zh, rule.title_en, lang, region))
        + "</b>"
    )
    buttons = verdict_buttons(lang, ref, details=details, group=group)
    advice = _advice_lines(verdict, lang, region)
    if not details:
        if not victim:  # the urgent steps are this person's most urgent actions
            parts.append("\n".join([t("todo", lang), *advice[:MAX_URGENT]]))
        if hotline_line:
            parts.append(hotline_line)
        return Reply(_fit(parts), buttons)

    stage_lines = [t("seen", lang)]
    for stage in verdict.stages:
        title = escape(rule_text(stage.title_zh, stage.title_en, lang, region))
        quotes = " ".join(
            _quote(e.text, lang) for e in stage.evidence[:MAX_QUOTES_PER_STAGE] if e.text
        )
        if not quotes and stage.signals:
            # Without the message's words (a view re-derived from clue names): the clue itself.
            first = stage.signals[0]
            quotes = escape(rule_text(first.reason_zh, first.reason_en, lang, region))
        stage_lines.append(
            f"{stage.index + 1}. {title}" + (f"\n{QUOTE_INDENT}{quotes}" if quotes else "")
        )
    parts.append("\n".join(stage_lines))

    progress = verdict.progress
    if progress is not None:
        total = progress.index + 1 + len(verdict.next_stages)
        title = rule_text(progress.title_zh, progress.title_en, lang, region)
        parts.append(
            "📍 " + t("reached", lang, n=progress.index + 1, total=total, title=escape(title))
        )
    if verdict.next_stages:
        nxt = [t("next", lang)] + [
            "• " + escape(rule_text(s.title_zh, s.title_en, lang, region))
            for s in verdict.next_stages
        ]
        parts.append("\n".join(nxt))
    parts.append("\n".join([t("todo_all", lang), *advice]))
    if hotline_line:
        parts.append(hotline_line)
    return Reply(_fit(parts), buttons)


def render_family_card(verdict: Verdict, lang: Lang, region: str, hotline: str | None) -> str:
    """A short warning a person can forward to their family: the scam type, the one thing to
    do about it, the hotline. Nothing of the person's message, nothing about the person."""
    pairs = list(zip(*verdict.advice_for(region), strict=False))
    parts = [t("family_card", lang, title=_title(verdict, lang, region))]
    if pairs:
        parts.append("👉 " + escape(rule_text(*pairs[0], lang, region)))
    if hotline:
        parts.append(t("hotline", lang, number=escape(hotline)))
    parts.append(t("family_card_end", lang))
    return _fit(parts)


def victim_steps(acts: tuple[Act, ...], lang: Lang, hotline: str | None) -> str:
    """What cannot wait, for what the person says they already did: stop the money first,
    then lock what they gave away, then the police and the anti-fraud line, then keep the
    records and pay nothing more."""
    lines = [t("victim_title", lang)]
    if "paid" in acts or ("scammed" in acts and "card" not in acts):
        lines.append(t("victim_paid", lang))  # "I was scammed" almost always means money
    elif "card" in acts:
        lines.append(t("victim_card", lang))
    lines += [t(f"victim_{act}", lang) for act in ("code", "app") if act in acts]
    if hotline:
        lines.append(t("victim_police", lang, hotline=escape(hotline)))
    else:
        lines.append(t("victim_police_only", lang))
    lines.append(t("victim_keep", lang))
    return "\n".join(lines)


def _title_and_advice(verdict: Verdict, lang: Lang, region: str) -> tuple[str, str]:
    """The scam type and the two most important pieces of advice, escaped, for short warnings."""
    return _title(verdict, lang, region), "\n".join(_advice_lines(verdict, lang, region)[:2])


def _title(verdict: Verdict, lang: Lang, region: str) -> str:
    """The scam type, escaped."""
    assert verdict.rule is not None
    return escape(rule_text(verdict.rule.title_zh, verdict.rule.title_en, lang, region))


def _advice_lines(verdict: Verdict, lang: Lang, region: str) -> list[str]:
    """The advice for this reader's region, in their language, escaped, one bullet each."""
    return [
        "• " + escape(rule_text(zh, en, lang, region))
        for zh, en in zip(*verdict.advice_for(region), strict=False)
    ]


def render_business_warning(verdict: Verdict, lang: Lang, region: str) -> str:
    """The note to a business owner about a customer's message (never sent to the customer)."""
    title, advice = _title_and_advice(verdict, lang, region)
    return t("business_warning", lang, title=title, advice=advice)


def render_group_warning(verdict: Verdict, lang: Lang, region: str, hotline: str | None) -> str:
    """The short reply in a group: what it looks like and the most important advice."""
    title, advice = _title_and_advice(verdict, lang, region)
    text = t("group_warning", lang, title=title, advice=advice)
    if hotline:
        text += "\n" + t("hotline", lang, number=escape(hotline))
    return text


def _fit(parts: list[str]) -> str:
    """Join sections, dropping quotes and then trailing lines if Telegram's limit is near.
    Sections are whole HTML fragments, so cutting between them never breaks a tag."""
    text = "\n\n".join(parts)
    if len(text) <= MAX_MESSAGE:
        return text
    parts = [
        "\n".join(ln for ln in p.split("\n") if not ln.startswith(QUOTE_INDENT)) for p in parts
    ]
    text = "\n\n".join(parts)
    while len(text) > MAX_MESSAGE and len(parts) > 1:
        parts.pop(-2)  # keep the hotline (last) as long as anything else can go
        text = "\n\n".join(parts)
    return text[:MAX_MESSAGE]


def render_removed_notice(verdict: Verdict, lang: Lang, region: str) -> str:
    """The notice in a group where a post was deleted: what kind of scam and the risk, for
    the admins, who may restore it. Never the post's text or links: they are the scam."""
    return t("removed_notice", lang, title=_title(verdict, lang, region))
