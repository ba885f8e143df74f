"""The one exception type users see; kept apart so every ``qa`` module can raise it."""

from __future__ import annotations


class QAError(Exception):
    """A user-facing problem (no index, empty question...); ``str()`` is one line."""
