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

Imports only the standard library, ``cryptography``, ``phonenumbers``, ``re2`` and ``bot.engine``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

import phonenumbers
import re2
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
#
# Every pattern here reads text a user sent, so every one is RE2: its cost grows linearly with
# the text whatever the text is (under ``re``, 4,096 digits froze a worker for minutes). RE2 has
# no lookaround: where a pattern needs "not preceded by" or "not followed by", it captures the
# neighbour, or the replacement function looks at it. Every repeat is bounded as well, so
# each match reads a bounded stretch of text. ``tests/test_linear_patterns.py`` feeds each
# pattern adversarial strings and compares the cost of 1,024 and 4,096 characters.


def _re2(pattern: str) -> Any:
    opts = re2.Options()
    opts.log_errors = False
    return re2.compile(pattern, opts)


# Latin letters beyond ASCII (José, García, Zoë).
_LATIN_EXTRA = r"\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{24F}"
# Where a link path or a password ends: whitespace, quotes, Chinese text and punctuation.
_STOP = r"\s\p{Z}<>\"'\x{3000}-\x{303F}\x{4E00}-\x{9FFF}\x{FF00}-\x{FFEF}"
_URL_RE = _re2(
    r"(?i)\b((?:https?://)?(?:[a-z0-9-]{1,63}\.){1,10}[a-z]{2,24}"
    r"|https?://\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?(/[^" + _STOP + r"]{0,1000})?"
)
_EMAIL_RE = _re2(r"[\w.+\-" + _LATIN_EXTRA + r"]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# Eighteen characters of an ID number. "No digit before, no digit after" (a lookaround under
# ``re``) is checked in code: a match inside a longer run of digits is none.
_CN_ID_RE = _re2(r"\d{17}[\dXx]")
_CN_ID_SHAPE = _re2(r"\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx]")
_HK_ID_RE = _re2(r"\b[A-Z]{1,2}\d{6}\s?\(?[0-9A]\)?")  # neighbours checked in _mask_hk_id
_TW_ID_RE = _re2(r"\b[A-Z][12]\d{8}\b")
_CODE_RE = _re2(
    r"(?i)(验证码|校验码|动态码|动态密码|短信码|密码|\b(?:code|otp|pin|passcode))"
    r"([^\d\n]{0,10})(\d{4,8})"
)
# Group 1 is what stands before a number: the start of the text, a sign that is neither a
# letter nor a digit, or a messenger's letters glued to it ("加Q1265522423", "VX1375…").
# What follows the number is checked in code.
_DIGITS_RE = _re2(r"(^|[^0-9A-Za-z]|(?i:qq|vx|wx|tg|[qv]))(\+?\d[\d \-]{4,22}\d)")
# A password is written in ASCII; it ends where Chinese text or punctuation starts, so
# "密码：abc123，用户名…" masks "abc123" and keeps the rest of the line.
_PASSWORD_RE = _re2(
    r"(?i)(密码|口令|\bpassword|\bpasswd|\bpwd|\bpin)"
    r"([\s\p{Z}]{0,3}(?:是|为|is|:|：|=)?[\s\p{Z}]{0,3})([!-~]{1,64})"
)
_CN_ADDRESS_RE = _re2(
    r"[\x{4E00}-\x{9FFF}\d]{2,20}?(?:省|市|区|县|镇|乡|路|街|大道|巷|弄|村|小区|大厦|花园|公寓)"
    r"[\x{4E00}-\x{9FFF}\d\-]{0,20}?\d{1,6}[\-\d]{0,12}(?:号楼|号|栋|幢|单元|室|楼|层)"
    r"(?:[\d\-]{1,12}(?:室|号))?"
)
_DOOR_RE = _re2(r"\d[\d\-]{0,15}(?:号楼|栋|幢|单元|室|层)")
_STREET_WORDS = (
    "street|st|road|rd|avenue|ave|lane|ln|drive|close|way|court|ct|crescent|place|pl|terrace|"
    "gardens|boulevard|blvd|square|sq|grove|mews|row|parade"
)
# A house number, one to three words and a street word: "221B Baker Street", "12 high street".
# Words written in lower case are checked in code, so "5 minutes down the road" stays.
_STREET_RE = _re2(
    r"(?i)\b(\d{1,5}[a-z]?)[ \t]+((?:[a-z][a-z'’\-]{0,20}[ \t]+){1,3})(" + _STREET_WORDS + r")\b\.?"
)
_FLAT_RE = _re2(r"(?i)\b(?:flat|apt|apartment|unit|suite)[ \t]*(?:no\.?[ \t]*)?\d{1,5}[a-z]?\b")
_POSTCODE_RE = _re2(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
# The town after a street ("[address], leeds"), taken when the address ends there.
_TOWN_RE = _re2(r"\[address\],[ \t]*([A-Za-z][A-Za-z'\-]{1,20}(?:[ \t][A-Za-z][A-Za-z'\-]{1,20})?)")
_ADDRESS_RUN_RE = _re2(r"\[address\](?:[\s,，]{0,8}\[address\])+")
_HANDLE_RE = _re2(
    r"(?i)((?:微信号?|薇信|v信|飞机|qq号?|"
    r"\b(?:vx|wx|wechat|telegram|tg|whatsapp|line|qq号?|ig|instagram|id))[:：\s]{0,3})"
    r"([a-z][\w-]{4,29})"
)
_AT_HANDLE_RE = _re2(r"@[A-Za-z]\w{3,31}")
_PLACEHOLDER_RE = _re2(r"\x00(\d{1,5})\x00")
# Full-width digits and letters become ASCII so "１３８…" is masked too; punctuation stays as
# written, so the moderator reads the message as the user sent it. NUL goes: it marks the
# links set aside while the rest is masked.
_FOLD = {
    0: None,
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
_SPLIT_NUMBER = _re2(r"\d{1,20}(?:[.\x{2014}\x{2013}\x{2012}\x{2010}\x{B7}/_]\d{1,20}){1,10}")

# --- names ---------------------------------------------------------------------------------
# A Chinese name is a surname and one or two more characters. After a label that announces a
# name ("户名", "收件人") any two to four characters are taken; after words that often precede
# a name ("联系", "我是") and before a title ("先生", "经理") only a known surname starts one.
_CN_SURNAMES_2 = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 令狐 夏侯 长孙 宇文 司徒 歐陽 諸葛 東方 "
    "長孫 端木 独孤 南宫 西门 百里 呼延 轩辕".split()
)
_CN_SURNAMES_1 = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦"
    "俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房"
    "滕屈饶解牟艾尤阳时穆农卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应"
    "臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
    "張陳楊黃趙吳孫劉鄭謝韓馮鄧蕭葉蘇呂盧鍾譚陸範賈韋鄒閆顧龔錢嚴湯溫顏聶魯龐莊鄺羅許賴"
)
# Characters that end a name: particles, verbs and words that follow a name in a sentence.
_CN_NAME_STOP = frozenset(
    "的了吧呢啊吗么嘛呀哦哈说讲问咨询处办确核认到在为是和与或及就都也还来去给把被让叫请您你我他她"
    "它们这那每个位电话号码微信客服人员工作帮忙核实，。、！？：；"
)
_CN_TITLES = (
    "先生",
    "女士",
    "小姐",
    "老师",
    "经理",
    "警官",
    "同志",
    "阿姨",
    "叔叔",
    "律师",
    "医生",
    "主任",
    "老板",
    "总监",
    "主管",
    "专员",
    "同学",
    "师傅",
    "顾问",
)
# Two-character words that start with a surname and are no name ("联系方式", "项目经理").
_CN_NOT_NAMES = frozenset(
    "王者 方式 方法 方面 时间 时候 时效 商家 商户 商城 商品 商务 商场 关系 "
    "关于 关注 关闭 安全 安排 安装 全部 全国 全额 全面 高级 高层 高速 "
    "金融 金额 金卡 成功 成为 成都 明天 明确 明白 明细 单位 单号 单据 "
    "车主 车辆 车险 路上 文件 常用 常规 管理 管家 包裹 包括 项目 华为 "
    "平安 钱包 钱款 万元 万一 应用 应该 应急 程序 司机 司法 任务 任何 "
    "任意 余额 尚未 周末 周边 师傅 和我 和他 和她 和您 和你 向您 向你 "
    "查询 查看 查收 查找 麻烦 官方 对方 房东 房产 房租 房子 房间 黄金 "
    "申请 欧元 左右 祝您 祝你 包装 符合 游戏 解决 解冻 解除 解释 时代 "
    "农业 农行 简单 连接 费用 付款 付费 方便 顾客 顾问 严重 严格 温馨 "
    "颜色 马上 何时 许多 谢谢 曾经 程度 范围 陆续 龙虾 史上 于是 易于 "
    "卫生 卢布 宁可 毕业 景区 党员 童装 米饭 石头 沙发 白天".split()
)
_CN_LABEL_NAME_RE = _re2(
    r"(我叫|姓名[:：]?|名字[:：]?|联系人[:：]?|收件人[:：]?|收款人[:：]?|户名[:：]?|"
    r"持卡人[:：]?|账户名[:：]?|開戶名[:：]?|户主[:：]?)[ \t]?([\x{4E00}-\x{9FFF}]{2,4})"
)
_CN_CUE_NAME_RE = _re2(
    r"((?:联系|聯繫|找|致电|打给|转给|汇给|转账给|汇款给|我是|本人|专员|经理|主任|警官|民警|顾问|助理|秘书){1,3})"
    r"[ \t:：]?([\x{4E00}-\x{9FFF}]{2,4})"
)
_CN_TITLE_NAME_RE = _re2(r"([\x{4E00}-\x{9FFF}]{1,4})(" + "|".join(_CN_TITLES) + ")")
# An English name: a capitalised word ("José", "O'Brien", "Mary-Jane"), then up to two more.
_EN_WORD = r"\p{Lu}\p{Ll}{1,20}(?:['’\-]\p{Lu}?\p{Ll}{1,20})?"
_EN_NAME = _EN_WORD + r"(?:[ \t]" + _EN_WORD + r"){0,2}"
_EN_NAME_RE = _re2(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr|Dear|Hi|Hello)\.?[ \t]+"
    r"(?:(?i:customer|client|member|sir|madam)[ \t]+)?(" + _EN_NAME + r")"
    r"|(?i:\bmy name is[ \t]+|\bi am[ \t]+|\bi'm[ \t]+|\bthis is[ \t]+)(" + _EN_NAME + r")"
    r"|(?i:\b(?:account name|name on (?:the )?card|cardholder|payee)[:\s]{1,3})(" + _EN_NAME + r")"
)
# Given names (and Chinese surnames in pinyin) common enough to mark a name without any cue,
# when a capitalised surname follows: "Peter Parker", "José García", "Zhang Wei". Names that
# are also words, places or brands ("Will", "Victoria", "Chase") are left out.
_GIVEN_NAMES = (
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel "
    "Matthew Anthony Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward "
    "Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon "
    "Benjamin Samuel Gregory Alexander Patrick Raymond Dennis Jerry Tyler Aaron Adam Nathan "
    "Henry Douglas Zachary Peter Kyle Walter Ethan Jeremy Harold Keith Roger Noah Gerald Carl "
    "Terry Sean Arthur Lawrence Jesse Dylan Bryan Joe Billy Bruce Albert Gabriel Logan Alan "
    "Wayne Roy Randy Eugene Vincent Russell Elijah Philip Johnny Oliver Harry Jack Charlie Oscar "
    "Alfie Freddie Archie Liam Lucas Mason Simon Graham Stuart Colin Neil Ian Darren Craig Lee "
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Betty "
    "Margaret Sandra Ashley Kimberly Emily Donna Michelle Dorothy Amanda Melissa Deborah "
    "Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Shirley Angela Helen Anna Brenda Pamela "
    "Nicole Emma Samantha Katherine Christine Debra Rachel Catherine Carolyn Janet Ruth Maria "
    "Heather Diane Julie Joyce Olivia Kelly Christina Lauren Joan Evelyn Judith Megan Cheryl "
    "Andrea Hannah Martha Jacqueline Gloria Teresa Ann Sara Frances Kathryn Janice Abigail "
    "Alice Judy Sophia Denise Doris Marilyn Danielle Beverly Isabella Theresa Diana Natalie "
    "Brittany Marie Kayla Alexis Lori Amelia Isla Ava Mia Ella Chloe Lily Sophie Lucy Emily "
    "Jose José Juan Luis Carlos Jorge Miguel Antonio Manuel Francisco Javier Alejandro Pedro "
    "Pablo Diego Sergio Fernando Rafael Raúl Ramón Andrés Ángel Jesús María Carmen Ana Lucía "
    "Marta Elena Isabel Sofía Paula Pilar Beatriz Cristina João Pierre François Jacques Michel "
    "Philippe Nicolas Giulia Marco Giuseppe Francesco Hans Klaus Jürgen Stefan Ahmed Mohammed "
    "Muhammad Omar Fatima Aisha Priya Ravi Rahul Amit Anil Sunil Deepak Vijay Wang Zhang Liu "
    "Chen Yang Huang Zhao Zhou Xu Zhu Lin Zheng Liang Xie Tang Feng Deng Cao Peng Zeng Xiao "
    "Dong Yuan Cai Jiang Cheng Ding Shen Yao Cui Zhong Liao Xiong Qin Qiu Hou Dai Mao Hao Gong "
    "Shao Qian Ouyang"
).split()
_GIVEN_NAME_RE = _re2(
    r"(^|[^\p{L}\p{N}_])((?:" + "|".join(_GIVEN_NAMES) + r")(?:[ \t]" + _EN_WORD + r"){1,2})"
)
# Capitalised words that follow a greeting without being a name ("Hi Mum", "Dear Customer").
_NOT_NAMES = frozenset(
    "Customer Client Member Sir Madam Team All There Everyone Friend Friends User Users Valued "
    "Mum Mom Mummy Mommy Dad Daddy Mother Father Son Daughter Grandma Grandpa Nan Guys Folks "
    "Again Good Thanks Thank Please Your Our The This That Welcome Congratulations Just Here "
    "Sorry Yes No Ok Okay Account Holder Cardholder Support Service Services Bank Card Police "
    "Officer Agent Admin Manager Staff Winner To For And Or Of In On At By From With Is Are Was "
    "Now Today Tomorrow Call Text Reply Claim Free New Happy Hello Hi Dear Mr Mrs Ms Dr Street "
    "Road Avenue Lane Bank Ltd Limited Group Company".split()
)
# Brands that read as a first name and a surname.
_BRAND_NAMES = frozenset(
    {
        "John Lewis",
        "Michael Kors",
        "Jack Daniels",
        "Jack Wills",
        "Peter Jones",
        "Jose Cuervo",
        "José Cuervo",
    }
)


