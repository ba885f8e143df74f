"""Answer matching that forgives case, punctuation, spacing and number formatting."""

from __future__ import annotations

import re
import unicodedata

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")


def normalize(text: str) -> str:
    """``"$550 Million"`` and ``"550 million"`` both become ``"550 million"``."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 3,400 -> 3400
    text = re.sub(r"(?<=\d)\.0+\b", "", text)  # 7.0 -> 7
    text = text.replace("%", " percent ")
    text = re.sub(r"[^\w\s.]|_", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimal points only
    return " ".join(text.split())


def contains(haystack: str, needle: str) -> bool:
    n = normalize(needle)
    if not n:
        return False
    return f" {n} " in f" {normalize(haystack)} "
