import datetime as dt
import hashlib
import json
import re
import statistics
from collections import Counter

import pytest

from app.seed_data import (
    FEMALE_CLASSIC,
    FEMALE_MODERN,
    MALE_CLASSIC,
    MALE_MODERN,
    OTHER_REGIONS,
    REFERENCE_DATE,
    _add_years,
    generate_histories,
    generate_households,
    kk_for,
    nik_for,
)
from domain.identity import kk_problems, nik_problems
from domain.regions import KECAMATAN, district_code_digits, find_kecamatan, find_kelurahan

RELATIONSHIPS = {
    "istri",
    "suami",
    "anak",
    "menantu",
    "cucu",
    "orang_tua",
    "mertua",
    "famili_lain",
    "lainnya",
}
CITY_PREFIXES = {district_code_digits(kec) for kec in KECAMATAN}
OTHER_PREFIXES = {prefix for prefix, _, _ in OTHER_REGIONS}


@pytest.fixture(scope="module")
def households():
    return list(generate_households(5000, seed=7))


def everyone(household):
    """(person, relationship) for the head and every member."""
    yield household["register"]["head"], "kepala_keluarga"
    for member in household["members"]:
        yield member["person"], member["relationship"]


def all_people(households):
    return [person for h in households for person, _ in everyone(h)]


def birth(person):
    return dt.date.fromisoformat(person["birth_date"])


def years_between(earlier, later):
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def decode_nik(nik):
    """(day, month, yy, sex) from the date part of a NIK."""
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    return (day - 40, month, yy, "F") if day > 40 else (day, month, yy, "M")


def test_nik_for_adds_40_to_the_day_for_women():
    assert nik_for("157101", dt.date(1990, 5, 3), "F", 12) == "1571014305900012"
    assert nik_for("157101", dt.date(1990, 5, 3), "M", 12) == "1571010305900012"


def test_kk_for_uses_region_date_and_serial():
    assert kk_for("157111", dt.date(2020, 1, 15), 7) == "1571111501200007"


@pytest.mark.parametrize(
    "args",
    [
        ("15710", dt.date(1990, 1, 1), "M", 1),
        ("157101", dt.date(1990, 1, 1), "X", 1),
        ("157101", dt.date(1990, 1, 1), "M", 0),
        ("157101", dt.date(1990, 1, 1), "M", 10000),
    ],
)
def test_nik_for_rejects_bad_parts(args):
    with pytest.raises(ValueError):
        nik_for(*args)


def test_every_nik_is_16_digits_with_a_known_region(households):
    for person in all_people(households):
        nik = person["nik"]
        assert len(nik) == 16 and nik.isdigit()
        assert nik[:6] in CITY_PREFIXES or nik[:4] in OTHER_PREFIXES
        assert 1 <= int(nik[12:]) <= 9999


def test_nik_date_part_matches_birth_date_and_sex(households):
    for person in all_people(households):
        born = birth(person)
        assert decode_nik(person["nik"]) == (born.day, born.month, born.year % 100, person["sex"])
        assert nik_problems(person["nik"], birth_date=born, sex=person["sex"]) == []


def test_most_niks_were_first_registered_in_kota_jambi(households):
    niks = [person["nik"] for person in all_people(households)]
    outside = sum(not nik.startswith("1571") for nik in niks) / len(niks)
    assert 0.08 < outside < 0.25


def test_niks_are_unique(households):
    niks = [person["nik"] for person in all_people(households)]
    assert len(set(niks)) == len(niks)


def test_kk_numbers_are_unique_and_issued_by_the_family_kecamatan(households):
    kks = [h["register"]["kk_number"] for h in households]
    assert len(set(kks)) == len(kks)
    for h in households:
        register = h["register"]
        kk = register["kk_number"]
        assert len(kk) == 16 and kk.isdigit() and kk.startswith("1571")
        assert kk[:6] == district_code_digits(find_kecamatan(register["kecamatan"]))
        assert kk_problems(kk, today=REFERENCE_DATE) == []