def _digits(s: str) -> str:
    return "".join(ch for ch in s if "0" <= ch <= "9")


def _join_long_number(m: Any) -> str:
    digits = _digits(m.group(0))
    return digits if len(digits) >= 7 else str(m.group(0))


def _cn_id_valid(s: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(ch) * w for ch, w in zip(s[:17], weights, strict=True))
    return "10X98765432"[total % 11] == s[17].upper()


def _mask_cn_id(m: Any) -> str:
    found: str = m.group(0)
    text: str = m.string
    before = text[m.start() - 1 : m.start()]
    after = text[m.end() : m.end() + 1]
    if before.isdigit() or after.isdigit() or not _CN_ID_SHAPE.fullmatch(found):
        return found
    return "[id]" if _cn_id_valid(found) else "[number]"


def _mask_hk_id(m: Any) -> str:
    # An ID card number of Hong Kong or Taiwan. "加Q1265522423" is a QQ number glued to its
    # letter, not one.
    text: str = m.string
    before = text[m.start() - 1 : m.start()]
    after = text[m.end() : m.end() + 1]
    if (before.isascii() and before.isalnum()) or before.isalpha() or after.isdigit():
        return str(m.group(0))
    return "[id]"


def _digit_kind(token: str) -> str:
    digits = _digits(token)
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


