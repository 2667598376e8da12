"""Entity extraction: links, phone numbers, handles, cards, money and codes.

Owns: finding the concrete things a scam message carries (a look-alike domain, a virtual-carrier
phone number, a QQ number, a bank card, an amount, a one-time code) in normalized text, with
spans in normalized coordinates. Entities are signals rules may weigh; on their own they never
decide a verdict (see ``engine``).

The patterns here are fixed, written by us and linear, so they use the standard ``re`` module
(faster than RE2's Python binding on the hot path); every pattern that comes from a rule file
goes through RE2 instead. Linear means: every repeat that can meet a long run of its own
characters is bounded (an amount has at most 21 digits) or starts only where such a run starts
(a lookbehind: an amount never starts inside a number), so no start position rereads a long
stretch of text. ``tests/test_linear_patterns.py`` feeds every pattern adversarial strings.

Speed: a pattern that must not start inside a number begins with its first digit and looks
behind that digit, not the other way round, so ``re`` skips to the next digit in C instead of
trying the pattern at every position; patterns that need a literal ("//", "**", "@") are not
run on text without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import phonenumbers
from rapidfuzz.distance import Levenshtein

# Entity kinds a rule may name in an ``entity`` signal.
ENTITY_KINDS = frozenset(
    {
        "url",
        "masked_link",  # a link with its name hidden ("***.cc", "http://***"): act-now bait
        "shortener",
        "ip_url",
        "apk",
        "lookalike",  # a domain dressed up as a known brand's
        "official_link",  # a link to a known brand's real domain (evidence of a genuine notice)
        "official_number",  # a known brand's official service number, standing alone
        "phone",
        "phone_virtual",  # mainland virtual-carrier ranges (170/171/162/165/167)
        "phone_intl",  # a number with a country code foreign to the message's language
        "phone_premium",  # premium-rate numbers (UK 09xx, 087x)
        "shortcode",  # "text WIN to 80086"
        "qq",
        "wechat",
        "telegram",
        "whatsapp",
        "bank_card",
        "money",
        "code",  # a verification code quoted in the message
    }
)

SHORTENERS = frozenset(
    {
        "bit.ly",
        "t.cn",
        "tinyurl.com",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "t.co",
        "shorturl.at",
        "rb.gy",
        "tiny.cc",
        "s.id",
        "dwz.cn",
        "url.cn",
        "suo.im",
        "u.nu",
        "v.gd",
        "bit.do",
        "qrco.de",
        "tny.im",
        "lnkd.in",
        "x.gd",
        "3.cn",
    }
)

_TWO_LEVEL_SUFFIXES = frozenset(
    {
        "com.cn",
        "net.cn",
        "org.cn",
        "gov.cn",
        "edu.cn",
        "co.uk",
        "org.uk",
        "gov.uk",
        "ac.uk",
        "com.hk",
        "gov.hk",
        "org.hk",
        "com.tw",
        "gov.tw",
        "org.tw",
        "com.sg",
        "gov.sg",
        "com.au",
        "gov.au",
        "co.nz",
        "com.my",
        "co.jp",
        "com.mo",
    }
)

_TLD = (
    r"(?:com|cn|net|org|info|top|xyz|vip|cc|me|io|co|uk|hk|tw|sg|app|site|online|shop|club|"
    r"live|link|ly|gd|at|in|us|ru|tk|ml|ga|cf|gq|icu|buzz|fun|work|ltd|pro|biz|asia|mobi|"
    r"tv|ws|id|my|jp|au|nz|de|fr|ph|vn|th|kh|mo|page|support|help|services|delivery|"
    r"express|post|email|website|store|online|ink|wang|ren|xin|red|kim|win|bid|loan)"
)
_URL_RE = re.compile(
    r"(?:(?:https?|hxxps?)://|www\.)[^\s<>\"'\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+"
    # A name written bare; never the local part of an e-mail address ("zhang.wei.info@163.com").
    r"|(?<![a-z0-9@._-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+" + _TLD + r"(?![a-z0-9@-])"
    r"(?:[/?#][^\s<>\"'\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]*)?"
    # A link written from "//" with a stray sign before its host ("//_9qr.de/x").
    r"|(?<=//)[_@](?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,18}"
    r"(?:/[^\s<>\"'\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]*)?"
    # Any top-level domain when a path follows ("intentweav.shopping/nrfib6").
    r"|(?<![a-z0-9@._-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,18}"
    r"/[^\s<>\"'\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]{3,}"
)
# A link whose name is starred out, as scam SMS print them to slip past filters.
# Every run starts where a host can start and every repeat is bounded, so the cost stays
# linear in the message (a long run of letters or digits is read once, not once per start).
_MASKED_URL_RE = re.compile(
    r"(?:(?:https?|hxxps?)://|www\.|(?<![a-z0-9*./-]))[a-z0-9-]{0,63}\*{2,}[a-z0-9*-]{0,63}\."
    r"(?:[a-z0-9-]{1,63}\.){0,5}[a-z]{2,10}(?![a-z0-9])|(?:https?|hxxps?)://\*{2,}"
)
# Every link _URL_RE finds has "//" or a letter or digit, a dot and a non-space in a row.
_LINK_HINT_RE = re.compile(r"[a-z0-9]\.\S")
_IP_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
# Only ever searched, as a guard before the phone-number library: a leading "+" adds nothing.
_DIGITS_RUN_RE = re.compile(r"\d[\d \-()]{5,}\d")
_QQ_RE = re.compile(r"(?:qq|q号|qq号|qq群|群号)[:：\s]{0,3}(\d{5,11})(?!\d)")
_WECHAT_RE = re.compile(r"(?:微信号?|微信id)[:：\s]{0,3}([a-z][a-z0-9_-]{5,19})")
_TELEGRAM_RE = re.compile(
    r"(?:t\.me|telegram\.me)/[a-z0-9_+]{3,}|(?<![a-z0-9._%+-])@[a-z][a-z0-9_]{4,31}(?![a-z0-9_.]*\.[a-z])"
    r"|telegram号?[:：\s]{0,3}@?[a-z][a-z0-9_]{4,31}"
)
_WHATSAPP_RE = re.compile(
    r"wa\.me/\+?\d{6,15}|whatsapp://\S+|chat\.whatsapp\.com/\S+"
    r"|whatsapp[:：\s]{0,3}\+?\d[\d -]{6,16}\d"
)
_CARD_RE = re.compile(r"\d(?<!\d\d)(?:[ -]?\d){12,18}(?!\d)")
_MONEY_RE = re.compile(
    r"(?:[¥$£€]|rmb|人民币|usd|usdt|hk\$|nt\$|s\$)\s?\d[\d,]{0,20}(?:\.\d{1,4})?"
    r"(?:\s?(?:万|千|百|k|w|m))?"
    # An amount starts where a number starts (never inside one) and is at most 21 digits long.
    r"|\d(?<![\d,.]\d)[\d,]{0,20}(?:\.\d{1,4})?\s?(?:万元|万|千元|元|块钱|块|美元|美金|港币|台币|usdt|u(?![a-z])|"
    r"pounds?|dollars?|usd|gbp|rmb|bucks)"
)
_CODE_RE = re.compile(
    r"(?:验证码|校验码|动态码|动态密码|短信码|code|otp|pin|passcode)[^\d\n]{0,10}(\d{4,8})(?!\d)"
)
_SHORTCODE_RE = re.compile(
    r"(?:text|txt|send|reply|sms)\s+(?:[a-z0-9]+\s+){0,3}to\s+(\d{5,6})(?!\d)"
)
_STANDALONE_NUMBER_RE = re.compile(r"\d(?<![\d.-]\d)\d{4,7}(?![\d.-])")
_UK_PREMIUM_RE = re.compile(r"0(?<!\d0)(?:9\d{9}|87\d{8}|871\d{7}|70\d{8})(?!\d)")
_CN_VIRTUAL_PREFIXES = ("170", "171", "162", "165", "167")


@dataclass(frozen=True, slots=True)
class Entity:
    """One thing found in the message. ``start``/``end`` are normalized offsets, or -1 for
    links that came as hidden Telegram entities and have no place in the text."""

    kind: str
    value: str
    start: int
    end: int
    detail: str = ""


@dataclass(frozen=True)
class Brand:
    name: str
    tokens: tuple[str, ...]  # what the brand's name looks like inside a domain
    domains: tuple[str, ...]  # registered domains the brand really uses
    numbers: tuple[str, ...] = ()  # official service numbers (for impersonation checks)


@dataclass(frozen=True)
class BrandIndex:
    brands: tuple[Brand, ...] = ()
    official: frozenset[str] = field(default_factory=frozenset)
    numbers: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(cls, brands: Iterable[Brand]) -> BrandIndex:
        bl = tuple(brands)
        return cls(
            bl,
            frozenset(d for b in bl for d in b.domains),
            frozenset(n for b in bl for n in b.numbers),
        )

    def lookalike(self, host: str) -> Brand | None:
        """The brand ``host`` imitates, if it names one but is not one of its domains."""
        reg = registered_domain(host)
        if reg in self.official:
            return None
        labels = host.split(".")
        body = ".".join(labels[: max(1, len(labels) - (2 if "." in reg[:-1] else 1))])
        tokens = {t for t in re.split(r"[.\-_]+", body) if t}
        tokens |= {t for t in re.split(r"[.\-_\d]+", body) if t}
        folded = [_unleet(t) for t in re.split(r"[.\-_]+", body) if t]
        for brand in self.brands:
            for bt in brand.tokens:
                if bt in tokens:
                    return brand
                if len(bt) >= 6 and any(
                    bt in t or (len(t) >= 6 and Levenshtein.distance(bt, t) <= 1) for t in folded
                ):
                    return brand
        return None


_LEET = str.maketrans({"0": "o", "1": "l", "3": "e", "5": "s", "4": "a", "7": "t", "8": "b"})


def _unleet(token: str) -> str:
    return token.translate(_LEET)


def registered_domain(host: str) -> str:
    """The part of ``host`` its owner registered ("jd-lipei.cn" of "a.jd-lipei.cn"); an IPv4
    address is its own (its last two numbers name nothing)."""
    if _IP_RE.match(host):
        return host
    labels = host.strip(".").split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _TWO_LEVEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def host_of(url: str) -> str:
    u = re.sub(r"^(?:https?|hxxps?)://", "", url.strip().lower())
    host = re.split(r"[/?#]", u, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].lstrip("_")  # user:password@, :port
    return host.strip(".").removeprefix("www.") if host.startswith("www.") else host.strip(".")


def _url_entities(value: str, start: int, end: int, brands: BrandIndex) -> list[Entity]:
    value = value.rstrip(".,;:!?)]}'\"")
    host = host_of(value)
    # A host written as one decimal number is an IPv4 address ("http://3260518168/").
    decimal_ip = host.isdigit() and 7 <= len(host) <= 10 and int(host) < 2**32
    if not host or ("." not in host and not decimal_ip):
        return []
    end = start + len(value) if start >= 0 else -1
    kinds = ["url"]
    if _IP_RE.match(host) or decimal_ip:
        kinds.append("ip_url")
    if registered_domain(host) in SHORTENERS or host in SHORTENERS:
        kinds.append("shortener")
    if value.split("?")[0].endswith(".apk"):
        kinds.append("apk")
    if registered_domain(host) in brands.official or host in brands.official:
        kinds.append("official_link")
    out = [Entity(kind, value, start, end, host) for kind in kinds]
    brand = brands.lookalike(host)
    if brand is not None:
        out.append(Entity("lookalike", value, start, end, brand.name))
    return out


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every real bank card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _phones(text: str, has_cjk: bool) -> list[Entity]:
    if not _DIGITS_RUN_RE.search(text):
        return []
    out: list[Entity] = []
    # English messages come from the UK and from North America alike: a number is read as
    # British first, then as North American ("855-510-1666" has no country code).
    regions = ("CN",) if has_cjk else ("GB", "US")
    home_code = 86 if has_cjk else 44
    try:
        found: list[phonenumbers.PhoneNumberMatch] = []
        for region in regions:
            for m in phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.VALID
            ):
                if not any(f.start < m.end and m.start < f.end for f in found):
                    found.append(m)
        for m in sorted(found, key=lambda m: m.start):
            num = m.number
            e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
            out.append(Entity("phone", e164, m.start, m.end))
            national = str(num.national_number)
            if num.country_code == 86 and national.startswith(_CN_VIRTUAL_PREFIXES):
                out.append(Entity("phone_virtual", e164, m.start, m.end))
            if num.country_code != home_code and num.country_code not in (
                1,
                44,
                86,
                852,
                853,
                886,
                65,
            ):
                out.append(Entity("phone_intl", e164, m.start, m.end))
            if phonenumbers.number_type(num) == phonenumbers.PhoneNumberType.PREMIUM_RATE:
                out.append(Entity("phone_premium", e164, m.start, m.end))
    except Exception:  # noqa: BLE001 - a library fault on odd input must not cost a verdict
        return out
    return out


def extract(text: str, brands: BrandIndex, links: Sequence[str] = ()) -> list[Entity]:
    """Find entities in normalized ``text``; ``links`` are hidden links (no place in text)."""
    out: list[Entity] = []
    has_cjk = any("\u4e00" <= c <= "\u9fff" for c in text)
    url_spans: list[tuple[int, int]] = []
    if "//" in text or _LINK_HINT_RE.search(text):
        for m in _URL_RE.finditer(text):
            ents = _url_entities(m.group(0), m.start(), m.end(), brands)
            out.extend(ents)
            if ents:
                url_spans.append((m.start(), m.end()))
    if "**" in text:
        for m in _MASKED_URL_RE.finditer(text):
            if not any(s <= m.start() < e for s, e in url_spans):
                out.append(Entity("url", m.group(0), m.start(), m.end()))
                out.append(Entity("masked_link", m.group(0), m.start(), m.end()))
                url_spans.append((m.start(), m.end()))
    for link in links:
        # A hidden link has no place in the text, but keeps its kinds.
        out.extend(_url_entities(link.lower(), -1, -1, brands))

    def inside_url(a: int) -> bool:
        return any(s <= a < e for s, e in url_spans)

    out.extend(p for p in _phones(text, has_cjk) if not inside_url(p.start))
    for m in _UK_PREMIUM_RE.finditer(text):
        if not any(e.kind == "phone_premium" and e.start <= m.start() < e.end for e in out):
            out.append(Entity("phone_premium", m.group(0), m.start(), m.end()))
    if brands.numbers:
        for m in _STANDALONE_NUMBER_RE.finditer(text):
            if m.group(0) in brands.numbers:
                out.append(Entity("official_number", m.group(0), m.start(), m.end()))
    for m in _SHORTCODE_RE.finditer(text):
        out.append(Entity("shortcode", m.group(1), m.start(1), m.end(1)))
    for m in _QQ_RE.finditer(text):
        out.append(Entity("qq", m.group(1), m.start(), m.end()))
    for m in _WECHAT_RE.finditer(text):
        out.append(Entity("wechat", m.group(1), m.start(), m.end()))
    if "@" in text or "t.me" in text or "telegram" in text:
        for m in _TELEGRAM_RE.finditer(text):
            if not inside_url(m.start()) or "t.me" in m.group(0):
                out.append(Entity("telegram", m.group(0), m.start(), m.end()))
    if "wa.me" in text or "whatsapp" in text:
        for m in _WHATSAPP_RE.finditer(text):
            out.append(Entity("whatsapp", m.group(0), m.start(), m.end()))
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and digits[0] in "3456" and luhn_valid(digits):
            out.append(Entity("bank_card", digits[-4:], m.start(), m.end()))
    for m in _MONEY_RE.finditer(text):
        if not inside_url(m.start()):
            out.append(Entity("money", m.group(0), m.start(), m.end()))
    for m in _CODE_RE.finditer(text):
        out.append(Entity("code", m.group(1), m.start(), m.end()))
    return out
