"""Accounts and API tokens"""

from __future__ import annotations

from domain.use_case import UseCases


class AccountCases(UseCases):
    pass
