"""Pseudonyms, sealed chat references and redaction of personal data.

Owns: everything that turns identifying data into something safe to store.
- ``Pseudonymizer``: keyed HMAC-SHA256 of a Telegram id. Without the key the id space cannot be
  enumerated, and rows for one person can still be found (for /mydata and /forget).
- ``Sealer``: authenticated encryption (AES-GCM) of a chat id that the bot must be able to send
  to later (digest subscribers). The stored value is not a raw id; the key lives only in the
  environment (or, for the local demo, in the data directory with owner-only permissions).
- ``redact``: masks phone numbers, bank cards, ID numbers, emails, verification codes, messenger
  handles, names after honorifics and street addresses in text a user explicitly submits for
  review. Link domains stay (scam infrastructure); link paths go (they can carry a victim's
  tracking token).

Imports only the standard library, ``cryptography``, ``phonenumbers`` and ``bot.engine``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import phonenumbers
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.engine.extract import luhn_valid

KEY_FILE = "pseudonym.key"
MIN_KEY_BYTES = 16


class KeyError_(Exception):
    """The pseudonym key is missing or unusable; the message says what to do."""


def load_or_create_key(env_value: str | None, data_dir: Path, *, production: bool) -> bytes:
    """The pseudonym key: from the environment, or (demo only) a file in ``data_dir`` that is
    created once with owner-only permissions."""
    if env_value:
        key = env_value.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise KeyError_(f"SENTINEL_PSEUDONYM_KEY must be at least {MIN_KEY_BYTES} characters")
        return key
    if production:
        raise KeyError_("production mode needs SENTINEL_PSEUDONYM_KEY in the environment")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < MIN_KEY_BYTES:
            raise KeyError_(f"{path} is damaged; delete it to make a new key") from None
        return key
    key = secrets.token_hex(32).encode("ascii")
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


class Pseudonymizer:
    """Keyed, stable pseudonyms: the same id and key always give the same pseudonym."""

    def __init__(self, key: bytes) -> None:
        self._key = hmac.new(key, b"sentinel/pseudonym/v1", hashlib.sha256).digest()

    def __call__(self, telegram_id: int) -> str:
        return hmac.new(self._key, str(telegram_id).encode("ascii"), hashlib.sha256).hexdigest()


class Sealer:
    """Reversible, authenticated encryption of a chat id for later delivery."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(hmac.new(key, b"sentinel/seal/v1", hashlib.sha256).digest())

    def seal(self, chat_id: int) -> str:
        nonce = secrets.token_bytes(12)
        box = self._aead.encrypt(nonce, str(chat_id).encode("ascii"), b"chat")
        return base64.urlsafe_b64encode(nonce + box).decode("ascii")

    def open(self, sealed: str) -> int:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        return int(self._aead.decrypt(raw[:12], raw[12:], b"chat").decode("ascii"))


# --- redaction -----------------------------------------------------------------------------

