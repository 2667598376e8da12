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