def test_kk_registered_after_the_head_turned_17_and_not_in_the_future(households):
    for h in households:
        kk, head = h["register"]["kk_number"], h["register"]["head"]
        registered = dt.datetime.strptime(kk[6:12], "%d%m%y").date()
        if registered > REFERENCE_DATE:
            registered = registered.replace(year=registered.year - 100)
        assert years_between(birth(head), registered) >= 17
        assert registered <= REFERENCE_DATE


def test_same_seed_same_output_other_seed_other_output():
    assert list(generate_households(50, seed=3)) == list(generate_households(50, seed=3))
    assert list(generate_households(50, seed=3)) != list(generate_households(50, seed=4))


def test_a_longer_run_starts_with_the_shorter_one():
    assert list(generate_households(300, seed=1))[:100] == list(generate_households(100, seed=1))


def test_mean_family_size_is_realistic(households):
    sizes = [1 + len(h["members"]) for h in households[:2000]]
    assert 3.3 <= statistics.mean(sizes) <= 4.8
    assert min(sizes) == 1 and max(sizes) >= 7


def test_every_kelurahan_belongs_to_its_kecamatan(households):
    for h in households:
        register = h["register"]
        kelurahan = find_kelurahan(register["kecamatan"], register["kelurahan"])
        assert kelurahan is not None and kelurahan.name == register["kelurahan"]


def test_families_spread_unevenly_over_all_68_kelurahan(households):
    counts = Counter((h["register"]["kecamatan"], h["register"]["kelurahan"]) for h in households)
    assert len(counts) == 68
    assert max(counts.values()) > 5 * min(counts.values())


def test_relationships_are_from_the_allowed_list(households):
    seen = {m["relationship"] for h in households for m in h["members"]}
    assert seen <= RELATIONSHIPS
    assert {"istri", "suami", "anak", "menantu", "cucu", "orang_tua", "famili_lain"} <= seen


def test_heads_are_adults_and_nobody_is_born_in_the_future(households):
    for h in households:
        assert years_between(birth(h["register"]["head"]), REFERENCE_DATE) >= 17
    for person in all_people(households):
        assert birth(person) <= REFERENCE_DATE
        assert person["sex"] in ("M", "F")


def test_children_are_18_to_45_years_younger_than_the_head(households):
    for h in households:
        head_born = birth(h["register"]["head"])
        for person, relationship in everyone(h):
            if relationship == "anak":
                assert 18 <= years_between(head_born, birth(person)) <= 45
            if relationship == "cucu":
                assert birth(person) > head_born


def test_spouses_are_of_the_other_sex_and_close_in_age(households):
    for h in households:
        head = h["register"]["head"]
        for person, relationship in everyone(h):
            if relationship in ("istri", "suami"):
                assert person["sex"] != head["sex"]
                assert person["sex"] == ("F" if relationship == "istri" else "M")
                assert abs((birth(person) - birth(head)).days) < 16 * 366


def test_most_heads_are_men_but_some_households_are_headed_by_women(households):
    women = sum(h["register"]["head"]["sex"] == "F" for h in households) / len(households)
    assert 0.05 < women < 0.3


def test_names_fit_the_sex(households):
    male, female = set(MALE_CLASSIC + MALE_MODERN), set(FEMALE_CLASSIC + FEMALE_MODERN)
    assert len(male) >= 80 and len(female) >= 80 and not male & female
    for person in all_people(households):
        first = person["name"].split()[0]
        assert first not in (female if person["sex"] == "M" else male)


def test_addresses_and_rt_rw_are_well_formed(households):
    for h in households:
        register = h["register"]
        assert register["address"].startswith(("Jl. ", "Lr. ")) and " No. " in register["address"]
        for key in ("rt", "rw"):
            assert len(register[key]) == 3 and register[key].isdigit() and register[key] != "000"


