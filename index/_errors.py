"""The base of the index's one-line errors, beneath every other module of the package."""

from __future__ import annotations


class IndexError_(Exception):
    """Base for index errors whose message is meant for the user, on one line."""
