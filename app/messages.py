"""What the user reads, through gettext catalogs (Flask-Babel): error codes, interface text,
and dates, numbers and rupiah in the user's language.

Message ids are English; app/translations/id/LC_MESSAGES/messages.po holds the Bahasa
Indonesia (the default language), app/translations/en the English catalog. After changing a
string: `pybabel extract -F babel.cfg -k _l -k N_ -o var/messages.pot . && pybabel update -i
var/messages.pot -d app/translations --ignore-obsolete`, then translate the new `id` entries.
The .mo files are compiled from the .po files when the app starts (`compile_catalogs`).

Error codes come from domain/identity.py (Problem codes), domain/errors.py and the
schemas at the edge. Every message says what to do next and never repeats the value
entered: a NIK, KK number or name must not end up in a message (or a log).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import (
    Babel,
    format_currency,
    format_date,
    format_decimal,
    format_time,
    gettext,
)
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from domain.city import TIMEZONE, WIB
from projections.reconciliation import REASONS as RECONCILIATION_REASONS

log = logging.getLogger("casework.web")

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

# code -> the message (English id; the catalogs translate it)
ERRORS: dict[str, LazyString] = {
    # NIK (domain/identity.py)
    "nik.format": _l("A NIK has exactly 16 digits. Copy it again from the KTP or the family card."),
    "nik.province": _l(
        "The first two digits of the NIK are not a known province code. Check the NIK on the KTP."
    ),
    "nik.region": _l(
        "The regency/city or district code in the NIK (digits 3 to 6) cannot be 00. "
        "Check the NIK on the KTP."
    ),
    "nik.birth_date": _l(
        "The birth-date digits of the NIK (digits 7 to 12) are not a real date. "
        "Check the NIK on the KTP."
    ),
    "nik.birth_date_mismatch": _l(
        "The birth date inside the NIK differs from the birth date entered. "
        "Make both match the KTP or family card."
    ),
    "nik.sex_mismatch": _l(
        "The sex does not match the NIK (for women 40 is added to the day in the NIK). "
        "Check the sex or the NIK."
    ),
    "nik.serial": _l("The last four digits of the NIK cannot be 0000. Check the NIK on the KTP."),
    "nik.taken": _l(
        "This NIK is already registered in another household. Search for it and update the "
        "existing record instead."
    ),
    "nik.already_member": _l("A person with this NIK is already a member of this household."),
    # an erased person's NIK (README, "An erased person stays erased"): says nothing of where
    "nik.unavailable": _l(
        "This NIK cannot be registered. Check the NIK on the KTP; if it is right, ask a supervisor."
    ),
    # KK number (domain/identity.py)
    "kk.format": _l("A KK number has exactly 16 digits. Copy it again from the family card."),
    "kk.province": _l(
        "The first two digits of the KK number are not a known province code. Check the "
        "family card."
    ),
    "kk.region": _l(
        "The region code in the KK number (digits 3 to 6) cannot be 00. Check the family card."
    ),
    "kk.date": _l(
        "The date inside the KK number (digits 7 to 12) is not a real date or lies in the "
        "future. Check the family card."
    ),
    "kk.serial": _l("The last four digits of the KK number cannot be 0000. Check the family card."),
    "kk.taken": _l(
        "This KK number is already registered. Search for it and add members to that household."
    ),
    # Domain state (domain/errors.py)
    "version.stale": _l(
        "Someone else changed this record (a household, a program or an agreement) just now. "
        "Reload the page, check the change, then try again."
    ),
    # a command form whose household changed after it was opened (app/web.py)
    "form.household_changed": _l(
        "Someone else changed this household after this form was opened, so what you entered"
        " was not saved. It is still in the form: check the household page, then save again"
        " to apply it to the household as it is now."
    ),
    "household.not_found": _l("No such household. Check the link or use the search page."),
    "relationship.unknown": _l("Choose the relationship to the head of the family from the list."),
    # Schema (app/schemas.py)
    "field.required": _l("Required."),
    "field.invalid": _l("This value cannot be read. Check what was entered."),
    "field.unknown": _l("Unknown field. Remove it or check the field name's spelling."),
    "query.repeated": _l(
        "This query parameter is given more than once. Give it once, with the one value meant."
    ),
    "field.clash": _l(
        "This field's name is also the name of a group of fields. Send the form as the page "
        "gives it."
    ),
    "field.object": _l('Must be a JSON object, for example {"nik": ..., "name": ...}.'),
    "field.text": _l('Must be text (a JSON string), for example "Jl. Kapten Pattimura No. 5".'),
    "name.empty": _l("Enter the name as written on the KTP."),
    "name.too_long": _l("A name has at most 100 characters. Shorten it as on the KTP."),
    "name.characters": _l(
        "A name holds only letters, spaces and . , ' - as on the KTP; leave out digits and"
        " other signs."
    ),
    "birth_date.format": _l("Enter the birth date as YYYY-MM-DD, for example 1985-03-12."),
    "birth_date.impossible": _l(
        "This birth date does not exist in the calendar (for example 30 February). Check the"
        " day and the month on the KTP or family card."
    ),
    "birth_date.future": _l("The birth date cannot be in the future."),
    "birth_date.too_old": _l("The birth date is too far in the past. Check the year."),
    "sex.invalid": _l("Choose the sex: male or female."),
    "service.unknown": _l("Choose the service from the list (shelter, meal, health check, ...)."),
    "kecamatan.unknown": _l("Choose one of the kecamatan of Kota Jambi."),
    "kelurahan.unknown": _l(
        "This kelurahan is not one of Kota Jambi's, or not in the chosen kecamatan. Choose one"
        " from the list."
    ),
    "address.empty": _l("Enter the address: street, lane and house number."),
    "address.too_long": _l("An address has at most 200 characters."),
    "rt.format": _l("RT is 1 to 3 digits, for example 007."),
    "rw.format": _l("RW is 1 to 3 digits, for example 002."),
    "household_id.format": _l("The household id must be a UUID, as returned at registration."),
    "expected_version.invalid": _l(
        "The expected version must be a whole number, 0 or more (the version last seen)."
    ),
    "reason.too_long": _l("A reason has at most 500 characters."),
    "occurred_at.format": _l(
        "Give the time it happened in RFC 3339 with a time zone, for example"
        " 2025-04-21T09:00:00+07:00."
    ),
    "occurred_at.future": _l("The time it happened cannot be in the future."),
    "occurred_at.too_old": _l("The time it happened cannot be before 1900. Check the year."),
    "text.character": _l(
        "The text holds a control or text-direction character. Retype it without copying "
        "from another program."
    ),
    # Dates and plain values (app/schemas.py, domain/household.py)
    "date.format": _l("Enter the date as YYYY-MM-DD, for example 2025-04-21."),
    "date.impossible": _l(
        "This date does not exist in the calendar (for example 30 February). Check the day and"
        " the month."
    ),
    "date.in_future": _l("This date cannot be in the future. Enter the day it actually happened."),
    "date.too_old": _l("The date is too far in the past (before 1900). Check the year."),
    "date.too_far": _l("The date is too far in the future (after 2100). Check the year."),
    "date.before_birth": _l("This date is before the person's birth date. Check the date."),
    "date.before_family": _l(
        "This date is before anyone in this family was born. Enter the day it actually happened."
    ),
    "date.before_start": _l(
        "This date is before the start date. Enter the same day or a later one."
    ),
    "value.required": _l("Required."),
    "value.reserved": _l(
        "Text starting with 'pd1.' is not accepted (the form of encrypted personal data). "
        "Write the content itself."
    ),
    "id.format": _l(
        "Must be a UUID as the system gave it, for example 0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10. "
        "Copy it from the earlier answer or page."
    ),
    # Membership (domain/household.py)
    "person.not_found": _l("No such provisional person. Check the person_id."),
    "person.deceased": _l(
        "This person is recorded as deceased. Check the NIK; a deceased person's record cannot "
        "be changed by this command."
    ),
    "member.not_found": _l(
        "This NIK is not a member of this household. Check the NIK or choose the right household."
    ),
    "member.not_active": _l(
        "This member is no longer active (moved out or removed). Choose an active member."
    ),
    "member.already_removed": _l("This member was already removed. Nothing more to do."),
    # correcting a member's data (CorrectMember)
    "correction.empty": _l(
        "Enter what to correct: the name, the birth date, the sex or the relationship to the"
        " head, as the KTP or family card shows it."
    ),
    "birth_date.after_death": _l(
        "This birth date is after the member's recorded death. Enter the birth date the KTP or"
        " family card shows."
    ),
    "relationship.of_new_head": _l(
        "This member becomes the head: their relationship is head of the family. Leave them"
        " out of the relationships."
    ),
    "relationship.stated_twice": _l(
        "This member's relationship is given twice. Give each member's relationship once."
    ),
    "relationship.other_head": _l(
        "The relationships were chosen for another new head. Check each member's relationship"
        " to the head now chosen, then save again."
    ),
    "relationship.of_head": _l(
        "The head's relationship is always head of the family. To make another member the"
        " head, use Change the head (ChangeHead)."
    ),
    "correction.unchanged": _l(
        "This is already what the register holds. Enter the value the document shows, or"
        " leave the field empty."
    ),
    "correction.nik_disagrees": _l(
        "This does not agree with the member's NIK (its birth-date digits, and 40 added to the"
        " day for women). If the NIK itself is wrong, it is corrected through Dukcapil (a new"
        " KTP and family card), not here."
    ),
    "member.is_head": _l(
        "The head cannot be removed while other members remain. Change the head first (ChangeHead)."
    ),
    "member.already_head": _l(
        "This person is already the head of the family. Choose another member."
    ),
    "member.not_adult": _l(
        "The new head must be an adult (17 or older) or a spouse. Choose another member."
    ),
    "member.older_than_parent": _l(
        "A child (anak) cannot be born before the head or the head's spouse. Check the birth"
        " date or the relationship."
    ),
    "head.not_adult": _l(
        "The head of a new family must be 17 or older. Check the birth date, or register the"
        " family with an adult as head."
    ),
    "split.head_not_moving": _l(
        "The head of the new family must be one of the members who move. Choose the head"
        " among them, or add the head to the members who move."
    ),
    "split.head_stays": _l(
        "The head of the family stays on this KK. To move the head, change the head first"
        " (ChangeHead), then split the family."
    ),
    "removal.kind_unknown": _l("Choose why the member leaves: moved out, deceased or other."),
    # Identity
    "arrival.type_unknown": _l("Choose the arrival: born here or moved in (pindah datang)."),
    "arrival.arrived_on_required": _l(
        "For a person who moved in (pindah datang), enter the arrival date from the SKPWNI."
    ),
    "arrival.origin_required": _l(
        "For a person who moved in (pindah datang), enter the origin region code (4 or 6"
        " digits) from the SKPWNI."
    ),
    "arrival.after_issue": _l(
        "The arrival date cannot be after the KTP's issue date. Check both dates."
    ),
    "arrival.born_elsewhere": _l(
        "This NIK was first registered outside Kota Jambi, so the person was not born here."
        " Choose moved in (pindah datang) and give the arrival date and the region of origin."
    ),
    "ktp.too_young": _l(
        "A KTP is issued at 17, or earlier to a married person. Check the issue date, the"
        " birth date or the relationship."
    ),
    "region_code.format": _l(
        "The origin region code has 4 digits (regency/city) or 6 (district), for example 3171."
    ),
    "region_code.unknown": _l(
        "No region has this code: the first 2 digits are the province (for example 31), the"
        " next 2 the regency/city, from 01. Copy it from the SKPWNI."
    ),
    "identity.already_linked": _l(
        "This person is already linked to a NIK. Check their history; a link is not repeated."
    ),
    "birth_year.out_of_range": _l(
        "The estimated birth year is 4 digits, from 1900 to this year. Leave it empty if unknown."
    ),
    "found_at.empty": _l(
        "Enter where the person was found, for example a market, street or mosque."
    ),
    "found_at.too_long": _l("Where found has at most 200 characters."),
    "notes.too_long": _l("Notes have at most 2000 characters. Shorten them."),
    # Business
    "nib.format": _l("An NIB has 13 digits. Copy it from the OSS document."),
    "nib.already_registered": _l(
        "This NIB is already recorded as active for this household. Nothing more to do."
    ),
    "nib.not_found": _l("This NIB is not recorded for that NIK. Check the NIB and the NIK."),
    "nib.already_revoked": _l("This NIB was already revoked. Nothing more to do."),
    "business_name.empty": _l("Enter the business name as on the NIB."),
    "business_name.too_long": _l("A business name has at most 200 characters."),
    # Welfare
    "assessment.source_unknown": _l("Choose the source: DTSEN, DTKS, P3KE or VERVAL."),
    "desil.out_of_range": _l("The decile is a whole number from 1 (poorest) to 10."),
    "period.format": _l("Enter the period as YYYY-Qn (quarter 1 to 4), for example 2025-Q1."),
    "period.out_of_range": _l(
        "Enter a period from 2005-Q1 up to the quarter in which the fact is recorded; a later"
        " quarter has not begun yet."
    ),
    "reference.too_long": _l("A reference has at most 200 characters."),
    "reference.empty": _l("Enter the reference: the file and row, or the source's own id."),
    "listing.duplicate": _l(
        "This listing (source, period and reference) is already recorded for this household."
        " Nothing more to do."
    ),
    "listing.benefit_unknown": _l(
        "Aid flags are codes from this list: PKH, BPNT, PBI_JK, BPUM, BST, SEMBAKO."
    ),
    "listing.member_duplicate": _l("This NIK is listed twice. List each member once."),
    "listing.deceased_invalid": _l("Deceased is true or false (in a form: ya or tidak)."),
    "verification.outcome_unknown": _l(
        "Choose the outcome: valid, invalid, moved, not found or deceased."
    ),
    "verifier.empty": _l("Enter the name of the person or team who visited."),
    "verifier.too_long": _l("The verifier has at most 100 characters."),
    # Benefits
    "period.end_before_start": _l("The period cannot end before it starts. Check both dates."),
    "amount.negative": _l("The amount cannot be negative. Enter whole rupiah, 0 or more."),
    "amount.invalid": _l("Enter the amount in whole rupiah: digits only, no dots, commas or Rp."),
    "amount.too_large": _l(
        "The amount is at most 1,000,000,000,000 rupiah. Check the number of digits."
    ),
    "benefit.not_found": _l("No such benefit in this household. Check the benefit_id."),
    "benefit.terminated": _l(
        "This benefit's termination is already recorded from this date or an earlier one (see"
        " its history), so it cannot change from then on. A termination recorded from a date to"
        " come can be brought earlier: enter a date before it."
    ),
    "benefit.not_active": _l(
        "This benefit is already suspended on this date, perhaps by a suspension recorded from a"
        " date to come (see its history), so it cannot be suspended again. To suspend it"
        " earlier, enter a date before that suspension."
    ),
    "benefit.not_suspended": _l(
        "This benefit is not suspended on this date, so there is nothing to resume (see its"
        " history)."
    ),
    "benefit.date_outside_period": _l(
        "The effective date must fall within the benefit's period. Check the period and the date."
    ),
    "benefit.date_before_last_change": _l(
        "The effective date cannot be before a change of this benefit already in force (see its"
        " history). Enter that change's date or a later one; only changes still to come are"
        " replaced by an earlier date."
    ),
    "reason_code.unknown": _l("Choose why the benefit changes from the list of reasons."),
    "rejection.reason_unknown": _l("Choose why the change is rejected from the list of reasons."),
    "review.cause_unknown": _l("Unknown review cause (nib or death)."),
    "review.already_open": _l("A review for the same cause is already open for this benefit."),
    "review.not_found": _l(
        "No review with this id in this household: copy the review id from the review queue."
    ),
    "review.not_open": _l("This review is already closed: see the household's history."),
    "review.decision_unknown": _l("Choose a decision: keep, suspend or terminate the benefit."),
    "review.not_due": _l("This review is not past its deadline yet."),
    # Empowerment
    "enrollment.not_found": _l("No such enrolment. Check the enrollment_id."),
    "enrollment.already_open": _l(
        "This person is still enrolled in this program. Complete the open enrolment first."
    ),
    "enrollment.already_completed": _l("This enrolment is already completed. Nothing more to do."),
    "enrollment.outcome_unknown": _l("Choose the outcome: completed, graduated or dropped out."),
    "enrollment.not_empowerment": _l(
        "This program is not an empowerment program: choose a training or capital program."
        " Aid is given with Grant a benefit."
    ),
    # Casework
    "note_text.empty": _l("Write the note."),
    "note_text.too_long": _l("A note has at most 4000 characters. Split it into several notes."),
    "objection.not_found": _l("No such objection. Check the objection_id."),
    "objection.not_open": _l("This objection is already closed (resolved or lapsed)."),
    "objection.resolution_unknown": _l("Choose the resolution: upheld or rejected."),
    "objection.past_deadline": _l(
        "The 14-day limit to resolve this objection has passed; it lapses."
    ),
    "objection.not_due": _l("This objection has not yet passed its deadline."),
    "objection.other_kelurahan": _l(
        "The objector must live in the same kelurahan as the household objected to."
    ),
    "objection.kelurahan_required": _l(
        "This objector is not in the register: choose the kelurahan where they live (the"
        " objector must live in the same kelurahan as the household)."
    ),
    # Privacy (UU PDP): restriction of processing
    "restriction.already": _l(
        "Processing of this person's data is already restricted. Nothing more to do."
    ),
    "restriction.not_restricted": _l(
        "Processing of this person's data is not restricted, so there is nothing to lift."
    ),
    # Privacy (UU PDP): erasure
    "erasure.unavailable": _l(
        "This person's data cannot be erased: its key was not found. Contact the system "
        "administrator."
    ),
    "erasure.already": _l("This person's personal data is already erased. Nothing more to do."),
    "exemption.unknown": _l("Choose one of the exemption grounds of UU PDP article 15."),
    "exemption.not_erasure": _l(
        "An exemption ground can only be given when rejecting an erasure request."
    ),
    "restriction_grounds.empty": _l(
        "Write the grounds for the restriction (for example the data subject's request)."
    ),
    "restriction_grounds.too_long": _l(
        "The grounds for the restriction have at most 2000 characters."
    ),
    "grounds.empty": _l("Write the grounds of the objection."),
    "grounds.too_long": _l("The grounds have at most 2000 characters."),
    "photo_reference.empty": _l("An objection needs a photo: enter where the photo is kept."),
    "photo_reference.too_long": _l("The photo reference has at most 500 characters."),
    "coordinates.format": _l(
        "Coordinates are decimal numbers with a dot, for example -1.6101 and 103.6131."
    ),
    "coordinates.out_of_range": _l(
        "Coordinates out of range: latitude -90 to 90, longitude -180 to 180."
    ),
    "coordinates.outside_city": _l(
        "These coordinates are not in Kota Jambi (latitude about -1.6, longitude about 103.6)."
        " Check the minus sign of the latitude, or read them again from the photo."
    ),
    # Agency agreements (domain/agreement.py)
    "agreement.exists": _l(
        "This agency already has an agreement. Change it (ChangeAgencyAgreement) instead."
    ),
    "agreement.not_found": _l(
        "No agreement has this agency code. See the list on the agencies page."
    ),
    "agreement.revoked": _l(
        "This agreement is revoked. A revoked agreement cannot change; define a new one"
        " under another agency code if the agency needs data again."
    ),
    "agreement.agency_invalid": _l(
        "An agency code is 2 to 32 letters, digits, - or _, for example BPJSKES."
    ),
    "agreement.event_types_empty": _l("Choose at least one kind of event the agency receives."),
    "agreement.event_type_unknown": _l(
        "Not a kind of event an agency may receive. Use the names of the event catalogue,"
        " for example HouseholdRegistered or MemberAdded."
    ),
    "agreement.fields_invalid": _l(
        "Write the fields as one kind of event a line, a colon, then its fields separated by"
        " commas, for example: HouseholdRegistered: kecamatan, kelurahan, head.nik"
    ),
    "agreement.fields_event_type": _l(
        "Fields are given for a kind of event the agreement does not include. Add it to the"
        " event types or remove its line."
    ),
    "agreement.field_unknown": _l(
        "This kind of event has no such field. Use its data fields, and parent.child for a"
        " nested person, for example head.nik."
    ),
    "agreement.personal_unknown": _l("Choose how personal data is delivered: pseudonym or opened."),
    "agreement.valid_until_before_from": _l(
        "The end date is before the start date. Check both dates."
    ),
    "agreement.purpose_required": _l("Enter the purpose of the data sharing."),
    "agreement.legal_basis_required": _l(
        "Enter the legal basis, for example the cooperation agreement (PKS) and its number."
    ),
    "agreement.request_pending": _l(
        "A request about this agency's agreement is already waiting for approval. Have it"
        " decided first: another supervisor approves or rejects it under Approvals; then ask"
        " again if still needed."
    ),
    "purpose.empty": _l("Enter the purpose of the data sharing."),
    "purpose.too_long": _l("The purpose has at most 500 characters."),
    "legal_basis.empty": _l(
        "Enter the legal basis, for example the cooperation agreement (PKS) and its number."
    ),
    "legal_basis.too_long": _l("The legal basis has at most 500 characters."),
    "agency.required": _l(
        "An agency account needs its agency code (2 to 32 letters, digits, - or _),"
        " for example BPJSKES."
    ),
    # Programs (domain/program.py)
    "program.exists": _l(
        "This program code is taken. Choose another code or change the existing program's rules."
    ),
    "program.not_found": _l("No program has this code. See the list of programs."),
    "program.version_stale": _l(
        "The program changed after the version given as the expected version. Check its"
        " current rules and version on the program's page, then ask again with that version,"
        " or leave the expected version empty."
    ),
    "program.code_invalid": _l(
        "A program code is letters, digits, - or _ (at most 32), for example PKH."
    ),
    "program.name_required": _l("Enter the program's name."),
    "program_name.empty": _l("Enter the program's name."),
    "program_name.too_long": _l("A program name has at most 200 characters."),
    "program.opd_required": _l("Enter the OPD that runs the program, for example DINSOS."),
    "opd.invalid": _l("Enter the OPD code: letters and digits (at most 50), for example DINSOS."),
    "opd.required": _l("A program manager needs an OPD. Enter its code."),
    "opd.unknown": _l(
        "No program belongs to this OPD. Choose an OPD from the list, for example DINSOS."
    ),
    "program.funding_unknown": _l("Choose the funding: APBN, APBD, BAZNAS or OTHER."),
    "program.kind_unknown": _l(
        "Choose the kind: social assistance (bansos), empowerment or insurance."
    ),
    "program.yearly_target_invalid": _l(
        "Enter the yearly target as a whole number of families, from 1 to 10,000,000, or"
        " leave it empty."
    ),
    "program.not_in_force": _l(
        "The program is not in force on the start date. Check the start date or the rules."
    ),
    "rules.desil_too_high": _l(
        "The family's welfare decile is above the program's limit. Check the DTSEN data."
    ),
    "rules.residence_too_short": _l(
        "Residence since arriving in Kota Jambi is shorter than the program requires."
    ),
    "rules.residence_unknown": _l(
        "This program needs a minimum residence, and the person's arrival is not recorded."
        " Record the KTP with its arrival (IssueKtp) first."
    ),
    "rules.nib_holder": _l("The recipient holds an active NIB; this program excludes NIB holders."),
    "rules.once_per_kk": _l("This program is once per KK and this family has already received it."),
    "rules.not_combinable": _l(
        "The recipient already receives a program that cannot be combined with this one."
    ),
    "rules.recipient": _l(
        "The person chosen is not one this program pays. Check the program's recipient rule:"
        " the head of family, an adult woman or any active member."
    ),
    "rules.double_receipt": _l(
        "The person already receives this program over an overlapping period. Choose a period "
        "after the current benefit ends."
    ),
    "identity.double_receipt": _l(
        "The NIK already receives this program over a period that overlaps a benefit of the"
        " person without papers. Terminate one of the two (reason: receives aid twice), then"
        " link the identity."
    ),
    "rules.needs_nik": _l(
        "This program helps only people with a NIK. Choose a program that serves people"
        " without a NIK (social rehabilitation), or link the person's NIK first."
    ),
    "rules.invalid": _l('The rules must be a JSON object, for example {"max_desil": 4}.'),
    "rules.field_unknown": _l("Unknown rule. See the rules listed in openapi.json."),
    "rules.max_desil_invalid": _l(
        "The highest decile is a whole number from 1 to 10; leave it empty for no limit."
    ),
    "rules.min_residence_months_invalid": _l(
        "The minimum residence is a whole number of months, 0 or more."
    ),
    "rules.flag_invalid": _l("Choose yes (true) or no (false)."),
    "rules.combinable_with_invalid": _l(
        'Give a list of program codes it combines with, for example ["BPNT"] (in the form: '
        "separated by commas)."
    ),
    "rules.combinable_with_unknown": _l(
        "A code in this list is not a defined program. Use the codes of the program list; a"
        " new program is defined first, then added here."
    ),
    "rules.combinable_with_self": _l(
        "A program is not combined with itself (a second benefit of the same program is a"
        " double receipt). Remove its own code from the list."
    ),
    "rules.recipient_unknown": _l(
        "Choose the recipient: the head of family, an adult woman or any member."
    ),
    "rules.desil_source_invalid": _l(
        'The decile source rule must be a JSON object, for example {"order": ["DTSEN"]}.'
    ),
    "rules.desil_source_unknown": _l(
        "List the decile sources, each once, from DTSEN, VERVAL, DTKS and P3KE; the first decides."
    ),
    "rules.desil_source_verval_missing": _l(
        "A field verification can only override when VERVAL is among the sources listed."
    ),
    "rules.desil_tolerance_invalid": _l(
        "The tolerance is a whole number of deciles from 0 to 9; leave it empty not to compare "
        "the sources."
    ),
    "rules.effective_from_invalid": _l("Enter the effective date as YYYY-MM-DD."),
    "rules.effective_from_before_previous": _l(
        "New rules cannot take effect before the previous version. Choose that day or later."
    ),
    # Maker-checker (domain/approval.py)
    "approval.not_found": _l("No such approval request. Check the approval_id."),
    "approval.decided": _l(
        "This request was already decided (approved or rejected). Reload the approvals list."
    ),
    "approval.refused": _l(
        "This change can no longer be carried out on the household as it is now, so the "
        "request was closed as refused; the reasons are kept with it. Ask for a new change if "
        "one is still needed."
    ),
    "approval.outdated": _l(
        "This request was made on an older state of its record (a household, a program or an "
        "agreement), which has changed since, so it cannot be approved. Reject it, or ask the "
        "requester to request it again."
    ),
    "approval.self": _l("You cannot decide your own request. Ask another supervisor."),
    "approval.supervisor_only": _l(
        "Only a supervisor can approve or reject a change. Sign in as a supervisor or ask one "
        "to decide."
    ),
    "approval.command_unknown": _l("This command cannot be submitted for approval."),
    "approval.note_required": _l("Write why it is rejected, so the requester knows what to fix."),
    "approval.person_erased": _l(
        "The personal data of the person this change is about has been erased, so it can no "
        "longer be carried out. The request is closed as refused."
    ),
    "note.empty": _l("Write why it is rejected, so the requester knows what to fix."),
    "note.too_long": _l("A note has at most 500 characters."),
    # Accounts (domain/accounts.py)
    "user.name_invalid": _l("A user name has 2 to 64 characters: letters, digits, dot, _, @ or -."),
    "user.exists": _l("This user name is taken. Choose another."),
    "user.not_found": _l("No such user. Check the user name."),
    "user.inactive": _l("This user has been deactivated. Contact the administrator."),
    "role.unknown": _l(
        "Unknown role. Choose caseworker, supervisor, auditor, program_manager, agency or admin."
    ),
    "kelurahan.required": _l("A caseworker needs at least one kelurahan. Enter it."),
    "kelurahan.not_caseworker": _l(
        "Only a caseworker is limited to kelurahan; other roles see the whole city. Leave the "
        "kelurahan out, or choose the caseworker role."
    ),
    "user.agency_fixed": _l(
        "An agency account stays the account of its agency. Add a new account for another "
        "role or agency, and deactivate this one."
    ),
    "token.not_found": _l("Unknown token. Issue a new one."),
    "token.revoked": _l("This token has been revoked. Issue a new one."),
    "token.expired": _l("This token has expired. Issue a new one."),
    "token.days_invalid": _l("A token is valid for 1 to 730 days. Enter a number in that range."),
    # Access (app/auth.py)
    # a web page reached without a session (app/login.py signs every page in first)
    "auth.session_missing": _l("Your session has ended. Please sign in again."),
    "auth.token_missing": _l(
        "Send an API token: the header Authorization: Bearer <token>. Ask the administrator for "
        "one (casework tokens issue NAME)."
    ),
    "auth.token_expired": _l(
        "The API token has expired. Ask the administrator for a new one (casework tokens issue "
        "NAME)."
    ),
    "auth.too_many_failures": _l(
        "Too many wrong API tokens from this address. Wait the seconds in Retry-After, then "
        "send a valid token."
    ),
    "auth.token_invalid": _l(
        "The API token is unknown, revoked, or its user inactive. Ask the administrator for a "
        "new one."
    ),
    "auth.read_only": _l(
        "Your role may read data but not change it. Ask a caseworker or supervisor to record "
        "this change."
    ),
    "auth.role": _l("Your role may not give this command. Ask a supervisor or the administrator."),
    "auth.read": _l("Your role may not read this. Ask a supervisor or the administrator."),
    "auth.own": _l(
        "You can only follow the requests you made yourself. Ask a supervisor about this one."
    ),
    "auth.kelurahan": _l(
        "This household is outside your kelurahan. Ask that kelurahan's caseworker or a supervisor."
    ),
    "auth.area": _l(
        "This kelurahan is outside your area. Choose one of your own kelurahan, or ask that "
        "kelurahan's caseworker or a supervisor."
    ),
    "auth.kecamatan": _l(
        "This kecamatan is outside your area. Ask that area's caseworker or a supervisor."
    ),
    "auth.opd": _l(
        "This program belongs to another OPD. You can only manage your own OPD's programs."
    ),
    # Idempotency (app/idempotency.py)
    "idempotency.in_progress": _l(
        "A request with the same Idempotency-Key is still running. Wait a moment, then send it "
        "again with the same key."
    ),
    "idempotency.key_reused": _l(
        "This Idempotency-Key was used for a different request. Use a new key for a new request."
    ),
    "idempotency.key_invalid": _l(
        "An Idempotency-Key has at most 200 characters. Use a UUID, for example."
    ),
    "body.json": _l(
        "The request body is not valid JSON. Send one JSON object (Content-Type: application/json)."
    ),
    "body.duplicate_key": _l(
        "This field is given more than once in the JSON body. Send each field once only."
    ),
    "body.media_type": _l("Send the body as JSON, with the header Content-Type: application/json."),
    "body.too_deep": _l(
        "The JSON body nests too deeply (at most 32 levels). Send the command's fields as "
        "documented in /api/v1/openapi.json."
    ),
    "command.unknown": _l("Unknown command. See the commands in /api/v1/openapi.json."),
    "route.not_found": _l("No such address in the API. See /api/v1/openapi.json."),
    "method.not_allowed": _l("This HTTP method is not accepted here. See /api/v1/openapi.json."),
    "request.bad": _l("The request cannot be read. Check its body and headers."),
    "request.too_large": _l("The request is too large (at most 1 MB)."),
    "server.error": _l(
        "The server failed. Check whether the data was stored, then try again; if it keeps "
        "failing, contact the administrator."
    ),
    "limit.invalid": _l("limit must be a whole number from 1 to 100."),
    "reconciliation.reason_unknown": _l("Choose one of these reasons: %(reasons)s."),
    "overdue.invalid": _l("overdue must be true or false."),
    "offset.invalid": _l("offset must be a whole number, 0 or more."),
    "after.invalid": _l("after must be a position in the store: a whole number, 0 or more."),
    "anchor.invalid": _l(
        "anchor must be POSITION:LINK as `casework audit anchor` prints it: the position, a"
        " colon and the link's 64 hex digits."
    ),
    "since.invalid": _l(
        "since must be an RFC 3339 time with its time zone (2026-11-01T09:00:00+07:00) or a"
        " date (YYYY-MM-DD: the start of that day in WIB), from 1900 to 2100."
    ),
    "wait.invalid": _l("wait must be a whole number of seconds from 0 to 30."),
    "agency.unknown": _l(
        "This account is not bound to an agency. Ask the administrator to add it with its"
        " agency code."
    ),
    "feed.after_beyond_end": _l(
        "No event has this position yet: the feed would skip every event stored up to it."
        " Send the 'next' of your last answer, or 0 to start from the beginning."
    ),
    "agency.no_agreement": _l(
        "Your agency has no data-sharing agreement in force (none yet, revoked or expired)."
        " Ask the administrator."
    ),
    "agency.invalid": _l("Enter an agency code: 2 to 32 capital letters, digits, _ or -."),
    "stream_id.invalid": _l("stream_id must be a stream's id (a UUID), as in the dead letters."),
    "webhook.url_invalid": _l(
        "Enter the full URL of your endpoint, for example https://example.org/casework, at most"
        " 2048 characters, without a user name or password."
    ),
    "webhook.url_forbidden": _l(
        "This address cannot receive deliveries: it is this server's own (loopback) or a"
        " link-local, multicast or unspecified address. Give the agency's own https endpoint."
    ),
    "webhook.url_not_https": _l(
        "The endpoint must use https."
    ),
    "webhook.url_ip_form": _l(
        "Write an IP address as four numbers from 0 to 255 separated by dots, for example"
        " https://10.1.2.3/casework, or give the endpoint's host name."
    ),
    "until.invalid": _l(
        "until must be an RFC 3339 time with its time zone (2026-11-01T09:00:00+07:00) or a"
        " date (YYYY-MM-DD: the end of that day in WIB), from 1900 to 2100, later than since."
    ),
    "as_of.invalid": _l(
        "as_of must be an RFC 3339 time with its offset (2026-11-01T09:00:00+07:00) or a date"
        " (YYYY-MM-DD: the end of that day in WIB), from 1900 to 2100."
    ),
    "as_of.required": _l("mode is given without as_of: give as_of too, or leave mode out."),
    "mode.invalid": _l("mode must be known (as known then) or effective (as it was)."),
    "from.invalid": _l(
        "from must be an RFC 3339 time with its offset or a date (YYYY-MM-DD), from 1900 to 2100."
    ),
    "to.invalid": _l(
        "to must be an RFC 3339 time with its offset or a date (YYYY-MM-DD), from 1900 to 2100."
    ),
    "from.after_to": _l("from is after to: give the earlier moment as from."),
    # the breach report's window (GET /api/v1/privacy/breach-report)
    "breach.moment_invalid": _l(
        "Give an RFC 3339 time with its time zone, for example 2026-11-01T09:00:00+07:00,"
        " from 1900 to 2100."
    ),
    "breach.to_before_from": _l("to must be later than from: give the window's end as to."),
    # time travel answers for the past, up to the end of today (WIB)
    "as_of.future": _l("as_of is after today: choose a moment up to the end of today."),
    "from.future": _l("from is after today: choose a moment up to the end of today."),
    "to.future": _l("to is after today: choose a moment up to the end of today."),
    # the same, on the time-travel page's fields (a date and time in WIB, by the picker)
    "moment.invalid": _l(
        "Choose a date and time (WIB) that exists, from 1 January 1900 up to today, for"
        " example with the calendar."
    ),
    "moment.future": _l("This moment is after today: choose one up to the end of today."),
    # a window's From and To on the audit log, the read log and the breach report
    "window.moment": _l(
        "Choose a date and time (WIB) that exists, from 1 January 1900 to 31 December 2100,"
        " for example with the calendar."
    ),
    "household.not_yet": _l(
        "The household had not been recorded (or had not happened) by that moment: choose a"
        " later one."
    ),
    "nik.unknown": _l("This NIK is not recorded in the system: no personal data is held about it."),
    "csrf.invalid": _l("The form has expired. Reload the page and send it again."),
    "store.unavailable": _l("The database cannot be reached right now. Try again in a moment."),
    "view.filling": _l(
        "These data are being computed again from every event, so this answer is not known yet."
        " Try again after the seconds in Retry-After."
    ),
    # Importing files (app/importer.py): the reasons of FILE.rejected.csv
    "import.columns": _l(
        "The row has fewer columns than the header. Check for a missing separator (|) or a"
        " line break inside a cell."
    ),
    "import.duplicate_nik": _l(
        "This NIK appears on an earlier row of the file; only the first row was imported."
        " Check which row is right."
    ),
    "import.duplicate_kk": _l(
        "This family (KK number or family id) appears on an earlier row of the file; only the"
        " first row was imported."
    ),
    "import.no_head": _l(
        "The family has no head of family among the rows accepted: the head's row is missing"
        " from the file, or was refused (its reason is on its own row of this report). Correct"
        " or add the head's row and import the file again."
    ),
    "import.second_head": _l(
        "The family already has a head of family. Check the relationship on this row."
    ),
    "import.head_deceased": _l(
        "The head of family is marked as deceased, so the family cannot be registered. Enter"
        " the new head first."
    ),
    "import.family_missing": _l(
        "No family row of the file has this family's KK number or id. Check the number, or"
        " add the family's row."
    ),
    "import.family_refused": _l(
        "Another row of this family was refused, so the family was not imported. Correct that"
        " row and import the file again."
    ),
    "import.household_unknown": _l(
        "No household in the register has this KK number. Register the family first."
    ),
    "import.kk_missing": _l(
        "The family is not in the register and the file gives no KK number, so it cannot be"
        " registered. Add the KK number (column no_kk)."
    ),
    "import.nik_elsewhere": _l(
        "This NIK is a member of another household in the register; the person was not"
        " added twice. Check which family card the person is on."
    ),
    "import.nik_not_member": _l(
        "The person met (column nik) is not a member of the household of this KK number in the"
        " register, or, without a KK number, of any household. Check the NIK and the KK number."
    ),
    "import.scientific": _l(
        "The spreadsheet stored this NIK or KK number as a number (shown as 1.57101E+15), which"
        " keeps only 15 digits: its last digits are lost and cannot be read back. Format the"
        " column as Text in the source file, enter the 16 digits again and export it anew."
    ),
    "import.flag": _l("Enter Ya or Tidak (or 1 or 0)."),
    "import.province_other": _l(
        "This row is of another province; this register keeps Kota Jambi (Jambi, code 15)."
        " Import it in its own region's system."
    ),
    "import.city_other": _l(
        "This row is of another kabupaten or kota; this register keeps Kota Jambi (code 15.71)."
        " Import it in its own region's system."
    ),
    "import.too_large": _l(
        "The row is too large to be read (a cell of more than 131,072 characters, or a row of"
        " more than 1,048,576): it was not imported. Check the row for text pasted by mistake."
    ),
    "import.sheet_left": _l(
        "After 10,000 empty rows the rest of this sheet was not read. If rows follow, remove"
        " the empty rows and import the file again."
    ),
}

# An import's reasons where the import accepts more than the API (app/import_layouts.py
# `day`, app/import_files.py): dates written as the sources write them, not YYYY-MM-DD only.
IMPORT_ERRORS: dict[str, LazyString] = {
    "birth_date.format": _l(
        "Enter the birth date as DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD, for example 12-03-1985"
        " (a time after it is left out; in a workbook, a date cell also does). A two-digit"
        " year is not read."
    ),
    "birth_date.impossible": _l(
        "This birth date does not exist in the calendar (for example 31-02-2020). Check the"
        " day and the month on the KTP or family card."
    ),
    "date.format": _l(
        "Enter the date as DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD, for example 21-04-2025 (a"
        " time after it is left out; in a workbook, a date cell also does). A two-digit year"
        " is not read."
    ),
    "date.impossible": _l(
        "This date does not exist in the calendar (for example 31-02-2020). Check the day and"
        " the month."
    ),
    # the sources write a sex and a relationship as codes or names (app/import_layouts.py
    # `sex`, `relationship`), not as the web form's choices
    "sex.invalid": _l(
        "Enter the sex as 1, L or Laki-laki (male), or 2, P or Perempuan (female)."
    ),
    "verification.outcome_unknown": _l(
        "Enter the outcome (hasil) as valid or sesuai, invalid or tidak sesuai, moved or"
        " pindah, not_found or tidak ditemukan, deceased or meninggal."
    ),
    "relationship.unknown": _l(
        "Enter the relationship to the head of the family as the source's code (Dukcapil's"
        " 1 to 11; DTSEN's own 1 to 8 in a DTSEN file) or its name, for example kepala"
        " keluarga, istri, anak or cucu."
    ),
}


# A row refused because of other rows of its family (app/importer.py): the rows at fault
# named, by whose they are ("head", "family" or ""); %(causes)s: each row and its reason.
IMPORT_CAUSED: dict[tuple[str, str], LazyString] = {
    ("import.family_refused", "head"): _l(
        "The family was not imported because the head's row was refused: %(causes)s Correct"
        " that row and import the file again."
    ),
    ("import.family_refused", "family"): _l(
        "The family was not imported because its family row was refused: %(causes)s Correct"
        " that row and import the file again."
    ),
    ("import.family_refused", ""): _l(
        "The family was not imported because another of its rows was refused: %(causes)s"
        " Correct that row and import the file again."
    ),
    ("import.no_head", ""): _l(
        "The family has no head of family among the rows accepted. Its rows refused:"
        " %(causes)s If the head's row is among them, correct it; otherwise add the head's"
        " row. Then import the file again."
    ),
}


def import_message(
    code: str,
    whose: str = "",
    causes: tuple[tuple[str, int, str], ...] = (),
    table: str = "",
) -> str:
    """The message of an error code in an import's report (`IMPORT_ERRORS`, else the API's),
    in the current language; for a row of `table` refused because of others (`causes`:
    (table, row, code) each, `whose` they are), naming those rows and their reasons."""
    template = IMPORT_CAUSED.get((code, whose)) if causes else None
    if template is None:
        entry = IMPORT_ERRORS.get(code)
        return str(entry) if entry is not None else message(code)
    reasons: dict[tuple[str, int], list[str]] = {}
    for at_table, row, cause in causes:
        reasons.setdefault((at_table, row), []).append(import_message(cause))
    said = []
    for (at_table, row), texts in reasons.items():
        where = (
            gettext("row %(row)s", row=row)
            if at_table == table
            else gettext("row %(row)s of %(file)s", row=row, file=at_table)
        )
        said.append(gettext("%(where)s: %(reason)s", where=where, reason=" ".join(texts)))
    return str(template) % {"causes": " ".join(said)}


# Interface text: key -> (Bahasa Indonesia, English)
# Interface text looked up by key from Python (labels chosen at run time); templates use
# _("...") directly.
TEXT: dict[str, LazyString] = {
    "form.yes": _l("Yes"),
    "form.no": _l("No"),
    "command.pending": _l("Request kept, waiting for a supervisor's approval."),
    "command.sent_twice": _l("This form was sent twice; it was saved once."),
    "command.sent_twice_pending": _l(
        "This form was sent twice and the first sending is still being saved. Check the"
        " household page or your requests before sending it again."
    ),
    "field.RestrictProcessing.grounds": _l("Grounds for the restriction"),
    "field.RequestErasure.reason": _l("The data subject's request (letter, date)"),
    "field.CorrectMember.nik": _l("Member whose data is corrected"),
    "field.ChangeHead.nik": _l("New head of the family"),
    "field.ChangeHead.relationships": _l("Relationships to the new head"),
    "hint.ChangeHead.relationships": _l(
        "As the new family card shows them. Filled in where the old card leaves no doubt;"
        " choose the ones marked Check."
    ),
    "field.CorrectMember.name": _l("Corrected name"),
    "field.CorrectMember.birth_date": _l("Corrected birth date"),
    "field.CorrectMember.sex": _l("Corrected sex"),
    "field.CorrectMember.relationship": _l("Corrected relationship to the head"),
    "field.CorrectMember.reason": _l("The document showing the right value (e.g. KTP, KK)"),
    "hint.CorrectMember.name": _l(
        "As on the KTP. Fill in only what is wrong; an empty field stays as it is."
    ),
    "field.exemption": _l("Exemption ground (UU PDP article 15), when refusing an erasure"),
    "opt.service.shelter": _l("Shelter (panti, rumah singgah)"),
    "opt.service.meal": _l("Meal"),
    "opt.service.health_check": _l("Health check"),
    "opt.service.clothing": _l("Clothing"),
    "opt.service.transport_home": _l("Journey home"),
    "opt.service.document_help": _l("Help with KTP or KK at Dukcapil"),
    "opt.service.counselling": _l("Counselling"),
    "opt.service.other": _l("Other help"),
    "opt.exemption.national_defense": _l("National defence and security"),
    "opt.exemption.law_enforcement": _l("Law enforcement"),
    "opt.exemption.state_administration": _l("Public interest in the administration of the state"),
    "opt.exemption.financial_supervision": _l(
        "Supervision of financial services, monetary and payment systems"
    ),
    "opt.exemption.statistics_research": _l("Statistics and scientific research"),
    "field.reason_code": _l("Reason"),
    "opt.reason_code.no_longer_eligible": _l("No longer meets the program's requirements"),
    "opt.reason_code.conditions_not_met": _l("The program's obligations were not met"),
    "opt.reason_code.deceased": _l("The recipient died"),
    "opt.reason_code.moved_away": _l("Moved out of the city"),
    "opt.reason_code.nib_holder": _l("Holds a business registration (NIB)"),
    "opt.reason_code.double_receipt": _l("Receives aid twice"),
    "opt.reason_code.data_invalid": _l("The data was found invalid (verification)"),
    "opt.reason_code.graduated": _l("Graduated: no longer needs aid"),
    "opt.reason_code.recipient_request": _l("At the recipient's request"),
    "opt.reason_code.issue_resolved": _l("The problem has been resolved"),
    "opt.reason_code.other": _l("Other (say what in the reason)"),
    "opt.reason_code.insufficient_evidence": _l("Not enough evidence"),
    "opt.reason_code.rules_not_met": _l("Does not meet the program's rules"),
    "opt.reason_code.data_incorrect": _l("The data is incorrect"),
    "opt.reason_code.duplicate": _l("A duplicate request"),
    "opt.reason_code.wrong_dates": _l("The dates or the period are wrong"),
    "opt.reason_code.legal_exemption": _l("An exemption under the law (UU PDP article 15)"),
    "field.nik_key": _l("NIK keyed hash"),
    "field.kk_key": _l("KK number keyed hash"),
    "field.household_id": _l("Household id"),
    "field.person": _l("Member"),
    "field.head": _l("Head of family"),
    "field.arrival": _l("Arrival"),
    "field.rules": _l("Eligibility rules"),
    "field.kind": _l("Why the member leaves"),
    "field.DefineProgram.kind": _l("Kind of program"),
    "field.DefineProgram.name": _l("Program name"),
    "field.RegisterHomelessPerson.name": _l("Name (as given, or a description)"),
    "field.effective_date": _l("Effective from"),
    "field.new_kk_number": _l("New KK number"),
    "field.members": _l("Members who move"),
    "field.new_head_nik": _l("Head of the new family"),
    "field.SplitFamily.effective_date": _l("Split on"),
    "field.SplitFamily.kecamatan": _l("New kecamatan (if they move)"),
    "field.SplitFamily.kelurahan": _l("New kelurahan (if they move)"),
    "field.SplitFamily.address": _l("New address (if they move)"),
    "hint.members": _l("Choose every member who moves; hold Ctrl (or Cmd) to choose several."),
    "field.date_of_death": _l("Date of death"),
    "field.issued_on": _l("KTP issued on"),
    "field.type": _l("Arrival type"),
    "field.arrived_on": _l("Arrived on"),
    "field.origin_region_code": _l("Origin region code"),
    "field.estimated_birth_year": _l("Estimated birth year"),
    "field.found_at": _l("Where found"),
    "field.notes": _l("Notes"),
    "field.service": _l("Service"),
    "field.delivered_on": _l("Given on"),
    "field.person_id": _l("Provisional person id"),
    "field.nib": _l("NIB"),
    "field.business_name": _l("Business name"),
    "field.registered_on": _l("Registered on"),
    "field.revoked_on": _l("Revoked on"),
    "field.source": _l("Source"),
    "field.desil": _l("Decile"),
    "field.period": _l("Period"),
    "field.reference": _l("Reference"),
    "field.benefits": _l("Aid the source marks"),
    "field.RecordSourceListing.kk_number": _l("KK number in the source"),
    "field.RecordSourceListing.desil": _l("Decile in the source"),
    "hint.RecordSourceListing.members": _l(
        "One member per line: NIK, relationship (kepala_keluarga, istri, anak, ...), and"
        " ya if the source marks them deceased, for example: NIK, anak, ya"
    ),
    "hint.RecordSourceListing.reference": _l(
        "The file and row, or the source's own id, for example keluarga_dtsen.csv#row=12."
    ),
    "hint.benefits": _l("Codes separated by commas: PKH, BPNT, PBI_JK, BPUM, BST, SEMBAKO."),
    "field.outcome": _l("Outcome"),
    "field.visited_on": _l("Visited on"),
    "field.verifier": _l("Verifier"),
    "field.agency": _l("Agency code"),
    "field.purpose": _l("Purpose"),
    "field.legal_basis": _l("Legal basis"),
    "field.event_types": _l("Events the agency receives"),
    "field.fields": _l("Fields of each event"),
    "field.personal": _l("Personal data"),
    "field.valid_from": _l("Valid from"),
    "field.valid_until": _l("Valid until"),
    "field.DefineAgencyAgreement.kecamatan": _l("Kecamatan (empty: the whole city)"),
    "field.DefineAgencyAgreement.kelurahan": _l("Kelurahan (empty: the whole city)"),
    "field.ChangeAgencyAgreement.kecamatan": _l("Kecamatan (empty: the whole city)"),
    "field.ChangeAgencyAgreement.kelurahan": _l("Kelurahan (empty: the whole city)"),
    "opt.personal.pseudonym": _l("As pseudonyms (NIK and KK replaced, names left out)"),
    "opt.personal.opened": _l("Opened (NIK, names and dates in clear)"),
    "hint.event_types": _l(
        "Names separated by commas, for example HouseholdRegistered, MemberAdded, BenefitGranted"
    ),
    "hint.fields": _l(
        "One event a line: its name, a colon, its fields separated by commas, for example"
        " HouseholdRegistered: kecamatan, kelurahan, head.nik"
    ),
    "hint.DefineAgencyAgreement.kecamatan": _l("Names separated by commas; empty: the whole city"),
    "hint.DefineAgencyAgreement.kelurahan": _l("Names separated by commas; empty: the whole city"),
    "hint.ChangeAgencyAgreement.kecamatan": _l("Names separated by commas; empty: the whole city"),
    "hint.ChangeAgencyAgreement.kelurahan": _l("Names separated by commas; empty: the whole city"),
    "hint.valid_until": _l("Leave empty for no end date"),
    "field.code": _l("Program code"),
    "field.opd": _l("OPD"),
    "field.funding": _l("Funding"),
    "field.effective_from": _l("Valid from"),
    "field.max_desil": _l("Highest decile"),
    "field.min_residence_months": _l("Minimum residence (months)"),
    "field.excludes_nib_holders": _l("NIB holders excluded"),
    "field.once_per_kk": _l("Once per KK"),
    "field.serves_without_nik": _l("Serves people without a NIK"),
    "field.combinable_with": _l("Combinable with"),
    "field.recipient": _l("Recipient"),
    "field.desil_source": _l("Where the decile comes from"),
    "field.rules.desil_source.order": _l("Decile sources, the first decides"),
    "hint.order": _l("Source codes separated by commas: DTSEN, VERVAL, DTKS, P3KE"),
    "field.yearly_target": _l("Yearly target (families)"),
    "field.verification_overrides": _l("A later field verification overrides"),
    "field.tolerance": _l("Tolerance between sources (deciles)"),
    "field.program": _l("Program code"),
    "field.period_start": _l("Period start"),
    "field.period_end": _l("Period end"),
    "field.amount": _l("Amount (rupiah)"),
    "field.benefit_id": _l("Benefit id"),
    "field.enrolled_on": _l("Enrolled on"),
    "field.enrollment_id": _l("Enrolment id"),
    "field.completed_on": _l("Completed on"),
    "field.text": _l("Note"),
    "field.objector_nik": _l("Objector's NIK"),
    "field.objector_kelurahan": _l("Objector's kelurahan"),
    "field.grounds": _l("Grounds"),
    "field.filed_on": _l("Filed on"),
    "field.photo_reference": _l("Photo reference"),
    "field.latitude": _l("Latitude"),
    "field.longitude": _l("Longitude"),
    "field.objection_id": _l("Objection id"),
    "field.resolution": _l("Resolution"),
    "field.resolved_on": _l("Resolved on"),
    "field.approval_id": _l("Approval id"),
    "field.review_id": _l("The review to decide"),
    "field.deadline": _l("Deadline"),
    "field.decision": _l("Decision"),
    "opt.decision.keep": _l("Keep the benefit"),
    "opt.decision.suspend": _l("Suspend the benefit from today"),
    "opt.decision.terminate": _l("Terminate the benefit (a second supervisor approves)"),
    "field.note": _l("Decision note"),
    "field.expected_version": _l("Expected version"),
    "field.reason": _l("Reason"),
    "field.occurred_at": _l("When it happened"),
    "field.moved_on": _l("Moved on"),
    # fields of stored events only (the subject-access report and the timeline show them)
    "field.cause": _l("Cause"),
    "field.trigger": _l("Event that opened it"),
    "field.deceased": _l("Deceased"),
    "field.head_identity": _l("The head's KTP and arrival"),
    "field.ktp_issued_on": _l("KTP issued on"),
    "field.residence_since": _l("Living here since"),
    "field.new_household_id": _l("New household id"),
    "field.split_from": _l("Split off from household"),
    "field.previous_head_nik": _l("NIK of the previous head"),
    "field.previous_kk_number": _l("Previous KK number"),
    "field.relationships": _l("Relationships to the new head"),
    "field.replaces_desil": _l("Replaces the decile"),
    "field.status": _l("Status"),
    "field.subject": _l("Data subject"),
    # a review's cause, as the queue says it (web.REVIEW_CAUSES)
    "opt.cause.nib": _l("NIB registered"),
    "opt.cause.death": _l("death"),
    "opt.cause.verification": _l("field verification"),
    "opt.cause.objection": _l("objection upheld"),
    "opt.cause.moved_out": _l("moved out"),
    "opt.cause.graduation": _l("graduated from empowerment"),
    "hint.household_id": _l(
        "Open the household's page and choose this form there: the household is then filled"
        " in. Or paste the id at the end of that page's address."
    ),
    "hint.nik": _l("16 digits, as on the KTP"),
    "hint.objector_nik": _l("16 digits, as on the KTP"),
    "hint.new_kk_number": _l("16 digits, as on the new card"),
    "hint.nib": _l("13 digits"),
    "hint.period": _l("For example 2025-Q1."),
    "hint.origin_region_code": _l("4 or 6 digits, from the SKPWNI; only for pindah datang"),
    "hint.arrived_on": _l("Only for pindah datang"),
    "hint.amount": _l("Whole rupiah, no dots"),
    "hint.codes": _l("Program codes separated by commas, e.g. PKH, BPNT"),
    "hint.expected_version": _l(
        "The version you last saw; if it changed since, saving is refused."
    ),
    "hint.occurred_at": _l("Leave empty for now. Format: 2025-04-21T09:00:00+07:00."),
    "hint.latitude": _l("For example -1.6101."),
    "hint.longitude": _l("For example 103.6131."),
    "opt.kind.moved_out": _l("Moved out"),
    "opt.kind.deceased": _l("Deceased"),
    "opt.kind.other": _l("Other"),
    "opt.kind.bansos": _l("Social assistance"),
    "opt.kind.empowerment": _l("Empowerment"),
    "opt.kind.insurance": _l("Insurance"),
    "opt.funding.OTHER": _l("Other"),
    "opt.outcome.valid": _l("Valid"),
    "opt.outcome.invalid": _l("Invalid"),
    "opt.outcome.moved": _l("Moved"),
    "opt.outcome.not_found": _l("Not found"),
    "opt.outcome.deceased": _l("Deceased"),
    "opt.outcome.completed": _l("Completed"),
    "opt.outcome.graduated": _l("Graduated"),
    "opt.outcome.dropped_out": _l("Dropped out"),
    "opt.recipient.head": _l("Head of family"),
    "opt.recipient.adult_woman": _l("An adult woman"),
    "opt.recipient.any_member": _l("Any member"),
    "opt.resolution.upheld": _l("Upheld"),
    "opt.resolution.rejected": _l("Rejected"),
    "opt.type.born_here": _l("Born here"),
    "opt.type.pindah_datang": _l("Moved in (pindah datang)"),
    "opt.sex.M": _l("Male"),
    "opt.sex.F": _l("Female"),
    "opt.relationship.istri": _l("Wife"),
    "opt.relationship.suami": _l("Husband"),
    "opt.relationship.anak": _l("Child"),
    "opt.relationship.menantu": _l("Child-in-law"),
    "opt.relationship.cucu": _l("Grandchild"),
    "opt.relationship.orang_tua": _l("Parent"),
    "opt.relationship.mertua": _l("Parent-in-law"),
    "opt.relationship.famili_lain": _l("Other relative"),
    "opt.relationship.lainnya": _l("Other"),
    "approval.setujui.done": _l("Approved: the change has been carried out."),
    "approval.tolak.done": _l(
        "Rejected: the change was not carried out and the reason is recorded."
    ),
    "search.partial_digits": _l("Type all 16 digits to search a NIK or KK number."),
    "member.added": _l("Member added. The member list updates within a few seconds."),
    "register.done": _l("The household has been registered."),
    "field.kk_number": _l("KK number"),
    "field.kecamatan": _l("Kecamatan"),
    "field.kelurahan": _l("Kelurahan"),
    "field.address": _l("Address"),
    "field.address_hint": _l("Street, lane, house number"),
    "field.rt": _l("RT"),
    "field.rw": _l("RW"),
    "field.nik": _l("NIK"),
    "field.nik_hint": _l("16 digits, as on the KTP"),
    "field.kk_hint": _l("16 digits, as on the family card"),
    "field.name": _l("Full name"),
    "field.birth_date": _l("Birth date"),
    "field.sex": _l("Sex"),
    "field.relationship": _l("Relationship to the head"),
    "sex.M": _l("Male"),
    "sex.F": _l("Female"),
    # an erased person's NIK, name (UU PDP: the data is gone for good)
    "person.erased": _l("[erased]"),
    "status.active": _l("Active"),
    "status.suspended": _l("Suspended"),
    "status.terminated": _l("Terminated"),
    "status.moved_out": _l("Moved out"),
    "status.deceased": _l("Deceased"),
    "status.removed": _l("Removed"),
    "rel.kepala_keluarga": _l("Head of family"),
    "rel.istri": _l("Wife"),
    "rel.suami": _l("Husband"),
    "rel.anak": _l("Child"),
    "rel.menantu": _l("Child-in-law"),
    "rel.cucu": _l("Grandchild"),
    "rel.orang_tua": _l("Parent"),
    "rel.mertua": _l("Parent-in-law"),
    "rel.famili_lain": _l("Other relative"),
    "rel.lainnya": _l("Other"),
    "health.unreachable": _l("Unreachable"),
    "health.store": _l("Event store"),
    "health.relay": _l("Relay to Kafka"),
    # the relay's state on /status (`projections.status.relay_entry`); %(since)s: a moment
    "health.relay_stopped": _l("Not running (no heartbeat since %(since)s)"),
    "health.relay_stuck": _l("Stuck: events wait, no progress since %(since)s"),
    "health.projection": _l("Projection"),
    # the views by name (`projections.catalog.PROJECTIONS`), as the status page shows them
    "view.register": _l("View: register of households"),
    "view.eligibility": _l("View: eligibility"),
    "view.beneficiaries": _l("View: beneficiaries"),
    "view.reviews": _l("View: benefit reviews"),
    "view.reconciliation": _l("View: reconciliation of sources"),
    "view.overview": _l("View: programs across OPDs"),
    "view.agencies": _l("View: agencies' streams"),
    "view.approvals": _l("View: requests for approval"),
    # the views in a user's words, in the notice of a view being filled (`app.filling`)
    "filling.register": _l("the household register"),
    "filling.eligibility": _l("eligibility"),
    "filling.beneficiaries": _l("beneficiaries"),
    "filling.reviews": _l("benefit reviews"),
    "filling.reconciliation": _l("the reconciliation of sources"),
    "filling.overview": _l("programs across OPDs"),
    "filling.agencies": _l("what agencies receive"),
    "filling.approvals": _l("requests for approval"),
    # a view's rebuild on /status (`projections.status.rebuild_state`)
    "health.rebuilding": _l("Being rebuilt from every event: %(progress)s"),
    # an agency topic's writer (`casework agencies`): shown, not judged (README, Health)
    "health.agency_topic": _l("Agency topic %(agency)s"),
    "health.agency_topic_detail": _l("store positions gone past"),
    "health.agency_topics": _l("Agency topics (%(count)s), the furthest behind"),
    "health.dlq": _l("Dead-letter queue (DLQ)"),
    # the store's row counts the events the relay publishes: an account's and a token's
    # events (domain.streams.PRIVATE_STREAM_TYPES) are stored and verified, never published
    "health.events": _l("events to publish (those of accounts and tokens are not published)"),
    "health.published": _l("published"),
    "health.applied": _l("applied"),
    "health.messages": _l("messages"),
    "error.403.title": _l("Not allowed"),
    "error.403.body": _l(
        "Your role may not open this page. If your work needs it, ask the Dinas Sosial"
        " administrator."
    ),
    "error.404.title": _l("Page not found"),
    "error.404.body": _l(
        "The page you are looking for does not exist. Check the address or go back to the start"
        " page."
    ),
    "error.500.title": _l("Something went wrong"),
    "error.500.body": _l(
        "The system could not handle this request. Try again shortly; if it keeps failing, "
        "contact the Dinas Sosial administrator."
    ),
    "error.405.title": _l("Method not allowed"),
    "error.405.body": _l(
        "This address does not accept that kind of request. Go back to the start page."
    ),
    "error.400.title": _l("Bad request"),
    "error.400.body": _l("The request could not be read. Reload the page and try again."),
    "error.home": _l("Go to the start page"),
}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def select_locale() -> str:
    """`?lang=` first (app/web.py keeps it in the session), then the API caller's
    Accept-Language, then the session's choice: Bahasa Indonesia unless English is asked."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)
    return language_of(session.get("lang"))