# Histories: a seed names one data set. Demo databases, the benchmarks and bug reports that
# say "seed 7" rely on it, so a refactoring of the generator must not change what it gives.
# The digests were recorded from the generator as it was; a deliberate change of the data
# updates them in the same commit, with the reason. Last change: the programs of BAZNAS
# (zakat) and DISKOPUKM (UMKM Naik Kelas, with its enrolments) granted beside Dinas Sosial's;
# suspensions and resumptions; each source's decile imported from its file with what the
# file lists (RecordSourceListing), DTKS of 2025-Q1, its deciles closer to DTSEN's.
HISTORY_DIGESTS = {
    0: "7a0681f305f1daad41b2de142db1a6e2d65660b99d6bd4511ad2a2e66ff6e764",
    1: "08572dae8e90bfd7baa39b5c37cc29d7195fe735ce171784af812108ec3f03b4",
    7: "71f3b46dcbcc68b4941ec2e085d33e79e6b819b335b64f15b20320ba67a09aae",
    42: "ccd9169d020c16ee7a689a08cd4b31df9c1b0a72fc301ff9f100a720b9cd63c9",
}
HISTORY_COMMANDS = {
    "RegisterHousehold",
    "AddMember",
    "IssueKtp",
    "RecordWelfareAssessment",
    "RegisterNib",
    "GrantBenefit",
    "SuspendBenefit",
    "ResumeBenefit",
    "TerminateBenefit",
    "EnrollEmpowerment",
    "CompleteEmpowerment",
    "RecordSourceListing",
    "RecordDeath",
    "RemoveMember",
    "FileObjection",
    "ResolveObjection",
}


def histories_for(seed, n=400):
    return list(generate_histories(list(generate_households(n, seed=seed)), seed=seed))


@pytest.mark.parametrize("seed", sorted(HISTORY_DIGESTS))
def test_a_seed_gives_the_histories_it_always_gave(seed):
    histories = histories_for(seed)
    digest = hashlib.sha256(json.dumps(histories, sort_keys=True).encode()).hexdigest()
    assert digest == HISTORY_DIGESTS[seed]


def test_the_recorded_histories_cover_every_kind_of_step():
    # so the digests above pin every concern of the generator, not only the common ones
    seen = {step["command"] for seed in (1, 42) for h in histories_for(seed) for step in h}
    assert seen == HISTORY_COMMANDS


def test_history_steps_are_in_date_order_and_refer_only_to_earlier_steps():
    for history in histories_for(7):
        days = [step["on"] for step in history]
        assert days == sorted(days)
        named: set[str] = set()
        for step in history:
            for value in step["cmd"].values():
                if isinstance(value, dict) and "ref" in value:
                    assert value["ref"] in named
            if step["ref"]:
                named.add(step["ref"])


# Distributions on a few hundred families: what a demo shows must look like Kota Jambi.


@pytest.fixture(scope="module")
def drawn():
    families = list(generate_households(400, seed=11))
    return families, list(generate_histories(families, seed=11))


def _programs(history):
    return {s["cmd"]["program"] for s in history if s["command"] == "GrantBenefit"}


def test_program_coverage_is_near_the_national_rates(drawn):
    families, histories = drawn
    share = {
        code: sum(code in _programs(h) for h in histories) / len(families)
        for code in ("PKH", "BPNT", "PBI-JK", "KJB")
    }
    assert 0.07 <= share["PKH"] <= 0.15  # about one family in nine
    assert 0.12 <= share["BPNT"] <= 0.25  # about one in five
    assert share["PKH"] <= share["BPNT"]
    assert 0.2 <= share["PBI-JK"] <= 0.45
    assert 0.02 <= share["KJB"] <= 0.12
    # every PKH family also receives BPNT/Sembako
    assert all("BPNT" in _programs(h) for h in histories if "PKH" in _programs(h))


def _desil(history):
    dtsen = [s["cmd"] for s in history if s["command"] == "RecordWelfareAssessment"]
    dtsen = [c for c in dtsen if c["source"] == "DTSEN"]
    return max(dtsen, key=lambda c: c["period"])["desil"] if dtsen else None


def test_poor_families_are_larger(drawn):
    families, histories = drawn
    sizes = {"poor": [], "other": []}
    for family, history in zip(families, histories, strict=True):
        desil = _desil(history)
        if desil is not None:
            sizes["poor" if desil <= 4 else "other"].append(1 + len(family["members"]))
    poor = sum(sizes["poor"]) / len(sizes["poor"])
    other = sum(sizes["other"]) / len(sizes["other"])
    assert 4.4 <= poor <= 5.1  # BPS: 4.74 members in poor households
    assert other < poor - 0.8
    assert 3.7 <= sum(1 + len(f["members"]) for f in families) / len(families) <= 4.3


