"""Hostile and unlucky input in private chats: images that declare more pixels than a
screenshot has, images full of QR codes, checks that take long, invisible characters between
letters. Nobody's input freezes the bot for anyone else, and each gets a specific answer."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile

from bot.engine import Engine, Verdict
from bot.tg.media import ImageReader, TooManyPixels
from tests.tg.conftest import running_bot
from tests.tg.test_e2e import FAKE_CS_ZH, run


def encoded(size: tuple[int, int], fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_too_many_pixels_are_refused_from_the_header_before_decoding(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encoded((120, 100), fmt)

    def no_decoding(self: Any) -> Any:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(TooManyPixels):
        ImageReader(max_pixels=11_999)._read_sync(data)


def test_a_one_colour_6300_pixel_square_gets_a_polite_refusal_at_once(tmp_path: Path) -> None:
    # 12 KB of PNG that decodes to 40 million pixels (4 s of OCR and 450 MB before).
    bomb = encoded((6300, 6300), "PNG")

    async def go() -> None:
        async with running_bot(tmp_path) as r:
            for code, words, send in (
                ("zh-hans", "百万像素", "photo"),
                ("en", "megapixels", "document"),
            ):
                user = r.emu.make_user(language_code=code)
                chat = r.emu.private_chat(user)
                started = time.perf_counter()
                if send == "photo":
                    r.emu.send_photo(chat, user, bomb)
                else:
                    r.emu.send_document(chat, user, bomb, "shot.png", "image/png")
                [answer] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=30)
                assert words in answer["text"] and "16" in answer["text"], answer["text"]
                assert time.perf_counter() - started < 3

    run(go())


def numeric_qr_sheet(count: int) -> bytes:
    """``count`` QR codes of 7,000 digits each (the most a QR code holds) on one sheet."""
    import numpy as np
    import zxingcpp

    codes = []
    for i in range(count):
        digits = "".join(str((i * 7 + j * j) % 10) for j in range(7000))
        barcode = zxingcpp.create_barcode(digits, zxingcpp.BarcodeFormat.QRCode)
        codes.append(Image.fromarray(np.asarray(barcode.to_image(scale=3, add_quiet_zones=True))))
    side = codes[0].size[0]
    sheet = Image.new("L", (side * 2, side * ((count + 1) // 2)), 255)
    for i, code in enumerate(codes):
        sheet.paste(code, ((i % 2) * side, (i // 2) * side))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()


def test_text_read_from_one_image_is_capped() -> None:
    sheet = numeric_qr_sheet(4)  # 28,000 digits before
    read = ImageReader(max_text_chars=5_000)._read_sync(sheet)
    assert read.qr, "the QR codes were read"
    assert sum(len(q) for q in read.qr) <= 5_000
    assert len(read.text) <= 5_000


class SlowEngine:
    """The real engine, with a check that takes ``seconds`` when the text says SLOW."""

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine = engine
        self.seconds = seconds

    def _wait(self, texts: Any) -> None:
        joined = texts if isinstance(texts, str) else " ".join(texts)
        if "SLOW" in joined:
            time.sleep(self.seconds)

    def check(self, texts: Any, links: Any = ()) -> Verdict:
        self._wait(texts)
        return self.engine.check(texts, links)

    def check_follow_on(self, texts: Any, *args: Any, **kwargs: Any) -> Any:
        self._wait(texts)  # what a private chat's check calls
        return self.engine.check_follow_on(texts, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def test_a_long_check_leaves_the_bot_answering_others_and_keeps_each_persons_order(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            real = r.deps.engine()
            slow = SlowEngine(real, 3.0)
            r.deps.engine = lambda: slow  # type: ignore[assignment,return-value]
            a = r.emu.make_user(language_code="zh-hans")
            a_chat = r.emu.private_chat(a)
            b = r.emu.make_user(language_code="en")
            b_chat = r.emu.private_chat(b)
            started = time.perf_counter()
            r.emu.send_text(a_chat, a, "SLOW " + FAKE_CS_ZH)
            await asyncio.sleep(0.3)
            r.emu.send_text(a_chat, a, "你好，明天几点见？")
            r.emu.send_text(b_chat, b, "/help")
            await r.emu.wait_for_messages(b_chat["id"], count=1, timeout=30)
            # Answered while A's check was still running (before: after it, 3 s later).
            assert time.perf_counter() - started < 2.0
            assert r.emu.sent_messages(a_chat["id"]) == []
            first, second = await r.emu.wait_for_messages(a_chat["id"], count=2, timeout=30)
            assert "高风险" in first["text"]  # A's answers in the order of A's messages
            assert "高风险" not in second["text"]

    run(go())


FILLERS = ["\u2800", "\u2028", "\u2029", "\u1680", "\ufffc", "\u20e3", "\x01", "\x7f", "\x85"]


def test_invisible_characters_between_letters_do_not_hide_a_scam(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_bot(tmp_path) as r:
            for filler in FILLERS:
                user = r.emu.make_user(language_code="zh-hans")
                chat = r.emu.private_chat(user)
                r.emu.send_text(chat, user, filler.join(FAKE_CS_ZH))
                [answer] = await r.emu.wait_for_messages(chat["id"], count=1, timeout=30)
                assert "高风险" in answer["text"], f"U+{ord(filler):04X}"

    run(go())


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1110, 9990), (222, 2000)),  # a tall sheet: shrunk, not stretched back to 736 wide
        ((900, 320), (2000, 711)),  # a small picture: enlarged, as far as the long side allows
        ((1080, 2400), (900, 2000)),  # a phone screenshot
        ((800, 1000), (800, 1000)),  # already fine
    ],
)
def test_the_text_detector_sees_at_most_max_side_squared(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    from bot.tg.media import MAX_SIDE, _ocr_input

    shown = _ocr_input(Image.new("RGB", size, "white"))
    assert shown.size == expected
    assert max(shown.size) <= MAX_SIDE