def compile_catalogs(directory: Path = TRANSLATIONS) -> None:
    """Compile every messages.po whose .mo is missing or older (a fresh clone has none)."""
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        try:
            handle, partial = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
            with os.fdopen(handle, "wb") as target:
                write_mo(target, catalog)
            os.replace(partial, mo)  # several workers may compile at once
        except OSError as error:
            log.error("cannot compile %s (run `pybabel compile -d %s`): %s", po, directory, error)


def init_babel(app: Flask) -> Babel:
    compile_catalogs()
    return Babel(
        app,
        locale_selector=select_locale,
        default_locale=DEFAULT_LANGUAGE,
        default_timezone=TIMEZONE,
        default_translation_directories=str(TRANSLATIONS),
    )


# code -> the message naming what a failing program rule found (domain.errors.RulesFailed's
# `detail`: numbers, dates, program codes, benefit ids; never personal data). A person reads
# a benefit by its program and period: its id, meaningless to them, is left out of the text.
RULE_DETAILS: dict[str, LazyString] = {
    "rules.desil_too_high": _l(
        "The family's welfare decile is %(desil)s (%(source)s); this program takes decile "
        "%(max_desil)s or lower. Check the DTSEN data."
    ),
    "rules.residence_too_short": _l(
        "%(months)s months of residence in Kota Jambi counted; this program requires "
        "%(needed)s. The person becomes eligible on %(eligible_on)s."
    ),
    "rules.double_receipt": _l(
        "The person already receives this program (%(period_start)s to %(period_end)s). Choose"
        " a period after it ends."
    ),
    "identity.double_receipt": _l(
        "The NIK already receives %(program)s (benefit %(benefit_id)s, %(period_start)s to "
        "%(period_end)s), overlapping the benefit %(provisional_benefit_id)s of the person "
        "without papers. Terminate one of the two (reason: receives aid twice), then link the "
        "identity."
    ),
    "rules.needs_nik": _l(
        "%(program)s helps only people with a NIK. Choose a program that serves people without"
        " a NIK (social rehabilitation), or link the person's NIK first."
    ),
    "rules.once_per_kk": _l(
        "This program is once per KK: a member of this family receives it (%(period_start)s to "
        "%(period_end)s). Choose a period after it ends."
    ),
    "rules.not_combinable": _l(
        "The person receives %(program)s (%(period_start)s to %(period_end)s), which cannot be"
        " combined with this program over the same period."
    ),
}
_DATE_DETAILS = ("eligible_on", "period_start", "period_end")

