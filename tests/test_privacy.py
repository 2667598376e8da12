"""Pseudonyms, sealed chat ids, and redaction of what a user submits for review."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.privacy import KeyError_, Pseudonymizer, Sealer, load_or_create_key, redact


def test_pseudonyms_are_stable_keyed_and_not_the_id() -> None:
    a = Pseudonymizer(b"k" * 32)
    assert a(123456789) == a(123456789)
    assert a(123456789) != a(123456780)
    assert Pseudonymizer(b"j" * 32)(123456789) != a(123456789)
    assert "123456789" not in a(123456789) and len(a(123456789)) == 64


def test_demo_key_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    key = load_or_create_key(None, tmp_path, production=False)
    path = tmp_path / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(None, tmp_path, production=False) == key


def test_production_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    with pytest.raises(KeyError_, match="SENTINEL_PSEUDONYM_KEY"):
        load_or_create_key(None, tmp_path, production=True)
    with pytest.raises(KeyError_, match="at least"):
        load_or_create_key("short", tmp_path, production=True)
    assert not (tmp_path / "pseudonym.key").exists()


def test_sealed_chat_ids_open_only_with_the_key() -> None:
    sealer = Sealer(b"k" * 32)
    sealed = sealer.seal(-1001234567890)
    assert "1234567890" not in sealed
    assert sealer.open(sealed) == -1001234567890
    with pytest.raises(Exception):  # noqa: B017 - any authentication failure will do
        Sealer(b"x" * 32).open(sealed)


@pytest.mark.parametrize(
    ("text", "gone", "label"),
    [
        ("请拨打13812345678联系", "13812345678", "[phone]"),
        ("call +44 7700 900123 today", "7700 900123", "[phone]"),
        ("卡号 6222 0212 3456 7894", "6222 0212 3456 7894", "[card]"),
        ("身份证号110101199003074514", "110101199003074514", "[id]"),
        ("HKID A123456(3)", "A123456", "[id]"),
        ("mail me at jane.doe@example.com", "jane.doe@example.com", "[email]"),
        ("您的验证码是 482913，请勿泄露", "482913", "[code]"),
        ("Your code is 7731", "7731", "[code]"),
        ("王先生您好", "王", "[name]"),
        ("Dear Margaret, your parcel", "Margaret", "[name]"),
        ("送到北京市朝阳区建国路88号3栋2单元501室", "建国路88号", "[address]"),
        ("deliver to 221B Baker Street, London", "Baker Street", "[address]"),
        ("电话：１３８１２３４５６７８", "１３８１２３４５６７８", "[phone]"),
        ("加微信 wangjg_1988 详聊", "wangjg_1988", "[handle]"),
        ("电话 138.0013.8000 或 138—0013—8000", "0013", "[phone]"),
        ("電話：０９１２－３４５－６７８", "345", "[phone]"),
        ("I'm John Smith from the bank", "John", "[name]"),
        ("Dear customer Alice Wong, your card", "Alice", "[name]"),
        ("户名王五，请转账", "王五", "[name]"),
        ("欧阳娜娜女士您好", "娜娜", "[name]"),
        ("密码：Abc12345", "Abc12345", "[code]"),
        ("身份證 A123456789", "89", "[id]"),
        ("message me @helpdesk_refund on Telegram", "helpdesk_refund", "[handle]"),
    ],
)
def test_redaction_masks_personal_data(text: str, gone: str, label: str) -> None:
    out = redact(text)
    assert gone not in out, out
    assert label in out, out


def test_redaction_keeps_scam_domains_but_not_their_paths() -> None:
    out = redact("理赔请访问 https://jd-lipei.cn/claim?order=778899&phone=13812345678")
    assert "jd-lipei.cn" in out
    assert "778899" not in out and "13812345678" not in out


def test_an_invalid_id_number_is_still_masked() -> None:
    assert "110101199003074515" not in redact("号码110101199003074515")


def test_amounts_keep_their_decimal_point() -> None:
    assert "£1.99" in redact("Pay £1.99 now")


@pytest.mark.parametrize(
    ("text", "gone", "label"),
    [
        # Names with no honorific before them, and names written with accents.
        ("有问题请联系刘德华处理", "刘德华", "[name]"),
        ("客服经理王明为您服务", "王明", "[name]"),
        ("咨询有限公司王先生", "王", "[name]"),
        ("Please ring Peter Parker about the refund", "Parker", "[name]"),
        ("José García will call you tomorrow", "García", "[name]"),
        ("Dear José García, your parcel is waiting", "García", "[name]"),
        ("Hi Zoë, your order shipped", "Zoë", "[name]"),
        # An address written in lower case, with its flat number and town.
        ("send it to flat 3, 12 high street, leeds", "high street", "[address]"),
        ("send it to flat 3, 12 high street, leeds", "flat 3", "[address]"),
        ("send it to flat 3, 12 high street, leeds", "leeds", "[address]"),
    ],
)
def test_redaction_masks_names_and_addresses_without_cues(text: str, gone: str, label: str) -> None:
    out = redact(text)
    assert gone not in out, out
    assert label in out, out


def test_a_password_ends_where_the_sentence_goes_on() -> None:
    out = redact("密码：abc123，用户名：test，请尽快登录，谢谢")
    assert "abc123" not in out
    assert out.endswith("，用户名：test，请尽快登录，谢谢"), out
    assert redact("登录密码是Qw3rty!请勿告诉他人") == "登录密码是[code]请勿告诉他人"


@pytest.mark.parametrize(
    "text",
    [
        # Ordinary words stay: redaction must leave the message readable for a moderator.
        "请联系客服处理退款",
        "联系方式见官网",
        "我是客服，请问有什么可以帮您",
        "我是常州市公安局的工作人员",
        "我正在寻找王者荣耀的队友",
        "在学校和同学一起玩",
        "It is 5 minutes down the road",
        "flat 20% off everything today",
        "Your password has been reset",
        "Hi Mum, my phone is broken",
        "Dear Customer, your parcel is held",
        "John Lewis summer sale ends soon",
        "the item is valid until tomorrow",
        "online shopping week",
        "Royal Mail: your parcel is waiting",
    ],
)
def test_redaction_leaves_ordinary_words(text: str) -> None:
    assert redact(text) == text


def test_an_ip_link_keeps_its_whole_address() -> None:
    out = redact("login at http://81.2.69.142/secure?u=13812345678 now")
    assert "81.2.69.142/…" in out and "13812345678" not in out


def test_nul_characters_in_a_message_cannot_pick_a_kept_link() -> None:
    out = redact("see jd-lipei.cn and \x000\x00 or \x009\x00")
    assert out.count("jd-lipei.cn") == 1 and "\x00" not in out
