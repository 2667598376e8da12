"""Read screenshots: text by OCR (rapidocr-onnxruntime, whose models ship in its wheel) and
links by QR decoding (zxing-cpp).

Owns: checking that bytes are a sane image, and running the slow work off the event loop. OCR
takes about a second per screenshot on two cores, so at most ``max_concurrent`` run at once in
worker threads; other updates keep being answered meanwhile.
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

MAX_PIXELS = 40_000_000  # larger "images" are refused before decoding (decompression bombs)
MAX_SIDE = 2000  # OCR works on a downscaled copy; phone screenshots stay readable


class ImageError(Exception):
    """The bytes are not an image we can read."""


@dataclass(frozen=True)
class ImageText:
    text: str  # OCR lines joined by newlines
    qr: tuple[str, ...]  # decoded QR / barcode payloads

    @property
    def links(self) -> tuple[str, ...]:
        return tuple(q for q in self.qr if "." in q and " " not in q.strip())


class ImageReader:
    def __init__(self, max_concurrent: int = 1) -> None:
        self._sem = asyncio.Semaphore(max_concurrent)
        self._ocr: Any = None
        self._init_lock = threading.Lock()

    def _engine(self) -> Any:
        with self._init_lock:
            if self._ocr is None:
                from rapidocr_onnxruntime import RapidOCR  # heavy: imported on first use

                self._ocr = RapidOCR()
            return self._ocr

    def warm_up(self) -> None:
        """Load the OCR models now (call from a thread at start-up)."""
        self._engine()

    def _read_sync(self, data: bytes) -> ImageText:
        import numpy as np
        import zxingcpp

        try:
            with Image.open(io.BytesIO(data)) as probe:
                w, h = probe.size
                if w * h > MAX_PIXELS:
                    raise ImageError("too many pixels")
                probe.load()
                img = probe.convert("RGB")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as exc:
            raise ImageError(type(exc).__name__) from exc
        qr = tuple(b.text for b in zxingcpp.read_barcodes(img) if b.text)
        if max(img.size) > MAX_SIDE:
            img.thumbnail((MAX_SIDE, MAX_SIDE))
        result, _ = self._engine()(np.asarray(img))
        lines = [r[1] for r in (result or []) if r and len(r) > 1 and r[1]]
        return ImageText("\n".join(lines), qr)

    async def read(self, data: bytes) -> ImageText:
        async with self._sem:
            return await asyncio.to_thread(self._read_sync, data)
