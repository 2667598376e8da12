"""What a person says about themselves: that they already acted on a scam, or that they ask
what to do about the message they just checked.

Owns: reading, from a person's own words (never a forwarded message: a scammer also writes
"I have paid"), the acts that cannot wait — money sent, a code or card details given, an app
installed or the screen shared, "I was scammed" — and whether a short message is a follow-up
question. Results name the acts, so the reply can put the urgent steps for exactly those first.
Patterns are RE2 (linear time) over the normalized text: Traditional is folded to
Simplified, so 驗證碼給了 reads 验证码给了.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import re2

from bot.engine.normalize import normalize

Act = Literal["paid", "code", "card", "app", "scammed"]
ACTS: tuple[Act, ...] = ("paid", "card", "code", "app", "scammed")  # the order of urgency

# Longer than this, a message is a story or a forwarded script, not a person's question.
MAX_FOLLOW_UP = 80
MAX_TEXT = 2000  # only the start of a long message is read for these

_STOP = "[^，。？！?!.\\n]"  # within one clause

_ZH: dict[Act, str] = {
    "scammed": (
        "(被|给|遭)(人|对方|他|她|他们)?(骗|诈骗|坑)|上当(受骗)?了|遇到(了)?(骗子|诈骗)|"
        "(是|遇到|碰到)(了)?骗子"
    ),
    "paid": (
        f"(已经|已|刚刚|刚才|刚|都|我|还|也|又)(把)?{_STOP}{{0,8}}"
        "(转账|转帐|汇款|付款|支付|充值|打款|缴费|交费|转了|汇了|付了|充了|打了|交了|存了|缴了|"
        "转过去|汇过去|打过去|转出去|转给)|"
        "(转|汇|打|付|充|交)(了|过去)[0-9一二三四五六七八九十百千万两几]+(块|元|万|千|百|美元|钱)"
    ),
    "code": (
        f"(验证码|校验码|动态码|动态密码|短信码|密码){_STOP}{{0,6}}"
        f"(给|告诉|发|报|念|说|填|输入|输){_STOP}{{0,6}}了|"
        f"(给了|告诉了|发给了|报给了|念给)(他|她|对方|客服|他们){_STOP}{{0,4}}(验证码|密码|动态码)"
    ),
    "card": (
        f"(银行卡|卡号|身份证|cvv|安全码|有效期|网银){_STOP}{{0,6}}"
        "(给了|告诉了|告诉他|告诉她|发给|报给|填了|输入了|输了|拍给)|"
        f"(填了|输入了|输了|拍了)(我的)?{_STOP}{{0,4}}(银行卡|卡号|身份证|网银)"
    ),
    "app": (
        f"(下载|安装|装)(了){_STOP}{{0,12}}(app|软件|应用|会议|zoom|apk|客户端)|"
        "(共享|分享|开)(了)(屏幕|屏幕共享)|屏幕共享(了|过)|(让|给)(他|她|对方)(远程|控制)"
    ),
}

_I = r"\b(i|i've|i have|i had|i just|i already|we|we've)\b"
_EN: dict[Act, str] = {
    "scammed": (
        r"\b(i|we)('ve| have| had|'m| am| was| were| got| think i| think we)?"
        r"( been| got| just been| just got)? (scammed|defrauded|conned|ripped off|tricked)\b|"
        r"\b(fell|fallen) for (a|the|this|that|their) (scam|fraud)\b"
    ),
    "paid": (
        _I + r"[^.!?\n]{0,12}\b(paid|sent|transferred|wired|deposited|bought)\b[^.!?\n]{0,30}"
        r"(\$|£|€|\d|\b(money|payment|fee|fees|toll|fine|deposit|bitcoin|crypto|usdt)\b|"
        r"\bgift ?cards?\b)"
    ),
    "code": (
        _I + r"[^.!?\n]{0,12}\b(gave|sent|told|shared|read|entered|typed|forwarded)\b"
        r"[^.!?\n]{0,20}\b(code|codes|otp|pin|passcode|password)\b|"
        r"\b(gave|sent|told|shared|entered|typed|forwarded)\b[^.!?\n]{0,12}\bmy\b"
        r"[^.!?\n]{0,12}\b(code|otp|pin|passcode|password)\b"
    ),
    "card": (
        _I + r"[^.!?\n]{0,12}\b(gave|sent|told|shared|entered|typed|put in|filled in)\b"
        r"[^.!?\n]{0,20}\b(card|cards|card details|card number|bank details|account number|"
        r"ssn|social security|cvv)\b|"
        r"\b(gave|sent|told|shared|entered|typed|put in|filled in)\b[^.!?\n]{0,12}\bmy\b"
        r"[^.!?\n]{0,12}\b(card|cards|card details|card number|bank details|account number|"
        r"ssn|social security|cvv)\b"
    ),
    "app": (
        _I + r"[^.!?\n]{0,12}\b(installed|downloaded|let them|let him|let her|gave them|"
        r"shared)\b[^.!?\n]{0,25}\b(app|apk|anydesk|teamviewer|software|program|remote|"
        r"access|screen)\b"
    ),
}

# Words in the clause before or inside the act that say it did not happen, or not yet
# ("我没有转账", "差点被骗", "如果转了怎么办", "I didn't pay", "should I pay").
_NEG_ZH = re2.compile(
    "(没|未|别|勿|不要|不会|不能|不想|不敢|不用|不被|差点|差一点|险些|怕|担心|以免|防止|小心|"
    "如果|假如|万一|是否|要不要|能不能|该不该)"
)
_NEG_EN = re2.compile(
    r"\b(not|never|didn't|didnt|haven't|havent|won't|wont|don't|dont|almost|nearly|if|"
    r"before|should|shall|would|could|can|do i|will i|going to|about to|afraid|worried that)\b"
)

_FOLLOW_UP_ZH = re2.compile(
    "(怎么办|怎么做|咋办|怎么处理|如何处理|该做什么|能做什么|怎么弄|"
    "是诈骗吗|是不是诈骗|是骗子吗|是不是骗|是骗局吗|是真的吗|可信吗|靠谱吗|能信吗|安全吗|"
    "要报警吗|能追回|追回来|还能找回|钱还能)"
)
_FOLLOW_UP_EN = re2.compile(
    r"\b(what (should|do|can|shall) (i|we) do|what now|what next|now what|"
    r"is (this|it|that) (a )?(scam|real|legit|fraud|genuine|safe)|"
    r"should i (worry|pay|click|reply|call)|can i get (it|my money) back|"
    r"how (do|can) i get (it|my money) back|what does (this|it) mean)\b"
)


def _compile(patterns: dict[Act, str]) -> dict[Act, re2._Regexp]:
    opts = re2.Options()
    opts.log_errors = False
    return {act: re2.compile(p, options=opts) for act, p in patterns.items()}


_ZH_RE = _compile(_ZH)
_EN_RE = _compile(_EN)


@dataclass(frozen=True)
class SelfReport:
    """What a person said about themselves: the acts already done (most urgent first), and
    whether the message is a short question about what they just checked."""

    acts: tuple[Act, ...]
    follow_up: bool

    @property
    def victim(self) -> bool:
        return bool(self.acts)


def _acts(text: str) -> tuple[Act, ...]:
    found: set[Act] = set()
    for table, negation in ((_ZH_RE, _NEG_ZH), (_EN_RE, _NEG_EN)):
        for act, rx in table.items():
            for m in rx.finditer(text):
                before = text[max(0, m.start() - 16) : m.start()]
                # Only this clause: a negation in an earlier sentence does not count.
                for mark in "，。！？,.!?\n":
                    before = before.rsplit(mark, 1)[-1]
                if not negation.search(before + m.group(0)):
                    found.add(act)
                    break
    if found & {"paid", "code", "card", "app"}:
        found.discard("scammed")  # the concrete acts say more than "I was scammed"
    return tuple(a for a in ACTS if a in found)


def read_self_report(text: str) -> SelfReport:
    """Read a person's own message (never a forwarded one) for acts already done and for a
    follow-up question."""
    norm = normalize(text[:MAX_TEXT]).text
    acts = _acts(norm)
    short = len(norm.strip()) <= MAX_FOLLOW_UP
    follow_up = short and bool(_FOLLOW_UP_ZH.search(norm) or _FOLLOW_UP_EN.search(norm))
    return SelfReport(acts, follow_up)
