"""Entity extraction: links, numbers, handles, cards, money and codes."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.engine.extract import extract, registered_domain
from bot.engine.normalize import normalize


def kinds(engine: Engine, text: str, links: tuple[str, ...] = ()) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in extract(normalize(text).text, engine.rules.brands, links):
        out.setdefault(e.kind, []).append(e.detail or e.value)
    return out


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("Redeliver at royalmail-redeliver-uk.com today", "Royal Mail"),
        ("理赔请访问 http://jd-lipei.cn/claim", "JD.com"),
        ("Verify at https://paypa1-secure.com/login", "PayPal"),
        ("pay toll at ezpass-toll-service.top", "E-ZPass / tolls"),
    ],
)
def test_lookalike_domains_name_the_brand(engine: Engine, text: str, brand: str) -> None:
    assert brand in kinds(engine, text).get("lookalike", [])


@pytest.mark.parametrize(
    "text",
    [
        "Track it on https://www.royalmail.com/track",
        "京东 https://item.jd.com/100.html",
        "see www.apple.com",
    ],
)
def test_official_domains_are_not_lookalikes(engine: Engine, text: str) -> None:
    found = kinds(engine, text)
    assert "url" in found
    assert "lookalike" not in found


def test_link_kinds(engine: Engine) -> None:
    found = kinds(engine, "下载 http://45.12.3.9/app/refund.apk 或 bit.ly/3xYz")
    assert "ip_url" in found and "apk" in found and "shortener" in found


def test_hidden_links_are_checked(engine: Engine) -> None:
    found = kinds(engine, "点这里领取", links=("https://jd-lipei.cn/x",))
    assert "JD.com" in found["lookalike"]


def test_phone_numbers(engine: Engine) -> None:
    found = kinds(engine, "请回电 17012345678 或 +855 12 345 678")
    assert "phone_virtual" in found
    assert "phone_intl" in found
    assert "phone_premium" in kinds(engine, "To claim call 09061701461 now")


def test_handles(engine: Engine) -> None:
    found = kinds(
        engine, "加QQ：12345678，微信号：abc_12345，或 t.me/helpdesk99，wa.me/447700900123"
    )
    assert {"qq", "wechat", "telegram", "whatsapp"} <= set(found)


def test_bank_cards_need_a_valid_luhn_checksum(engine: Engine) -> None:
    assert "bank_card" in kinds(engine, "卡号 6222 0212 3456 7894")  # valid Luhn
    assert "bank_card" not in kinds(engine, "卡号 6222 0212 3456 7895")


def test_money_and_codes(engine: Engine) -> None:
    found = kinds(engine, "赔偿您 300元，验证码是 482913，另付 £250")
    assert len(found["money"]) == 2
    assert "code" in found
    assert "shortcode" in kinds(engine, "Txt WIN to 80086 now")


def test_official_service_numbers(engine: Engine) -> None:
    assert "official_number" in kinds(engine, "如有疑问请致电95588")
    assert "official_number" not in kinds(engine, "订单号 2095588123")


@pytest.mark.parametrize(
    "text",
    ["请登录***.cc领取积分", "请登录 ***.cc 领取", "visit http://*** to claim"],
)
def test_a_starred_out_link_is_a_masked_link(engine: Engine, text: str) -> None:
    found = kinds(engine, text)
    assert "masked_link" in found and "url" in found


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("Get a free gift at intentweav.shopping/nrFIB6", "intentweav.shopping"),
        ("Tap mastermulticentro.com/ss to DENY", "mastermulticentro.com"),
        ("see www.x[.]com now", "x.com"),
        ("hxxp://jd-lipei[.]cn/claim", "jd-lipei.cn"),
    ],
)
def test_links_with_any_ending_or_masked_dots_are_found(
    engine: Engine, text: str, host: str
) -> None:
    assert host in kinds(engine, text).get("url", [])


def test_a_sentence_without_a_space_after_the_full_stop_is_not_a_link(engine: Engine) -> None:
    assert "url" not in kinds(engine, "I am fine.Thanks/ok")


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("open http://3260518168/claim now", "3260518168"),
        ("fix your bills now! //_9qr.de/bvb2Bm", "9qr.de"),
        ("see //@risu.io/x today", "risu.io"),
    ],
)
def test_links_in_odd_shapes_are_found(engine: Engine, text: str, host: str) -> None:
    found = kinds(engine, text)
    assert host in found.get("url", []), found


def test_north_american_numbers_in_english_text_are_phone_numbers(engine: Engine) -> None:
    assert kinds(engine, "If this was not you call 855-510-1666 now").get("phone")
    assert kinds(engine, "Call our UK line 020 7946 0018").get("phone")


def test_a_whatsapp_chat_link_is_a_whatsapp_contact(engine: Engine) -> None:
    assert kinds(engine, "join whatsapp://chat/?code=AbC12345").get("whatsapp")


def _best_time(fn: object, text: str, rounds: int = 7) -> float:
    """CPU time of this thread (not the wall clock, which also counts what other processes on
    a busy machine take): the best of ``rounds`` calls."""
    import time

    assert callable(fn)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.thread_time()
        fn(text)
        best = min(best, time.thread_time() - t0)
    return best


@pytest.mark.parametrize("unit", ["1", "1,", "a", "a-", "*", "a*", "8.", "1 "])
def test_extraction_work_grows_linearly_with_hostile_input(engine: Engine, unit: str) -> None:
    """Four times the input may cost about four times the work, never sixteen (a quadratic
    pattern): both sizes are measured in this run, best of several tries."""

    def run(text: str) -> None:
        extract(text, engine.rules.brands)

    small = unit * (1024 // len(unit))
    large = unit * (4096 // len(unit))
    run(large)  # warm up
    assert _best_time(run, large) <= 9 * max(_best_time(run, small), 1e-5)


def test_an_email_address_is_no_link(engine: Engine) -> None:
    """The local part of an e-mail address is a person's, not a domain to store."""
    found = kinds(engine, "请发资料到 zhang.wei.info@163.com 谢谢")
    assert "url" not in found, found
    assert engine.check("请发资料到 zhang.wei.info@163.com 谢谢").domains == ()
    # A link beside an address is still one.
    assert "jd-lipei.cn" in engine.check("mail a.b@qq.com or visit jd-lipei.cn").domains


def test_an_ip_link_is_stored_as_its_whole_address(engine: Engine) -> None:
    assert registered_domain("45.12.3.9") == "45.12.3.9"
    assert engine.check("下载 http://45.12.3.9/app/refund.apk").domains == ("45.12.3.9",)
    assert registered_domain("a.jd-lipei.cn") == "jd-lipei.cn"
    assert registered_domain("x.gov.uk") == "x.gov.uk"
