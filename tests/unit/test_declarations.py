"""Each command and each event is declared once, and nothing it needs is missing.

Walks every declared command (domain/commands.py) and every event type of the domain
(domain/streams.py) and fails when one lacks an area rule, a projection decision (handled
or explicitly ignored), a UI group, a title in both languages, or a personal-data
classification (domain/personal_data.py) for each of its fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest
from babel.messages.pofile import read_po

from app.disclosure import disclose_member, kept_secret, public_state
from app.messages import TRANSLATIONS
from app.privacy import CATEGORIES
from app.schemas import COMMANDS as SCHEMAS
from app.schemas import walk
from app.subject_access.report import PERSON_FIELDS as REPORTED
from app.web import COMMAND_GROUPS, command_title
from domain.application import Casework
from domain.commands import (
    CATALOGUE,
    COMMANDS,
    GROUP_TITLES,
    REVIEWERS,
    Area,
    Command,
    Group,
    Kelurahan,
    Opd,
)
from domain.household import MEMBER_FIELDS
from domain.personal_data import DATE_FIELDS, FIELDS, PERSONAL_FIELDS, Stored
from domain.streams import STREAM_TYPES, event_classes
from projections.catalog import PROJECTIONS
from tests.support.i18n import language

ID_CATALOG = {
    m.id: m.string
    for m in read_po((TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.po").open("rb"))
    if m.id
}
FRAME = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}
EVENTS = sorted(
    (stream.__name__, name) for stream in STREAM_TYPES for name in event_classes(stream)
)


def area_problems(command: Command) -> list[str]:
    """What is wrong with a command's area rule."""
    area, fields = command.area, set(command.fields)
    problems = []
    if not isinstance(area, Area):
        return ["no area rule"]
    needs = {
        Kelurahan.HOUSEHOLD: {"household_id"},
        Kelurahan.GIVEN: {"kelurahan"},
        Kelurahan.KECAMATAN: {"kecamatan"},
        Kelurahan.PERSON: {"person_id"},
        Kelurahan.NONE: set(),
    }[area.kelurahan]
    if area.opd is Opd.GIVEN:
        needs = needs | {"opd"}
    if not needs <= fields:
        problems.append(f"area names fields it does not have: {sorted(needs - fields)}")
    if area.opd is Opd.PROGRAM and not {"program", "code"} & fields:
        problems.append("the OPD of which program?")
    if area.opd is Opd.BENEFIT and not {"benefit_id", "enrollment_id", "review_id"} & fields:
        problems.append("the OPD of which benefit or enrolment?")
    if area.target_kelurahan is not None and area.target_kelurahan not in fields:
        problems.append(f"target kelurahan field {area.target_kelurahan} is not a field")
    if "household_id" in fields and area.kelurahan not in (Kelurahan.HOUSEHOLD,):
        if area not in (Area(), REVIEWERS) and not area.decision:
            problems.append("a household command whose area is not the household's")
    return problems


def field_problems(names: set[str]) -> list[str]:
    return [f"{name} has no personal-data classification" for name in sorted(names - set(FIELDS))]


def leaves(command: Command) -> set[str]:
    return {path.rsplit(".", 1)[-1] for path, _ in walk(SCHEMAS[command.name].schema())}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_declared_whole(name):
    command = COMMANDS[name]
    assert area_problems(command) == []
    assert isinstance(command.group, Group) and ID_CATALOG[GROUP_TITLES[command.group]]
    assert command.title.strip() and command.help.strip()
    assert callable(command.handler)
    assert command.name in Casework.commands
    # the UI shows its title and help in both languages: Indonesian from the catalog
    assert ID_CATALOG[command.title] and ID_CATALOG[command.help]
    with language("id"):
        assert command_title(name) == ID_CATALOG[command.title]
    with language("en"):
        assert command_title(name) == command.title
    assert field_problems(leaves(command)) == []


@pytest.mark.parametrize(("stream", "event"), EVENTS)
def test_every_event_has_a_decision_of_every_view_and_classified_fields(stream, event):
    undecided = [p.name for p in PROJECTIONS.values() if not p.decides(stream, event)]
    assert undecided == [], f"{event}: no view says whether it handles or ignores it"
    event_class = event_classes({s.__name__: s for s in STREAM_TYPES}[stream])[event]
    names = {f.name for f in dataclasses.fields(event_class)} - FRAME
    assert field_problems(names) == []


def test_the_checks_catch_what_is_missing():
    """The walkers above fail on an omission (a test that cannot fail is a defect)."""
    relocate = COMMANDS["RelocateHousehold"]
    assert area_problems(relocate) == []
    assert area_problems(replace(relocate, area=Area(kelurahan=Kelurahan.GIVEN))) != []
    assert area_problems(replace(relocate, area=Area(target_kelurahan="to"))) != []
    assert area_problems(replace(relocate, area=None)) == ["no area rule"]
    assert area_problems(replace(COMMANDS["GrantBenefit"], area=Area(opd=Opd.BENEFIT))) != []
    assert field_problems({"nik", "shoe_size"}) == ["shoe_size has no personal-data classification"]
    register = PROJECTIONS["register"]
    assert not replace(register, ignores=frozenset()).decides("Household", "KtpIssued")


def test_personal_data_is_declared_once():
    """The codec encrypts by the declaration, the record of processing lists its categories."""
    encrypted = {name for name, f in FIELDS.items() if f.stored is Stored.ENCRYPTED}
    assert encrypted == PERSONAL_FIELDS
    assert {"rt", "rw", "verifier", "date_of_death"} <= PERSONAL_FIELDS
    assert {"birth_date", "date_of_death"} == DATE_FIELDS
    for name, found in FIELDS.items():
        if found.category is not None:
            assert found.category in CATEGORIES, name
        if found.category is not None and found.stored is Stored.CLEAR:
            assert found.because, f"{name}: personal data kept in clear must say why"


def test_the_commands_page_lists_every_command_once():
    listed = [name for _, names in COMMAND_GROUPS for name in names]
    assert sorted(listed) == sorted(c.name for c in CATALOGUE)


def test_the_report_and_the_api_disclose_by_the_same_declaration():
    """What the subject access report shows and what the API hides of an erased person follow
    domain.personal_data.FIELDS, like the codec and the record of processing."""
    assert set(MEMBER_FIELDS) <= set(FIELDS)
    assert set(REPORTED) == {n for n in MEMBER_FIELDS if FIELDS[n].category is not None}
    member = {
        "nik_token": None,  # erased: the token no longer opens
        "name": "[erased]",
        "birth_date": None,
        "sex": "F",
        "relationship": "istri",
        "status": "active",
        "erased": 1,
    }
    shown = disclose_member(None, member)
    hidden = {name for name, value in shown.items() if value is None}
    assert hidden == {name for name in shown if kept_secret(name)} == {"nik", "name", "birth_date"}
    state = {"members": [{**{n: "x" for n in MEMBER_FIELDS}, "nik": "erased:ab", "erased": True}]}
    (public,) = public_state(state)["members"]
    assert {n for n in MEMBER_FIELDS if public[n] is None} == {
        n for n in MEMBER_FIELDS if FIELDS[n].stored is not Stored.CLEAR
    }