_URL_RE = re.compile(r"(?i)\b((?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,})(?::\d+)?(/[^\s]*)?")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CN_ID_RE = re.compile(r"(?<![0-9])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![0-9])")
_HK_ID_RE = re.compile(r"\b[A-Z]{1,2}\d{6}\s?\(?[0-9A]\)?")
_TW_ID_RE = re.compile(r"\b[A-Z][12]\d{8}\b")
_CODE_RE = re.compile(
    r"(?i)(验证码|校验码|动态码|动态密码|短信码|密码|code|otp|pin|passcode)([^\d\n]{0,10})(\d{4,8})"
)
_DIGITS_RE = re.compile(r"(?<![0-9A-Za-z])\+?\d(?:[\d \-]{4,22})\d(?![0-9A-Za-z])")
_CN_NAME_RE = re.compile(
    r"(?:我叫|我是|姓名[:：]?|名字[:：]?|联系人[:：]?|收件人[:：]?|收款人[:：]?|户名[:：]?|"
    r"持卡人[:：]?|账户名[:：]?|開戶名[:：]?|户主[:：]?)\s?([\u4e00-\u9fff]{2,4})"
    r"|([\u4e00-\u9fff]{1,3})(?=(?:先生|女士|小姐|老师|经理|警官|同志|阿姨|叔叔|律师|医生|主任|老板))"
)
_EN_NAME_RE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr|Dear|Hi|Hello)\.?\s+(?:(?:customer|client|member|sir|madam)\s+)?"
    r"([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"
    r"|(?i:\bmy name is\s+|\bi am\s+|\bi'm\s+|\bthis is\s+)([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"
    r"|(?i:\b(?:account name|name on (?:the )?card|cardholder|payee)[:\s]+)"
    r"([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"
)
_PASSWORD_RE = re.compile(r"(?i)(密码|口令|password|passwd|pwd|pin)(\s*(?:是|为|is|:|：)?\s*)(\S+)")
_CN_ADDRESS_RE = re.compile(
    r"[\u4e00-\u9fff\d]{2,20}?(?:省|市|区|县|镇|乡|路|街|大道|巷|弄|村|小区|大厦|花园|公寓)"
    r"[\u4e00-\u9fff\d\-]{0,20}?\d+[\-\d]*(?:号楼|号|栋|幢|单元|室|楼|层)(?:[\d\-]+(?:室|号))?"
)
_EN_ADDRESS_RE = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|"
    r"Close|Way|Court|Ct|Crescent|Place|Pl|Terrace|Gardens|Boulevard|Blvd)\b\.?"
    r"|\b(?:Flat|Apt|Apartment|Unit|Suite)\s*\d+[A-Za-z]?\b"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"
)
_HANDLE_RE = re.compile(
    r"(?i)((?:微信号?|薇信|v信|vx|wx|wechat|telegram|tg|飞机|whatsapp|line|qq号?|ig|instagram|id)"
    r"[:：\s]{0,3})([a-z][\w-]{4,29})"
)
_AT_HANDLE_RE = re.compile(r"(?<![\w.])@[A-Za-z]\w{3,31}")
_DOOR_RE = re.compile(r"\d+[\-\d]*(?:号楼|栋|幢|单元|室|层)")
_ADDRESS_RUN_RE = re.compile(r"\[address\](?:[\s,，]*\[address\])+")
# Full-width digits and letters become ASCII so "１３８…" is masked too; punctuation stays as
# written, so the moderator reads the message as the user sent it.
_FOLD = {
    **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None),
    **{cp: chr(cp - 0xFEE0) for cp in range(0xFF10, 0xFF1A)},
    **{cp: chr(cp - 0xFEE0) for cp in range(0xFF21, 0xFF3B)},
    **{cp: chr(cp - 0xFEE0) for cp in range(0xFF41, 0xFF5B)},
    0xFF20: "@",
    0xFF0B: "+",
    0xFF0E: ".",
    0xFF0D: "-",
}
# Separators people put inside long numbers: "138.0013.8000", "138—0013—8000". Short ones
# such as amounts ("1.99") keep their dot.
_SPLIT_NUMBER = re.compile(r"\d+(?:[.\u2014\u2013\u2012\u2010\u00b7/_]\d+)+")


def _join_long_number(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return digits if len(digits) >= 7 else m.group(0)


def _cn_id_valid(s: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(ch) * w for ch, w in zip(s[:17], weights, strict=True))
    return "10X98765432"[total % 11] == s[17].upper()


def _digit_kind(token: str) -> str:
    digits = re.sub(r"\D", "", token)
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "[card]"
    try:
        region = None if token.startswith("+") else "CN"
        num = phonenumbers.parse(token, region)
        if phonenumbers.is_possible_number(num):
            return "[phone]"
    except phonenumbers.NumberParseException:
        pass
    return "[number]"


def redact(text: str) -> str:
    """Mask personal data in ``text``. Link domains stay; everything else that identifies a
    person (or could) is replaced by a bracketed label such as ``[phone]``."""
    text = text.translate(_FOLD)
    # Links first, so their digits are not mistaken for phone numbers: keep only the host.
    links: list[str] = []

    def keep_link(m: re.Match[str]) -> str:
        if m.group(0).count(".") < 1 or _EMAIL_RE.fullmatch(m.group(0)):
            return m.group(0)
        host = m.group(1)
        links.append(host + ("/…" if m.group(2) and len(m.group(2)) > 1 else ""))
        return f"\x00{len(links) - 1}\x00"

    text = _EMAIL_RE.sub("[email]", text)
    text = _URL_RE.sub(keep_link, text)
    text = _CN_ID_RE.sub(lambda m: "[id]" if _cn_id_valid(m.group(0)) else "[number]", text)
    text = _TW_ID_RE.sub("[id]", text)
    text = _HK_ID_RE.sub("[id]", text)
    text = _HANDLE_RE.sub(lambda m: f"{m.group(1)}[handle]", text)
    text = _AT_HANDLE_RE.sub("@[handle]", text)
    text = _PASSWORD_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}[code]", text)
    text = _CODE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}[code]", text)
    text = _CN_ADDRESS_RE.sub("[address]", text)
    text = _EN_ADDRESS_RE.sub("[address]", text)
    text = _DOOR_RE.sub("[address]", text)
    text = _ADDRESS_RUN_RE.sub("[address]", text)
    text = _DIGITS_RE.sub(
        lambda m: _digit_kind(m.group(0)), _SPLIT_NUMBER.sub(_join_long_number, text)
    )
    text = _CN_NAME_RE.sub(_mask_name_groups, text)
    text = _EN_NAME_RE.sub(_mask_name_groups, text)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], text)


def _mask_name_groups(m: re.Match[str]) -> str:
    whole = m.group(0)
    for g in range(1, (m.lastindex or 0) + 1):
        name = m.group(g)
        if name:
            start = m.start(g) - m.start(0)
            return whole[:start] + "[name]" + whole[start + len(name) :]
    return whole
