"""Replies: every string in every language, Traditional that is really Traditional, HTML that
is always escaped, and nothing ever called "safe"."""

from __future__ import annotations

import opencc
import pytest

from bot.engine import Engine
from bot.tg.i18n import COMMANDS, LANGS, T, language_for, region_for, rule_text
from bot.tg.render import MAX_MESSAGE, render_family_card, render_verdict

_S2TW = opencc.OpenCC("s2tw")


def test_every_string_exists_in_every_language() -> None:
    for key, texts in {**T, **COMMANDS}.items():
        assert set(texts) == set(LANGS), key
        assert all(texts[lang].strip() for lang in LANGS), key


@pytest.mark.parametrize("key", sorted(T))
def test_traditional_strings_have_no_simplified_characters(key: str) -> None:
    text = T[key]["zh-hant"]
    simplified_only = [c for c in text if _S2TW.convert(c) != c]
    assert simplified_only == [], (key, simplified_only)


def test_language_and_region_from_telegram() -> None:
    assert language_for("zh-hant", "en") == "zh-hant"
    assert language_for("zh-TW", "en") == "zh-hant"
    assert language_for("zh-hans", "en") == "zh-hans"
    assert language_for("en-GB", "zh-hans") == "en"
    # A language the bot does not speak gets English; no language at all gets the default.
    assert language_for("fr", "zh-hans") == "en"
    assert language_for("ru", "zh-hant") == "en"
    assert language_for(None, "zh-hans") == "zh-hans"
    assert language_for("", "zh-hant") == "zh-hant"
    defaults = {"zh-hans": "CN", "zh-hant": "TW", "en": "GB"}
    assert region_for("zh-hk", "zh-hant", defaults) == "HK"
    assert region_for(None, "zh-hant", defaults) == "TW"


def test_rule_texts_read_in_traditional() -> None:
    assert rule_text("不要告诉任何人验证码", "x", "zh-hant") == "不要告訴任何人驗證碼"
    assert rule_text("不要告诉任何人验证码", "Never share codes", "en") == "Never share codes"


def test_evidence_is_escaped_and_the_reply_fits(engine: Engine) -> None:
    # Separators between Chinese characters are skipped when matching but quoted as sent.
    text = "您好，我是快递<script>理赔&专员，您的包裹丢失了，我们三倍理赔，请加客服微信办理"
    verdict = engine.check(text)
    assert any("<script>" in e.text for e in verdict.evidence)
    for lang in LANGS:
        for details in (False, True):
            reply = render_verdict(verdict, lang, "CN", "96110", "ref", details=details)
            assert "<script>" not in reply.html
            assert len(reply.html) <= MAX_MESSAGE
            assert "safe" not in reply.html.lower()
        # The quotes are in the details; the first screen quotes nothing.
        assert "&lt;script&gt;理赔&amp;专员" in reply.html
        card = render_family_card(verdict, lang, "CN", "96110")
        assert "script" not in card and "96110" in card and len(card) <= MAX_MESSAGE


def test_the_first_screen_is_short_and_the_details_hold_the_rest(engine: Engine) -> None:
    """Action first: risk, type, two pieces of advice, the hotline; the stages, the step and
    what comes next on demand. Each button's data fits Telegram's 64 bytes."""
    verdict = engine.check(
        "您好，我是快递理赔专员，您的包裹在运输途中丢失了，我们按三倍价格给您理赔，请加一下客服微信办理。"
    )
    ref = "0b8f7a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"  # a hit's event id
    for lang in LANGS:
        short = render_verdict(verdict, lang, "CN", "96110", ref)
        full = render_verdict(verdict, lang, "CN", "96110", ref, details=True)
        assert short.html.count("• ") == 2 and "96110" in short.html
        assert len(short.html.splitlines()) <= 8
        assert full.html.count("• ") > short.html.count("• ") and "📍" in full.html
        assert "📍" not in short.html
        for reply in (short, full):
            data = [b.data for row in reply.buttons for b in row]
            assert all(len(d.encode()) <= 64 for d in data), data
        assert any(b.data.startswith("dt:d:") for row in short.buttons for b in row)
        assert any(b.data.startswith("dt:s:") for row in full.buttons for b in row)
        group = render_verdict(verdict, lang, "CN", "96110", ref, group=True)
        assert [b.data for row in group.buttons for b in row] == [f"dt:d:{ref}"]