def _mask_digits(m: Any) -> str:
    before: str = m.group(1)
    number: str = m.group(2)
    text: str = m.string
    end = m.end()
    # No letter or digit may follow the number. When one does, the number ends at its last
    # space or dash instead ("138 1234 5678abc" masks "138 1234"), as long as six characters
    # are left; otherwise it is not a number of its own.
    while end < len(text) and text[end].isascii() and text[end].isalnum():
        cut = max(number.rfind(" "), number.rfind("-"))
        while cut > 0 and number[cut - 1] in " -":
            cut -= 1
        if cut < 6:
            return before + number
        end -= len(number) - cut
        number = number[:cut]
    return before + _digit_kind(number) + text[end : m.end()]


def _keep_password(m: Any) -> str:
    separator: str = m.group(2)
    secret: str = m.group(3)
    # Without "is" or a colon, a word of letters is the sentence going on ("password reset").
    if not separator.strip() and secret.isalpha():
        return str(m.group(0))
    return f"{m.group(1)}{separator}[code]"


_STREET_STOP = frozenset(
    "the a an to down up my your our their his her of in on at from for and or this that these "
    "those minutes minute mins min hours hour hrs days day weeks week months years year miles mile "
    "km metres meters yards feet times more other off only just about around across along over "
    "into onto is are was were be been it its we you they i by with per".split()
)


