"""OCR for pages that carry no text: scanned PDF pages and ``.png`` / ``.jpg`` files.

The engine is RapidOCR (``rapidocr``, PP-OCR models run by onnxruntime). Its wheel ships the
detection and recognition models, and they are named by path here, so nothing is ever
downloaded (the indexer runs offline). It is loaded on the first page that needs it, once
per process, and shared; calls take turns under a lock, since RapidOCR keeps per-call
settings on the shared object and the machine has few cores to run two at once. A PDF page
is rendered with pypdfium2, which draws whatever the page holds (one scanned image, several,
JBIG2 or CCITT scans, vector outlines) where extracting embedded images would miss some.

Recognised boxes become lines (boxes at the same height, left to right), lines become
paragraphs where the vertical gap is wide, and wrapped lines are joined like a PDF's
(``_text.join_pdf_lines``), so the indexed text reads as sentences and citations quote it.
"""

from __future__ import annotations

import io
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._text import BadDocument, clean, join_pdf_lines

if TYPE_CHECKING:
    from PIL import Image

# onnxruntime threads per OCR session: two at most, as the indexer shares a small CPU.
OCR_THREADS = max(1, min(2, os.cpu_count() or 1))
# A PDF page is rendered at this resolution, its longest side capped at OCR_MAX_SIDE pixels
# (RapidOCR shrinks anything larger to that before detecting text, so rendering more is waste).
OCR_DPI = 200
OCR_MAX_SIDE = 2000
# Recognised text below this confidence is noise (RapidOCR's own default).
OCR_MIN_SCORE = 0.5
# A vertical gap wider than this share of the line height between two lines ends a paragraph.
PARAGRAPH_GAP = 0.8

# A rendered page whose darkest and lightest pixels differ by less than this is blank.
BLANK_CONTRAST = 16

NO_TEXT = "no text found by OCR"

_ENGINE: Any = None
_ENGINE_LOCK = threading.Lock()  # loading, and each call: one page at a time
_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe


@dataclass
class OcrText:
    """One page's recognised text (cleaned and joined) and the seconds OCR took; ``ran`` is
    false for a blank page, which is not worth OCR (nor a warning that it has no text)."""

    text: str
    seconds: float
    ran: bool = True