def test_a_family_is_registered_before_anything_is_recorded_about_it(drawn):
    families, histories = drawn
    for family, history in zip(families, histories, strict=True):
        first = history[0]
        assert first["command"] == "RegisterHousehold" and first["cmd"] == family["register"]
        registered = first["on"]
        head_born = dt.date.fromisoformat(family["register"]["head"]["birth_date"])
        assert dt.date.fromisoformat(registered) >= _add_years(head_born, 17)
        assert all(step["on"] >= registered for step in history)
        assert [s["on"] for s in history] == sorted(s["on"] for s in history)
        joined = {family["register"]["head"]["nik"]: registered}
        for step in history:
            if step["command"] == "AddMember":
                person = step["cmd"]["person"]
                assert step["on"] > person["birth_date"]
                joined[person["nik"]] = step["on"]
            elif "nik" in step["cmd"]:  # nothing about a member before they joined
                assert step["cmd"]["nik"] in joined and step["on"] >= joined[step["cmd"]["nik"]]
        assert {s["cmd"]["person"]["nik"] for s in history if s["command"] == "AddMember"} == {
            m["person"]["nik"] for m in family["members"]
        }
    # the assessments and grants come after the registration, as they happened
    grants = [s for h in histories for s in h if s["command"] == "GrantBenefit"]
    assert grants and all(s["on"] >= "2025-12-15" for s in grants)


def test_other_opds_programs_reach_families_the_rules_admit(drawn):
    families, histories = drawn
    zakat = [h for h in histories if "ZAKAT-BAZNAS" in _programs(h)]
    umkm = [h for h in histories if "UMKM-NAIK-KELAS" in _programs(h)]
    assert 0.005 <= len(zakat) / len(families) <= 0.05  # BAZNAS: a few families in a hundred
    assert 0.005 <= len(umkm) / len(families) <= 0.05
    for history in zakat:  # to the head, who receives no cash aid zakat does not combine with
        grants = [s["cmd"] for s in history if s["command"] == "GrantBenefit"]
        head = history[0]["cmd"]["head"]["nik"]
        held = {g["program"] for g in grants if g["nik"] == head}
        assert "ZAKAT-BAZNAS" in held and held <= {"ZAKAT-BAZNAS", "PBI-JK", "UMKM-NAIK-KELAS"}
    for history in umkm:  # enrolled when it starts, and its end recorded
        kinds = [s["command"] for s in history]
        assert "EnrollEmpowerment" in kinds and "CompleteEmpowerment" in kinds
    changed = {s["command"] for h in histories for s in h}
    assert {"SuspendBenefit", "ResumeBenefit", "TerminateBenefit"} <= changed


def test_the_sources_list_most_families_mostly_as_the_register_does(drawn):
    families, histories = drawn
    listed, missing_in_dtks, dtks, apart, both = 0, 0, 0, 0, 0
    for family, history in zip(families, histories, strict=True):
        listings = [s["cmd"] for s in history if s["command"] == "RecordSourceListing"]
        deciles = {
            s["cmd"]["reference"]: s["cmd"]["desil"]
            for s in history
            if s["command"] == "RecordWelfareAssessment"
        }
        # each listing is imported with its decile, under the file's reference
        assert {c["reference"]: c["desil"] for c in listings} == deciles
        assert all(re.fullmatch(r"[a-z0-9_]+\.(csv|xlsx)#row=\d+", r) for r in deciles)
        listed += bool(listings)
        latest = {c["source"]: c for c in sorted(listings, key=lambda c: c["period"])}
        if "DTKS" in latest:
            dtks += 1
            everyone_here = {family["register"]["head"]["nik"]} | {
                m["person"]["nik"] for m in family["members"]
            }
            missing_in_dtks += bool(everyone_here - {m["nik"] for m in latest["DTKS"]["members"]})
            if "DTSEN" in latest:
                both += 1
                apart += abs(latest["DTKS"]["desil"] - latest["DTSEN"]["desil"]) >= 2
    assert listed / len(families) >= 0.9
    assert 0.03 <= missing_in_dtks / dtks <= 0.2  # a newborn since, a member left out
    assert 0.03 <= apart / both <= 0.2  # about one in ten two deciles apart or more