def _mask_street(m: Any) -> str:
    words = m.group(2).split()
    street: str = m.group(3)
    written_lower = street[0].islower() or any(w[0].islower() for w in words)
    if written_lower and any(w.lower() in _STREET_STOP for w in words):
        return str(m.group(0))
    if street.lower() in ("st", "pl", "ct", "ln", "rd", "sq", "ave") and street.islower():
        return str(m.group(0))  # "3 first st" is as likely a typo as a street
    return "[address]"


def _mask_flat(m: Any) -> str:
    # "flat 20% off" is a price, not a flat.
    rest = m.string[m.end() : m.end() + 12].lower()
    if rest.startswith(("%", " %", " off", " percent", " fee", " rate", " price", " discount")):
        return str(m.group(0))
    return "[address]"


def _mask_town(m: Any) -> str:
    town: str = m.group(1)
    end = m.end()
    if " " in town.replace("\t", " ") and not all(w[0].isupper() for w in town.split()):
        end = m.start(1) + len(town.split()[0])  # "leeds please": the town is one word
    rest = m.string[end:].lstrip(" \t")
    if not rest or rest[0] in ".,;!?)\n" or rest.startswith("[address]"):
        return "[address]" + str(m.string[end : m.end()])
    return str(m.group(0))


def _mask_at_handle(m: Any) -> str:
    before = m.string[m.start() - 1 : m.start()]
    if before and (before.isascii() and (before.isalnum() or before in "_.")):
        return str(m.group(0))
    return "@[handle]"


