"""The project's one error hierarchy.

HomecareError
├── ConfigError          a bad configuration file or environment (exit code 2)
├── BackupError          a backup or restore refused or failed (exit code 1)
└── UserInputError       bad input from a person; carries a locale key, changes nothing
    ├── NotAllowed       the person may not do this (role or ownership)
    └── ConflictError    the world changed under the request (capacity gone, stale button)
"""

from __future__ import annotations

from typing import Any


class HomecareError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(HomecareError):
    """One line naming the file, the key and what is wrong."""

    def __init__(self, key: str, problem: str, source: str = "") -> None:
        self.key = key
        self.problem = problem
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        key = f"{self.key} " if self.key else ""
        return f"{where}{key}{self.problem}"

    def with_source(self, source: str) -> ConfigError:
        return ConfigError(self.key, self.problem, source)


class UserInputError(HomecareError):
    """Input a person gave that we refuse; `key` is a locale key shown to them in their language."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)


class NotAllowed(UserInputError):
    """The person's role or relation to the record does not allow this action."""


class ConflictError(UserInputError):
    """The request was valid when asked but the state changed (e.g. the last place was taken)."""


class BackupError(HomecareError):
    """`homecare backup` / `restore` cannot go on; the message says why in one line (exit 1)."""
