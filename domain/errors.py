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


class Concurrent(Conflict):
    """Another write to the same stream was stored between loading it and saving: the
    command's `expected_version` is not at fault (it may have sent none). The command path
    carries such a command out again on the new state (`app.command_path.run_command`); once
    its attempts are spent it is answered 409 `version.stale` like a stale version."""

    def __init__(self, field: str = "expected_version", code: str = "version.stale") -> None:
        super().__init__(field, code)


class Erased(Conflict):
    """The personal data of the person an identifier names was erased (crypto-shredding):
    no key is made for them again, so nothing about them is stored readably (answered as
    409). Raised by the key store whatever asks for the key (a command, an approval, an
    import, the seed); the code never says where the identifier was registered."""

    def __init__(self, field: str = "nik", code: str = "nik.unavailable") -> None:
        super().__init__(field, code)


class NotFound(DomainError):
    """No such stream (answered as 404)."""


class RulesFailed(DomainError):
    """A program's rules refuse a grant (answered as 422 with every failing rule).

    `reasons`: one dict per failing rule, `{"rule", "rule_version", "code", "detail"}`;
    `detail` holds numbers, dates, program codes and benefit ids, never personal data."""

    def __init__(self, reasons: list[dict]) -> None:
        super().__init__("program", reasons[0]["code"])
        self.reasons = reasons


class Refused(DomainError):
    """A change waiting for approval could no longer be carried out when a supervisor approved
    it (a program's rule fails on the facts of that moment, or what it was made for is gone:
    a member already removed, a benefit ended): it was closed as refused with these reasons
    (ChangeRefused stored: `stored`) and leaves the queue. Answered 200 with status refused.

    `reasons`: one dict per failing check, a program rule's `{"rule", "rule_version", "code",
    "detail"}` or a command's own `{"field", "code", "detail"}`; never personal data."""

    def __init__(self, reasons: list[dict], stored: object) -> None:
        super().__init__("approval_id", "approval.refused")
        self.reasons = reasons
        self.stored = stored