def test_nothing_matched_never_says_safe(engine: Engine) -> None:
    verdict = engine.check("See you at dinner")
    for lang in LANGS:
        html = render_verdict(verdict, lang, "CN", "96110", "ref").html
        assert "safe" not in html.lower() and "安全" not in html
        assert "96110" in html


def test_group_warnings_speak_the_language_of_the_post() -> None:
    from bot.tg.i18n import language_of_text

    assert language_of_text("您好，我是快递理赔专员，您的包裹丢失了", "en") == "zh-hans"
    assert language_of_text("您好，我是快遞理賠專員，您的包裹遺失了", "en") == "zh-hant"
    assert language_of_text("Your parcel is held, pay the fee", "zh-hans") == "en"
    assert language_of_text("12345 !!!", "zh-hant") == "zh-hant"


def test_a_reader_outside_the_mainland_is_never_sent_to_its_hotline(engine: Engine) -> None:
    """Rules' advice names no regional number: the reader's own line is added for them, so a
    Taiwanese reader sees 165 and never 96110, whichever rule matched."""
    from bot.engine.ruletest import iter_examples

    rules_seen = set()
    for _, kind, _, text in iter_examples(engine):
        if kind != "scam":
            continue
        verdict = engine.check(text)
        if verdict.rule is None or verdict.rule.id in rules_seen:
            continue
        rules_seen.add(verdict.rule.id)
        for lang in ("zh-hant", "en"):
            html = render_verdict(verdict, lang, "TW", "165", "ref").html
            assert "96110" not in html, (verdict.rule.id, lang)
            assert "165" in html
    assert len(rules_seen) >= 30


def test_a_taiwanese_reader_reads_taiwanese_advice(engine: Engine) -> None:
    """A Taiwanese reader of a fake customer-service or loan warning is not told about mainland
    credit products or the mainland credit bureau, and reads 轉帳, 掛斷 and 「」 as written in Taiwan."""
    for text in (
        "您好，我是某购物平台客服，您的订单被误设为分期付款，每月都会自动扣款，"
        "需要您到ATM按我的指示操作解除分期",
        "您好，我是贷款专员，您的额度已经批下来了，但您填写的银行卡号有误，资金被冻结，"
        "请先转账3000元解冻费",
    ):
        verdict = engine.check(text)
        assert verdict.risk in ("medium", "high"), text
        tw = render_verdict(verdict, "zh-hant", "TW", "165", "ref", details=True).html
        cn = render_verdict(verdict, "zh-hans", "CN", "96110", "ref", details=True).html
        for mainland in ("借唄", "備用金", "征信中心", "轉賬", "賬戶", "結束通話", "“"):
            assert mainland not in tw, (verdict.rule.id if verdict.rule else None, mainland)
        assert "「" in tw  # the words quoted from the message, as Taiwan quotes
        assert tw != _S2TW.convert(cn)  # not merely the mainland advice in other characters


def test_english_advice_fits_the_readers_country(engine: Engine) -> None:
    toll = engine.check(
        "Toll Services: You have an unpaid toll balance of $4.15. To avoid a late fee of "
        "$50.00, pay now at https://ezpass-tolls.example-pay.com"
    )
    assert toll.rule is not None and toll.rule.id == "en-toll-tax-refund"
    us = render_verdict(toll, "en", "US", "1-877-382-4357", "ref").html
    gb = render_verdict(toll, "en", "GB", "0300 123 2040", "ref").html
    au = render_verdict(toll, "en", "AU", "1300 292 371", "ref").html
    assert "irs.gov" in us and "gov.uk" not in us
    assert "gov.uk" in gb and "irs.gov" not in gb
    assert "gov.uk" not in au and "irs.gov" not in au