# the program's recipient rule (rules.recipient's `detail`) -> the message of a grant to a
# person it does not pay
RECIPIENT_RULES: dict[str, LazyString] = {
    "head": _l(
        "This program is paid to the head of family, and the person chosen is not the head."
        " Grant it to the head of family."
    ),
    "adult_woman": _l(
        "This program is paid to an adult woman (17 or older, or married), and the person"
        " chosen is not one. Grant it to the mother or another adult woman of the family."
    ),
    "any_member": _l(
        "This program is paid to an active member of the family, and the person chosen is"
        " not one. Choose an active member."
    ),
}

# code -> the values its message names, from the one list the code checks against (a list
# written into the message itself would fall behind it)
ERROR_VALUES: dict[str, dict[str, str]] = {
    "reconciliation.reason_unknown": {"reasons": ", ".join(RECONCILIATION_REASONS)},
}


def message(code: str, detail: Mapping[str, object] | None = None) -> str:
    """The message for an error code in the request's language; an unknown code gets the
    generic one (and a log line). With the `detail` of a failing program rule, the message
    names what it found (months counted, the day the person becomes eligible, the benefit
    and program it clashes with, whom the program pays)."""
    if code == "rules.recipient" and detail and detail.get("recipient") in RECIPIENT_RULES:
        return str(RECIPIENT_RULES[str(detail["recipient"])])
    if detail and code in RULE_DETAILS:
        values = {
            key: date_text(value) if key in _DATE_DETAILS else value
            for key, value in detail.items()
        }
        try:
            return str(RULE_DETAILS[code]) % values
        except (KeyError, TypeError, ValueError):
            log.warning("detail does not fit the message of %s", code)
    entry = ERRORS.get(code)
    if entry is None:
        log.warning("no message for error code %s", code)
        entry = ERRORS["field.invalid"]
    if code in ERROR_VALUES:
        return str(entry) % ERROR_VALUES[code]
    return str(entry)


