"""Folding deliberate respellings back to the rule set's words (bot/engine/respell.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine import Engine
from bot.engine.normalize import normalize
from bot.engine.respell import Lexicon
from tests.conftest import RuleDir

LEXICON = Lexicon.build(
    [
        "(优惠|返水|彩金)",
        "流水",
        "百分",
        "真人视讯",
        "送",
        "高",
        "充值",
        "百家乐",
        "百佳",
        "package",
        "locked",
        "(bills?|delivered)",
        "amazon",
        "information",
        "invoice",
        "wells",
        "renew",
        "subscription",
        "bankofamerica",
        "benefits",
        "don't",
    ]
)


def folded(text: str) -> str:
    return normalize(text, LEXICON).text


def test_chinese_homophones_and_variants_fold_to_the_rule_words() -> None:
    assert folded("沋蕙活动") == "优惠活动"
    assert folded("琉氺佰芬之一") == "流水百分之一"
    assert folded("眞朲视讯") == "真人视讯"
    assert folded("餸彩金，髙返水") == "送彩金，高返水"


def test_a_formal_numeral_means_its_number_and_anchors_the_word_around_it() -> None:
    assert folded("充佰送叁捌元") == "充百送三八元"
    # Once 佰 is 百 the window already spells a rule word: a shorter one (百佳) never wins.
    assert folded("佰家乐在线") == "百家乐在线"


def test_everyday_words_beside_nothing_odd_are_left_alone() -> None:
    # 有会 sounds like 优惠, but nothing in it is a respelling sign.
    assert folded("我明天有会，晚点联系") == "我明天有会，晚点联系"
    assert folded("百分百满意") == "百分百满意"


def test_cantonese_words_are_not_evasions() -> None:
    assert folded("我哋冇問題") == "我哋冇问题"


def test_english_lookalike_symbols_and_splits_fold_to_rule_words() -> None:
    assert (
        folded("Your AM/AZON was I0cked, fix your biIls")
        == "your amazon was locked, fix your bills"
    )
    assert folded("The pack-age cannot be deliv-ered, in- formation missing") == (
        "the package cannot be delivered, information missing"
    )
    assert folded("update your p@ckage") == "update your package"


def test_english_words_that_are_not_disguises_stay() -> None:
    assert folded("I Iike it, see you at 3pm, 10k run, e-mail me") == (
        "i iike it, see you at 3pm, 10k run, e-mail me"
    )
    # Part of a link is never respelled.
    assert folded("see amaz0n.shop/x") == "see amaz0n.shop/x"


def test_masked_links_are_unmasked() -> None:
    assert normalize("hxxp://jd-lipei[.]cn/a").text == "http://jd-lipei.cn/a"
    assert normalize("hxxps[:]//a(.)b.com").text == "https://a.b.com"


@given(st.text(alphabet="沋蕙琉氺佰芬眞朲餸髙优惠流水百分 abcI0@-/", max_size=40))
def test_folding_keeps_the_offset_map_exact(text: str) -> None:
    n = normalize(text, LEXICON)
    assert len(n.starts) == len(n.text) == len(n.ends)
    for i in range(len(n.text)):
        assert 0 <= n.starts[i] < n.ends[i] <= len(text)


def test_a_rule_meets_its_words_through_an_evasion(rule_dir: RuleDir) -> None:
    rule = """\
        id: gamble
        version: 1
        status: active
        severity: medium
        family: test_family
        title: {zh: 赌博广告, en: Gambling ad}
        summary: {zh: 测试, en: test}
        stages:
          - id: offer
            title: {zh: 优惠, en: Offer}
            signals:
              - weight: 3
                phrases: [优惠活动]
              - weight: 3
                regex: ['流水(百分|\\d+倍)']
        advice: {zh: [别玩。], en: [Do not play.]}
        examples:
          scam: [优惠活动，流水百分之一返还, 最新优惠活动，流水3倍即可提款]
          benign: [今天天气不错, 商场有优惠]
        """
    engine = Engine.from_dir(rule_dir(gamble=rule))
    text = "沋蕙活动，琉氺佰芬之一"
    v = engine.check(text)
    assert v.risk != "none"
    # Evidence quotes the original characters, not the folded ones.
    assert {e.text for e in v.evidence} == {"沋蕙活动", "琉氺佰芬"}


def test_english_words_glued_or_dotted_apart_become_words() -> None:
    assert folded("Renew_your_bill, YOUR'SUBSCRIPTION' ended") == (
        "renew your bill, your subscription ended"
    )
    assert folded("your invo.ice from W.e.l.l.s") == "your invoice from wells"
    # A link, an abbreviation, a contraction or a compound stays as written.
    assert folded("see wells.com/x, e.g. this, don't, follow-up") == (
        "see wells.com/x, e.g. this, don't, follow-up"
    )


def test_a_small_l_in_a_capital_word_may_be_an_i() -> None:
    assert folded("BANKOFAMERlCA: BENEFlTS waiting") == "bankofamerica: benefits waiting"
    assert folded("Hello world") == "hello world"


SOUND_RULE = """\
id: mules
version: 1
status: active
severity: high
family: test_family
title: {zh: 跑分, en: Money mules}
summary: {zh: 测试, en: test}
stages:
  - id: offer
    title: {zh: 招跑分, en: Recruits mules}
    signals:
      - weight: 3
        sounds_like: [跑分, 冻卡]
      - weight: 3
        phrases: [日结]
advice: {zh: [别做。], en: [Do not.]}
examples:
  scam: [招跑分日结, 泡粉日结高佣]
  benign: [今天天气不错, 明天见]
"""


def test_a_word_matched_by_sound_fires_on_its_homophones(rule_dir: RuleDir) -> None:
    engine = Engine.from_dir(rule_dir(mules=SOUND_RULE))
    for text, quoted in [
        ("招跑芬，日结", "跑芬"),
        ("泡粉日结高佣", "泡粉"),
        ("专业动卡日结", "动卡"),
    ]:
        v = engine.check(text)
        assert v.risk != "none", text
        assert quoted in {e.text for e in v.evidence}
    # Two words that each hold one of the sounds are not the word.
    assert engine.check("我跑了，分日结").risk == "none"


def test_a_sound_shared_with_a_common_word_is_refused(rule_dir: RuleDir) -> None:
    from bot.engine import RuleSetError

    bad = SOUND_RULE.replace("sounds_like: [跑分, 冻卡]", "sounds_like: [时间]")
    with pytest.raises(RuleSetError) as exc:
        Engine.from_dir(rule_dir(mules=bad))
    assert any("sounds_like" in str(p) and "pronounced like" in str(p) for p in exc.value.problems)
