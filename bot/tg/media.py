"""Read screenshots: text by OCR (rapidocr-onnxruntime, whose models ship in its wheel) and
links by QR decoding (zxing-cpp).

Owns: checking that bytes are a sane image, and running the slow work off the event loop. OCR
takes about a second per screenshot on two cores, so at most ``max_concurrent`` run at once in
worker threads; other updates keep being answered meanwhile. An image with more pixels than a
screenshot needs is refused from its header, before any decoding (a 12 KB one-colour PNG can
declare 40 million pixels), and the text read from one image is capped (36 numeric QR codes in
one PNG hold 250,000 characters).
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_PIXELS = 16_000_000  # default: a 5K desktop or a long scrolled phone screenshot fits
MAX_TEXT_CHARS = 5_000  # default: a screenful of chat is a few hundred characters
MAX_SIDE = 2000  # OCR works on a downscaled copy; phone screenshots stay readable
DET_MIN_SIDE = 736  # RapidOCR's default: smaller pictures are enlarged for the text detector


class ImageError(Exception):
    """The bytes are not an image we can read."""


class TooManyPixels(ImageError):
    """The image declares more pixels than ``max_pixels`` (told from its header)."""


@dataclass(frozen=True)
class ImageText:
    text: str  # OCR lines joined by newlines
    qr: tuple[str, ...]  # decoded QR / barcode payloads

    @property
    def links(self) -> tuple[str, ...]:
        return tuple(q for q in self.qr if "." in q and " " not in q.strip())


def _ocr_input(img: Image.Image) -> Image.Image:
    """The picture the text detector sees: at most MAX_SIDE on its longest side, and small
    pictures enlarged until the shortest side is DET_MIN_SIDE (small text is found better),
    as far as the longest side allows. Its cost is bounded by MAX_SIDE squared, whatever the
    shape."""
    w, h = img.size
    ratio = min(MAX_SIDE / max(w, h), max(1.0, DET_MIN_SIDE / min(w, h)))
    if ratio == 1.0:
        return img
    return img.resize(
        (max(1, round(w * ratio)), max(1, round(h * ratio))), Image.Resampling.BICUBIC
    )


def cap(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a line end when one is near."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", limit // 2, limit)
    return text[: cut if cut > 0 else limit]


class ImageReader:
    def __init__(
        self,
        max_concurrent: int = 1,
        *,
        max_pixels: int = MAX_PIXELS,
        max_text_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        self.max_pixels = max_pixels
        self.max_text_chars = max_text_chars
        self._sem = asyncio.Semaphore(max_concurrent)
        self._ocr: Any = None
        self._init_lock = threading.Lock()

    def _engine(self) -> Any:
        with self._init_lock:
            if self._ocr is None:
                from rapidocr_onnxruntime import RapidOCR  # heavy: imported on first use

                # The detector's input is bounded by its longest side (see _ocr_input), not
                # stretched until its shortest side is 736 px: a 222x2000 strip became
                # 736x6630 and cost 18 s.
                self._ocr = RapidOCR(det_limit_type="max", det_limit_side_len=MAX_SIDE)
            return self._ocr

    def warm_up(self) -> None:
        """Load the OCR models now (call from a thread at start-up)."""
        self._engine()

    def _read_sync(self, data: bytes) -> ImageText:
        import numpy as np
        import zxingcpp

        try:
            # open() reads the header only (PNG IHDR, JPEG SOF, WebP VP8 ...): the size is
            # known before a pixel is decoded.
            with Image.open(io.BytesIO(data)) as probe:
                w, h = probe.size
                if w * h > self.max_pixels:
                    raise TooManyPixels(f"{w}x{h}")
                probe.load()
                img = probe.convert("RGB")
        except TooManyPixels:
            raise
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as exc:
            raise ImageError(type(exc).__name__) from exc
        limit = self.max_text_chars
        qr: list[str] = []
        room = limit
        for barcode in zxingcpp.read_barcodes(img):
            if barcode.text and room > 0:
                qr.append(cap(barcode.text, room))
                room -= len(qr[-1])
        result, _ = self._engine()(np.asarray(_ocr_input(img)))
        lines = [r[1] for r in (result or []) if r and len(r) > 1 and r[1]]
        return ImageText(cap("\n".join(lines), limit), tuple(qr))

    async def read(self, data: bytes) -> ImageText:
        async with self._sem:
            return await asyncio.to_thread(self._read_sync, data)
