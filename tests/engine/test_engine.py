"""Scoring and the verdict, on small inline rule sets."""

from __future__ import annotations

from bot.engine import Engine
from tests.conftest import RuleDir, mini_rule


def test_a_flow_is_recognised_with_stages_evidence_and_next_steps(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    text = "您的包裹在途中丢失，我们三倍理赔。"
    v = engine.check(text)
    assert v.risk == "medium"
    assert v.rule is not None and v.rule.id == "flow"
    assert [s.id for s in v.stages] == ["pretext", "offer"]
    assert v.furthest_stage is not None and v.furthest_stage.id == "offer"
    assert [s.id for s in v.next_stages] == ["contact"]
    for e in v.evidence:
        assert text[e.start : e.end] == e.text
    assert {e.text for e in v.evidence} >= {"包裹在途中丢失", "三倍理赔"}


def test_three_stages_give_high_risk_and_traditional_works(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    text = "您的包裹已丟失，三倍理賠，請加 V 信 辦理"
    v = engine.check(text)
    assert v.risk == "high"
    assert any(e.text == "加 V 信" for e in v.evidence)


def test_one_clue_is_never_enough(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    assert engine.check("我的包裹丢失了，好烦").risk == "none"


def test_a_link_alone_never_decides(rule_dir: RuleDir) -> None:
    text = mini_rule("flow").replace("entity: [lookalike]", "entity: [url, phone]")
    engine = Engine.from_dir(rule_dir(flow=text))
    v = engine.check("三倍理赔 http://shop-example.com 13812345678")
    assert v.risk == "none"
    assert "shop-example.com" in v.domains


def test_a_brand_lookalike_counts_as_a_claim_not_a_bare_link(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    assert engine.check("三倍理赔 http://jd-lipei.cn").risk == "low"
    assert engine.check("三倍理赔 https://www.jd.com").risk == "none"


def test_negative_signals_pull_a_genuine_notice_down(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    assert engine.check("您的包裹丢失了，三倍理赔").risk != "none"
    assert engine.check("您的包裹丢失了，三倍理赔，请凭取件码领取").risk == "none"


def test_scam_warnings_are_not_scams(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    v = engine.check("警方提醒：谨防诈骗！有人自称客服说包裹丢失、三倍理赔，让你加微信，这是骗局。")
    assert v.risk == "none"


def test_conversation_reports_the_furthest_stage(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    msgs = ["您好，您的包裹丢失了", "我们按三倍理赔给您", "请加微信，我发您理赔链接"]
    v = engine.check(msgs)
    assert v.risk == "high"
    assert v.furthest_stage is not None and v.furthest_stage.id == "contact"
    assert v.next_stages == ()
    for e in v.evidence:
        assert msgs[e.message][e.start : e.end] == e.text
    assert {e.message for e in v.evidence} == {0, 1, 2}


def test_testing_rules_are_counted_but_never_shown(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(shadow=mini_rule("shadow", status="testing")))
    v = engine.check("您的包裹丢失了，三倍理赔")
    assert v.risk == "none"
    assert [s.rule.id for s in v.shadow] == ["shadow"]


def test_disabled_rules_do_nothing(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(off=mini_rule("off", status="disabled")))
    v = engine.check("您的包裹丢失了，三倍理赔")
    assert v.risk == "none" and v.shadow == ()


def test_severity_caps_the_risk(rule_dir: RuleDir) -> None:
    capped = mini_rule("capped").replace("severity: high", "severity: low")
    engine = Engine.from_dir(rule_dir(capped=capped))
    assert engine.check("您的包裹丢失，三倍理赔，请加微信").risk == "low"


def test_json_contract(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    data = engine.check("您的包裹丢失了，三倍理赔").to_json("zh")
    assert {"risk", "rule", "family", "stages", "evidence", "next", "advice"} <= set(data)
    assert data["family"] == "test_family"
    assert data["next"] == ["要你加微信"]
    assert data["advice"] == ["挂断电话。"]
    none = engine.check("明天见").to_json("en")
    assert none["risk"] == "none" and none["rule"] is None and none["evidence"] == []


def test_min_stages_needs_signals_in_several_stages(rule_dir: RuleDir) -> None:
    text = mini_rule("staged").replace("negatives:", "min_stages: 3\nnegatives:")
    engine = Engine.from_dir(rule_dir(staged=text))
    assert engine.check("您的包裹丢失了，三倍理赔").risk == "none"  # two stages only
    assert engine.check("您的包裹丢失了，三倍理赔，请加微信").risk != "none"


EVIDENCE_RULE = """\
id: words
version: 1
status: active
severity: high
family: test_family
title: {zh: 测试, en: Test}
summary: {zh: 测试, en: test}
stages:
  - id: ask
    title: {zh: 要你付款, en: Asks you to pay}
    signals:
      - weight: 3
        regex: ['(支付|付款)']
      - weight: 3
        regex: ['ill', 'refund']
      - weight: 3
        regex: ['compensat']
  - id: act
    title: {zh: 给出链接, en: Gives a link}
    signals:
      - weight: 3
        regex: ['付款到.{0,4}账户', '[0-9]点.{0,4}到期']
advice: {zh: [别付。], en: [Do not pay.]}
examples:
  scam: [请付款到指定账户, you will get compensation and a refund]
  benign: [今天天气不错, 明天见]
"""


def test_evidence_is_whole_words_and_fragments_never_count(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(words=EVIDENCE_RULE))
    # 支付 inside 支付宝 and 付款 inside 分期付款 are other words; "ill" inside "will" too.
    assert engine.score_rule("我用支付宝分期付款买的", "words").stages == ()  # type: ignore[union-attr]
    assert engine.check("I will call you").risk == "none"
    # A stem is quoted up to the end of its word.
    v = engine.score_rule("you get compensation and a refunded fee", "words")
    assert v is not None
    assert {e.text for e in v.evidence} == {"compensation", "refunded"}


def test_a_number_is_quoted_whole(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(words=EVIDENCE_RULE))
    v = engine.score_rule("您有8,800点即将到期", "words")
    assert v is not None
    assert [e.text for e in v.evidence] == ["8,800点即将到期"]


def test_no_two_quotes_overlap_and_risk_agrees_with_the_stage_shown(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(words=EVIDENCE_RULE))
    v = engine.check("请付款到指定账户")
    assert v.risk == "medium"
    quotes = [e for s in v.stages for e in s.evidence]
    # "付款" (stage 1) lies inside "付款到指定账户" (stage 2): it is quoted once, whole.
    assert [e.text for e in quotes] == ["付款到指定账户"]
    assert v.progress is not None and v.progress.id == "act"


def test_a_low_risk_verdict_claims_no_step(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    v = engine.check("三倍理赔 http://jd-lipei.cn")
    assert v.risk == "low"
    assert v.furthest_stage is not None  # the record keeps what matched
    assert v.progress is None  # but the reply says no "step N of M"


def test_a_rule_reads_only_messages_in_its_languages(rule_dir: RuleDir) -> None:
    both = mini_rule("both").replace(
        "phrases: [三倍理赔, 双倍赔偿]", "phrases: [三倍理赔, double refund]"
    )
    zh_only = both.replace("id: both", "id: zh-only").replace(
        "severity: high", "severity: high\nlanguages: [zh]"
    )
    engine = Engine.from_dir(rule_dir(zh_only=zh_only))
    assert engine.check("您的包裹丢失了，三倍理赔").risk != "none"
    # The same flow in English words is not this rule's business.
    assert engine.check("Your 包裹丢失 case: double refund, add me on WhatsApp").risk != "none"
    assert engine.check("Your parcel is lost: double refund, add me on WhatsApp now").risk == "none"
    v = engine.score_rule("Your parcel is lost: double refund, add me on WhatsApp now", "zh-only")
    assert v is not None and v.risk == "none"


def test_a_conversation_continued_message_by_message_reaches_what_it_reaches_whole(
    rule_dir: RuleDir,
) -> None:
    """Webhook workers see a forwarded conversation one message at a time and keep only what
    the engine concluded (signal names), never the text: the verdict must be the same."""
    engine = Engine.from_dir(rule_dir(flow=mini_rule("flow")))
    parts = ["您的包裹已丟失", "三倍理賠", "請加 V 信 辦理"]
    assert [engine.check(p).risk for p in parts] == ["none", "none", "none"]
    carried = None
    risks = []
    for part in parts:
        verdict, carried = engine.check_continuing(part, (), carried)
        risks.append(verdict.risk)
    assert risks == ["none", "medium", "high"]
    assert verdict.furthest_stage is not None and verdict.furthest_stage.id == "contact"
    assert carried is not None and carried.messages == 3
    names = {name for _, name in carried.signals}
    assert all(part not in name for part in parts for name in names)  # names, not quotes
    # The earlier messages' signals are named in their stages, without quotes.
    quoted = {e.text for e in verdict.evidence}
    assert "加 V 信" in quoted and "三倍理賠" not in quoted


def test_bundled_examples_split_into_sentences_score_the_same_continued() -> None:
    import re

    from tests.conftest import ROOT

    engine = Engine.from_dir(ROOT / "rules")
    compared = 0
    for cr in engine.rules.rules:
        for example in cr.rule.examples.scam:
            parts = [p for p in re.split(r"(?<=[。！？!?])\s*", example) if p.strip()]
            if len(parts) < 2:
                continue
            whole = engine.check(parts)
            carried = None
            for part in parts:
                verdict, carried = engine.check_continuing(part, (), carried)
            got = (verdict.risk, verdict.rule and verdict.rule.id, verdict.furthest_stage)
            assert got == (whole.risk, whole.rule and whole.rule.id, whole.furthest_stage), example
            compared += 1
    assert compared >= 40  # the examples written as several sentences


def test_only_the_advice_for_what_the_message_showed(engine: Engine) -> None:
    """A "hi mum, new number" opener gets no bail-money or courier advice; the grandchild in
    jail gets that advice first and no new-number advice."""
    mum = engine.check(
        "Hi Mum, I dropped my phone in the toilet, this is my new number. Can you save it? x"
    )
    assert mum.rule is not None and mum.rule.id == "en-family-impersonation"
    assert "new number" in mum.advice_en[0]
    assert not any("jail" in a or "courier" in a for a in mum.advice_en), mum.advice_en
    assert len(mum.advice_zh) == len(mum.advice_en)
    gran = engine.check(
        "Grandma it's me, I was in a car accident and now I'm in jail. I need $2000 for bail, "
        "please don't tell mom and dad. My lawyer will call you."
    )
    assert gran.rule is not None and gran.rule.id == "en-family-impersonation"
    assert "jail" in gran.advice_en[0]
    assert not any("new number" in a for a in gran.advice_en)