def _cn_name_length(s: str, *, need_surname: bool, need_given: bool) -> int:
    """How many characters at the start of ``s`` are a name (0 when none)."""
    if not s or s[0] in _CN_NAME_STOP or s[:2] in _CN_NOT_NAMES:
        return 0
    if s[:2] in _CN_SURNAMES_2:
        surname = 2
    elif s[0] in _CN_SURNAMES_1 or not need_surname:
        surname = 1
    else:
        return 0
    n = surname
    while (
        n < min(len(s), surname + 2)
        and s[n] not in _CN_NAME_STOP
        and not s.startswith(_CN_TITLES, n)
    ):
        n += 1
    return 0 if need_given and n == surname else n


def _mask_cn_label(m: Any) -> str:
    cand: str = m.group(2)
    n = _cn_name_length(cand, need_surname=False, need_given=True)
    if not n:
        return str(m.group(0))
    return f"{m.group(0)[: m.start(2) - m.start()]}[name]{cand[n:]}"


# What follows a place or an office, not a person: "我是常州市公安局的".
_CN_PLACE_ENDS = frozenset("市省县区镇局部厅所院店行司校州")


def _mask_cn_cue(m: Any) -> str:
    cand: str = m.group(2)
    n = _cn_name_length(cand, need_surname=True, need_given=True)
    following = (cand[n:] or m.string[m.end() : m.end() + 1])[:1]
    if not n or following in _CN_PLACE_ENDS or cand[n - 1] in _CN_PLACE_ENDS:
        return str(m.group(0))
    return f"{m.group(0)[: m.start(2) - m.start()]}[name]{cand[n:]}"


