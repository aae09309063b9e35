"""The import form's guide to the sources' columns (app/import_layouts.py GUIDE), from which
its templates are made, names the columns the import checks."""

from __future__ import annotations

from app.import_files import column
from app.import_layouts import (
    DTKS_COLUMNS,
    DTSEN_FAMILY_COLUMNS,
    DTSEN_MEMBER_COLUMNS,
    GUIDE,
    P3KE_FAMILY_COLUMNS,
    P3KE_MEMBER_COLUMNS,
    READ_COLUMNS,
    VERVAL_COLUMNS,
)


def test_the_guide_names_exactly_the_columns_the_layouts_require():
    """The guide (and so the templates) cannot drift from what the import checks: each file's
    required columns are its layout's, and every optional one is a column a layout reads."""
    required = {
        (kind, part.part): {column(name) for name in part.required}
        for kind, parts in GUIDE.items()
        for part in parts
    }
    assert required == {
        ("dtks", "rows"): DTKS_COLUMNS,
        ("dtsen", "family"): DTSEN_FAMILY_COLUMNS,
        ("dtsen", "member"): DTSEN_MEMBER_COLUMNS,
        ("p3ke", "family"): P3KE_FAMILY_COLUMNS,
        ("p3ke", "member"): P3KE_MEMBER_COLUMNS,
        ("verval", "rows"): VERVAL_COLUMNS,
    }
    for parts in GUIDE.values():
        for part in parts:
            assert {column(name) for name in part.optional} <= READ_COLUMNS, part
