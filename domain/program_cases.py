"""Program catalog use cases"""

from __future__ import annotations

from domain.use_case import UseCases


class ProgramCases(UseCases):
    pass
