"""Reply languages, and Traditional Chinese for texts written in Simplified.

Owns: the three languages the bot answers in and the conversion of rule texts (written in
Simplified in the rules) to Traditional, phrase by phrase with OpenCC's Taiwan or Hong Kong
idioms. Imports only OpenCC; the Telegram layer and the digest both use it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import opencc

Lang = Literal["zh-hans", "zh-hant", "en"]
LANGS: tuple[Lang, ...] = ("zh-hans", "zh-hant", "en")


@lru_cache(maxsize=2)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


# What OpenCC's phrase tables leave in mainland form: Taiwan writes accounts and transfers
# with 帳 (帳戶, 轉帳, 帳號; OpenCC keeps 賬), and both Taiwan and Hong Kong quote with 「」.
# OpenCC's Taiwan idioms also turn 挂断 ("hang up") into 結束通話; people there say 掛斷.
_TW_FIXES = str.maketrans({"賬": "帳", "“": "「", "”": "」", "‘": "『", "’": "』"})
_HK_FIXES = str.maketrans({"“": "「", "”": "」", "‘": "『", "’": "』"})


@lru_cache(maxsize=4096)
def to_traditional(text: str, region: str = "TW") -> str:
    if region == "HK":
        return str(_converter("s2hk").convert(text)).translate(_HK_FIXES)
    tw = str(_converter("s2twp").convert(text)).translate(_TW_FIXES)
    return tw.replace("結束通話", "掛斷")


def rule_text(zh: str, en: str, lang: Lang, region: str = "TW") -> str:
    """A text given in Simplified Chinese and English, in the reader's language."""
    if lang == "en":
        return en
    if lang == "zh-hant":
        return to_traditional(zh, region)
    return zh
