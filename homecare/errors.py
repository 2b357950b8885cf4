"""The project's one error hierarchy.

HomecareError
├── ConfigError          a bad configuration file or environment (exit code 2)
├── BackupError          a backup or restore refused or failed (exit code 1)
├── SatusehatError       a submission to SATUSEHAT failed
│   ├── SatusehatRejected     the content was refused (4xx): resending cannot help
│   └── SatusehatUnavailable  no answer or 5xx after every retry: later
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


class SatusehatError(HomecareError):
    """SATUSEHAT (Kemenkes' health data platform) could not take a submission; says why."""


class SatusehatRejected(SatusehatError):
    """SATUSEHAT refused the content (4xx with an OperationOutcome): sending again cannot help."""

    def __init__(self, status: int, issues: list[str]) -> None:
        self.status = status
        self.issues = issues
        super().__init__(
            f"SATUSEHAT refused it ({status}): " + "; ".join(issues or ["no reason given"])
        )


class SatusehatUnavailable(SatusehatError):
    """SATUSEHAT did not answer, or answered 5xx/429, after every attempt: try again later."""
