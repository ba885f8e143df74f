"""Command-line option defaults that come from the settings, filled in when a command is parsed.

A parser's defaults come from an :class:`index.Settings`, but loading one imports pydantic,
and ``qa --help`` (which builds every subcommand's options) must stay instant. So the ``qa``
parser is built from a :class:`LazySettings`: an option's default (or help) is then a
:class:`Later` value, and a :class:`SettingsParser` fills its own in, from settings loaded once,
just before it parses. ``qa --help`` parses no subcommand and loads nothing; ``qa ask ...``
loads the settings as its parser starts. Standard library only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._settings import Settings


class LazySettings:
    """The settings a command line takes its defaults from, loaded on first use and kept
    (the environment is read once); or settings already loaded."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    def get(self) -> Settings:
        if self._settings is None:
            from ._settings import Settings

            self._settings = Settings.load()  # a bad variable raises SettingsError (one line)
        return self._settings

    def later(self, value: Callable[[Settings], Any]) -> Later:
        return Later(self, value)


@dataclass(frozen=True)
class Later:
    """``value(settings)``, computed when a :class:`SettingsParser` is about to parse."""

    source: LazySettings
    value: Callable[[Settings], Any]

    def resolve(self) -> Any:
        return self.value(self.source.get())


def setting(settings: Settings | LazySettings | None, value: Callable[[Settings], Any]) -> Any:
    """An option's default or help from ``settings``: ``Later`` for :class:`LazySettings`, else
    ``value(settings)`` now (the environment now when ``settings`` is None)."""
    if isinstance(settings, LazySettings):
        return settings.later(value)
    if settings is None:
        from ._settings import Settings

        settings = Settings.load()
    return value(settings)


class SettingsParser(argparse.ArgumentParser):
    """An ArgumentParser whose option defaults, help and ``set_defaults`` values may be
    :class:`Later`; its subcommand parsers are of this class too, and each fills in its own."""

    def parse_known_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        for action in self._actions:
            if isinstance(action.default, Later):
                action.default = action.default.resolve()
            if isinstance(action.help, Later):
                action.help = action.help.resolve()
        for key, value in list(self._defaults.items()):
            if isinstance(value, Later):
                self._defaults[key] = value.resolve()
        return super().parse_known_args(args, namespace)