# role -> its name as people read it (the signed-in person, the forbidden page, the reports)
ROLE_LABELS = {
    "caseworker": _l("caseworker"),
    "supervisor": _l("supervisor"),
    "auditor": _l("auditor"),
    "program_manager": _l("program manager"),
    "agency": _l("agency"),
    "admin": _l("administrator"),
    "system": _l("system"),
}


def role_label(value: str | None) -> str:
    return str(ROLE_LABELS.get(value or "", value or "—"))


def text(key: str) -> str:
    entry = TEXT.get(key)
    if entry is None:
        log.warning("no interface text for %s", key)
        return key
    return str(entry)


def translate(codes: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """{field: [code, ...]} -> {field: [message, ...]} in the request's language."""
    return {field: [message(code) for code in field_codes] for field, field_codes in codes.items()}


# --- dates, numbers, money -----------------------------------------------------------------


def _as_date(value: str | dt.date | None) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def date_text(value: str | dt.date | None) -> str:
    """An ISO date as the language writes it (12 Maret 1985, March 12, 1985); '' for none."""
    if not value:
        return ""
    date = _as_date(value)
    return format_date(date, "long") if date else str(value)


def moment_text(value: str | None, seconds: bool = False) -> str:
    """An RFC 3339 stamp in WIB: 21 April 2025, 10.00 WIB (id) or April 21, 2025, 10:00 WIB."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    # WIB as the system reads every moment (UTC+7), not the tz database's Asia/Jakarta, whose
    # offsets before 1964 (+07:30, +08:00, +09:00) would show a day's end as the next day
    moment = moment.astimezone(WIB)
    clock = format_time(moment.time(), "medium" if seconds else "short", rebase=False)
    return f"{format_date(moment.date(), 'long', rebase=False)}, {clock} WIB"


def moments_text(first: str | None, last: str | None, seconds: bool = False) -> str:
    """From one moment to a later one of the same day in WIB: 7 Desember 2026, 09.12–16.40
    WIB; one moment when they are the same, or the same to the minute shown (`seconds`: to
    the second)."""
    start, end = stamp_moment(first), stamp_moment(last)
    if start is None or end is None or start == end:
        return moment_text(first, seconds=seconds)
    start, end = start.astimezone(WIB), end.astimezone(WIB)
    if start.date() != end.date():
        return f"{moment_text(first, seconds=seconds)} – {moment_text(last, seconds=seconds)}"
    width = "medium" if seconds else "short"
    clocks = dict.fromkeys(format_time(m.time(), width, rebase=False) for m in (start, end))
    return f"{format_date(start.date(), 'long', rebase=False)}, {'–'.join(clocks)} WIB"


def stamp_moment(value: str | None) -> dt.datetime | None:
    """A stored RFC 3339 stamp as an aware moment (one without an offset read as UTC); None
    for what is no stamp."""
    try:
        moment = dt.datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def happened_text(value: str | None, seconds: bool = False) -> str:
    """When an event happened: its day alone when it counts from the start of a day in WIB (a
    command that gave only the date it happened on, e.g. a date of death), else the moment
    (`moment_text`, to the second with `seconds`)."""
    moment = stamp_moment(value)
    if moment is not None and moment.astimezone(WIB).time() == dt.time():
        return date_text(moment.astimezone(WIB).date())
    return moment_text(value, seconds=seconds)


def recorded_later(occurred_at: str | None, recorded_at: str | None) -> bool:
    """Whether an event was recorded a minute or more after it happened (a fact reported
    late), so a timeline shows both."""
    occurred, recorded = stamp_moment(occurred_at), stamp_moment(recorded_at)
    if occurred is None or recorded is None:
        return False
    return abs(recorded - occurred) >= dt.timedelta(minutes=1)


def reversed_window_text() -> str:
    """A time window whose start is later than its end, said with the fields' labels as the
    forms show them (the time-travel page, the read log), not the API's from/to."""
    return gettext(
        "%(start)s is later than %(end)s: choose an earlier moment for %(start)s.",
        start=gettext("From (WIB)"),
        end=gettext("To (WIB)"),
    )


def number_text(value: int | float | None) -> str:
    return "" if value is None else format_decimal(value)


def rupiah(amount: int | float | None) -> str:
    """Rp750.000 (id), IDR 750,000 (en): whole rupiah, as Babel's locale data writes them."""
    return "" if amount is None else format_currency(amount, "IDR")
