"""Maker-checker"""

from __future__ import annotations

from domain.use_case import UseCases


class ApprovalCases(UseCases):
    pass