def _mask_cn_title(m: Any) -> str:
    cand: str = m.group(1)
    # The longest tail of the characters before the title that is a whole name: "王先生",
    # "欧阳娜娜女士"; "客服经理" and "这位先生" have none.
    for i in range(len(cand)):
        tail = cand[i:]
        if _cn_name_length(tail, need_surname=True, need_given=False) == len(tail):
            return f"{cand[:i]}[name]{m.group(2)}"
    return str(m.group(0))


def _name_words(name: str) -> str:
    """The leading words of ``name`` that can be a name ("John Please" -> "John")."""
    words = name.split()
    keep: list[str] = []
    for w in words:
        if w in _NOT_NAMES:
            break
        keep.append(w)
    return " ".join(keep)


def _mask_en_name(m: Any) -> str:
    whole: str = m.group(0)
    for g in range(1, 4):
        name = m.group(g)
        if name:
            kept = _name_words(name)
            if not kept:
                return whole
            start = m.start(g) - m.start()
            return whole[:start] + "[name]" + whole[start + len(kept) :]
    return whole


def _mask_given_name(m: Any) -> str:
    name: str = m.group(2)
    kept = _name_words(name)
    if len(kept.split()) < 2 or kept in _BRAND_NAMES:
        return str(m.group(0))
    return f"{m.group(1)}[name]{name[len(kept) :]}"


def redact(text: str) -> str:
    """Mask personal data in ``text``. Link domains stay; everything else that identifies a
    person (or could) is replaced by a bracketed label such as ``[phone]``."""
    text = text.translate(_FOLD)
    # Links first, so their digits are not mistaken for phone numbers: keep only the host.
    links: list[str] = []

    def keep_link(m: Any) -> str:
        if m.group(0).count(".") < 1 or _EMAIL_RE.fullmatch(m.group(0)):
            return str(m.group(0))
        host = m.group(1)
        links.append(host + ("/…" if m.group(2) and len(m.group(2)) > 1 else ""))
        return f"\x00{len(links) - 1}\x00"

    text = _EMAIL_RE.sub("[email]", text)
    text = _URL_RE.sub(keep_link, text)
    text = _CN_ID_RE.sub(_mask_cn_id, text)
    text = _TW_ID_RE.sub(_mask_hk_id, text)
    text = _HK_ID_RE.sub(_mask_hk_id, text)
    text = _HANDLE_RE.sub(lambda m: f"{m.group(1)}[handle]", text)
    text = _AT_HANDLE_RE.sub(_mask_at_handle, text)
    text = _PASSWORD_RE.sub(_keep_password, text)
    text = _CODE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}[code]", text)
    text = _CN_ADDRESS_RE.sub("[address]", text)
    text = _STREET_RE.sub(_mask_street, text)
    text = _FLAT_RE.sub(_mask_flat, text)
    text = _POSTCODE_RE.sub("[address]", text)
    text = _DOOR_RE.sub("[address]", text)
    text = _TOWN_RE.sub(_mask_town, text)
    text = _ADDRESS_RUN_RE.sub("[address]", text)
    text = _DIGITS_RE.sub(_mask_digits, _SPLIT_NUMBER.sub(_join_long_number, text))
    text = _CN_LABEL_NAME_RE.sub(_mask_cn_label, text)
    text = _CN_CUE_NAME_RE.sub(_mask_cn_cue, text)
    text = _CN_TITLE_NAME_RE.sub(_mask_cn_title, text)
    text = _EN_NAME_RE.sub(_mask_en_name, text)
    text = _GIVEN_NAME_RE.sub(_mask_given_name, text)
    return str(_PLACEHOLDER_RE.sub(lambda m: links[int(m.group(1))], text))
