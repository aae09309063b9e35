"""What the domain answers when a command cannot be carried out.

Each error names the field at fault and a stable message code; the edge (API,
forms, CLI) turns the code into words in the user's language.
"""


class DomainError(Exception):
    """The command is invalid for the current state (answered as 422)."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


class Conflict(DomainError):
    """A unique value is taken or the expected version is stale (answered as 409)."""


class NotFound(DomainError):
    """No such stream (answered as 404)."""
