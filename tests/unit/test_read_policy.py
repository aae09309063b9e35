"""The declared read policies (app/read_policy.py) and the NIK mask (app/disclosure.py)."""

from __future__ import annotations

from app import read_policy
from app.disclosure import masked_nik
from domain.accounts import ROLES


def test_a_masked_nik_keeps_the_region_and_the_last_two_digits():
    assert masked_nik("1571015203850007") == "1571**********07"
    assert masked_nik(None) is None  # an erased person stays null
    assert masked_nik("12345") == "*****"


def test_every_policy_names_known_roles_and_bounds_only_roles_it_allows():
    for endpoint, policy in read_policy.POLICY.items():
        assert set(policy.roles) <= set(ROLES), endpoint
        assert set(policy.areas) <= set(policy.roles), endpoint


def test_agencies_and_auditors_give_no_command_and_agencies_read_no_household():
    commands = read_policy.policy_for("api.command").roles
    assert "auditor" not in commands and "agency" not in commands
    for endpoint in ("api.households", "api.household", "api.household_history"):
        assert "agency" not in read_policy.policy_for(endpoint).roles
    assert read_policy.policy_for("api.not_declared").roles == ()


def test_only_program_managers_see_masked_niks_on_beneficiary_lists():
    assert read_policy.masks_nik("api.program_beneficiaries", "program_manager")
    assert not read_policy.masks_nik("api.program_beneficiaries", "supervisor")
    assert not read_policy.masks_nik("api.households", "program_manager")