def _engine() -> Any:
    """The shared RapidOCR, built on first use from the models inside its wheel."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            try:
                import rapidocr
            except ImportError as exc:
                raise BadDocument(f"OCR needs the rapidocr package ({exc}); pip install rapidocr") from exc

            models = Path(rapidocr.__file__).resolve().parent / "models"
            params = {
                "Global.use_cls": False,  # the line-orientation classifier flips upright lines
                "Global.log_level": "error",
                "Global.text_score": OCR_MIN_SCORE,
                "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
                "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
                "EngineConfig.onnxruntime.intra_op_num_threads": OCR_THREADS,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
            for key in ("Det.model_path", "Rec.model_path"):
                if not Path(params[key]).is_file():
                    raise BadDocument(
                        f"OCR model missing from the rapidocr package ({params[key]}); reinstall it"
                    )
            _ENGINE = rapidocr.RapidOCR(params=params)
        return _ENGINE


def _boxes(output: Any) -> list[tuple[float, float, float, str]]:
    """``(top, bottom, left, text)`` per recognised box."""
    if output.boxes is None or not output.txts:
        return []
    found = []
    for box, text in zip(output.boxes, output.txts, strict=False):
        ys = [float(point[1]) for point in box]
        xs = [float(point[0]) for point in box]
        if text.strip():
            found.append((min(ys), max(ys), min(xs), text.strip()))
    return found


def layout_text(boxes: list[tuple[float, float, float, str]]) -> str:
    """Boxes as lines in reading order: a box whose vertical middle falls inside the line
    being built joins it; a line's boxes run left to right; a wide gap starts a paragraph."""
    lines: list[tuple[float, float, list[tuple[float, str]]]] = []
    for top, bottom, left, text in sorted(boxes, key=lambda b: ((b[0] + b[1]) / 2, b[2])):
        middle = (top + bottom) / 2
        if lines and lines[-1][0] <= middle <= lines[-1][1]:
            line_top, line_bottom, parts = lines[-1]
            parts.append((left, text))
            lines[-1] = (min(line_top, top), max(line_bottom, bottom), parts)
        else:
            lines.append((top, bottom, [(left, text)]))
    if not lines:
        return ""
    heights = sorted(bottom - top for top, bottom, _ in lines)
    height = heights[len(heights) // 2]
    out: list[str] = []
    previous_bottom: float | None = None
    for top, bottom, parts in lines:
        if previous_bottom is not None:
            out.append("\n\n" if top - previous_bottom > PARAGRAPH_GAP * height else "\n")
        out.append(" ".join(text for _, text in sorted(parts)))
        previous_bottom = bottom
    return "".join(out)


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB: transparency laid on white (black text on a clear background
    would turn black on black), 16-bit and float greys scaled rather than clipped to white."""
    from PIL import Image as PILImage

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        page = PILImage.new("RGB", rgba.size, (255, 255, 255))
        page.paste(rgba, mask=rgba.getchannel("A"))
        return page
    if image.mode.startswith("I") or image.mode == "F":
        import numpy as np

        grey = np.asarray(image, dtype=np.float64)
        top = float(grey.max()) if grey.size else 0.0
        if top > 255:
            scale = 255 / 65535  # 16-bit
        elif image.mode == "F" and top <= 1.0:
            scale = 255.0  # 0..1 floats
        else:
            scale = 1.0
        return PILImage.fromarray(np.clip(grey * scale, 0, 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def ocr_image(image: Image.Image) -> OcrText:
    """Recognise the text of one page image (any mode, see :func:`_rgb`); a blank one (one
    flat colour) is not run through OCR."""
    page = _rgb(image)
    darkest, lightest = page.convert("L").getextrema()
    if lightest - darkest < BLANK_CONTRAST:
        return OcrText(text="", seconds=0.0, ran=False)
    engine = _engine()
    started = time.perf_counter()
    with _ENGINE_LOCK:
        output = engine(page)
    seconds = time.perf_counter() - started
    text = join_pdf_lines(clean(layout_text(_boxes(output)))).strip()
    return OcrText(text=text, seconds=seconds)


def read_image(data: bytes) -> OcrText:
    """The text of a ``.png`` / ``.jpg`` file; raises :class:`BadDocument` when it cannot be
    decoded or holds no text. A photo's EXIF orientation is applied first."""
    import warnings

    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # a big scan is no attack; over twice the limit is refused
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as opened:
                image = ImageOps.exif_transpose(opened)
                image.load()
    except PILImage.DecompressionBombError as exc:
        limit = 2 * (PILImage.MAX_IMAGE_PIXELS or 0) // 1_000_000
        raise BadDocument(f"image too large to read (over {limit} megapixels)") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadDocument(f"corrupt or unreadable image ({type(exc).__name__})") from exc
    result = ocr_image(image)
    if not result.text:
        raise BadDocument(NO_TEXT)
    return result


class PdfPages:
    """Renders pages of one PDF for OCR, opening it with PDFium only when a page needs it."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._document: Any = None

    def ocr(self, index: int) -> OcrText:
        """OCR of page ``index`` (0-based), rendered at :data:`OCR_DPI`."""
        try:
            import pypdfium2
        except ImportError as exc:
            raise BadDocument(f"OCR of a scanned PDF needs pypdfium2 ({exc}); pip install pypdfium2") from exc
        with _PDFIUM_LOCK:
            try:
                if self._document is None:
                    self._document = pypdfium2.PdfDocument(self._data)
                page = self._document[index]
                width, height = page.get_size()
                scale = min(OCR_DPI / 72, OCR_MAX_SIDE / max(width, height, 1))
                image = page.render(scale=scale, grayscale=True).to_pil()
                page.close()
            except pypdfium2.PdfiumError as exc:
                raise BadDocument(f"cannot render page {index + 1} for OCR ({exc})") from exc
        return ocr_image(image)

    def close(self) -> None:
        if self._document is not None:
            with _PDFIUM_LOCK:
                self._document.close()
            self._document = None
