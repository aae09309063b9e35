"""Deterministic synthetic Kota Jambi families for demos, tests and benchmarks.

Every family is a RegisterHousehold payload plus its AddMember payloads. The
same (n, seed) always gives the same families; only `random.Random(seed)` is
used, and ages are measured against a fixed reference date, not today.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from domain.eligibility_rules import months_between
from domain.regions import KECAMATAN, Kecamatan, Kelurahan, district_code_digits

REFERENCE_DATE = dt.date(2026, 11, 1)


# Rough resident counts in thousands, to make the spread uneven like the city's;
# illustrative, not official figures.
KELURAHAN_WEIGHTS = {
    "Simpang IV Sipin": 9,
    "Buluran Kenali": 8,
    "Teluk Kenali": 4,
    "Telanaipura": 7,
    "Penyengat Rendah": 7,
    "Pematang Sulur": 9,
    "Aur Kenali": 6,
    "Pasir Putih": 14,
    "Tambak Sari": 11,
    "Thehok": 14,
    "Wijaya Pura": 9,
    "Pakuan Baru": 14,
    "Sijenjang": 5,
    "Kasang Jaya": 9,
    "Talang Banjar": 10,
    "Budiman": 7,
    "Sulanjana": 6,
    "Kasang": 9,
    "Tanjung Sari": 8,
    "Rajawali": 6,
    "Tanjung Pinang": 10,
    "Beringin": 3.5,
    "Orang Kayo Hitam": 2.5,
    "Pasar Jambi": 1.5,
    "Sungai Asam": 5,
    "Arab Melayu": 2,
    "Mudung Laut": 3,
    "Jelmu": 1.5,
    "Tengah": 2,
    "Tahtul Yaman": 3.5,
    "Tanjung Johor": 3,
    "Pasir Panjang": 3.5,
    "Tanjung Raden": 2.5,
    "Olak Kemang": 3,
    "Tanjung Pasir": 2.5,
    "Ulu Gedong": 2,
    "Suka Karya": 14,
    "Simpang III Sipin": 16,
    "Paal Lima": 12,
    "Kenali Asam Bawah": 13,
    "Kenali Asam Atas": 10,
    "Talang Gulo": 9,
    "Kenali Asam": 8,
    "Talang Jauh": 7,
    "Cempaka Putih": 9,
    "Kebun Handil": 12,
    "Lebak Bandung": 10,
    "Payo Lebar": 8,
    "Jelutung": 7,
    "Handil Jaya": 9,
    "Kenali Besar": 22,
    "Rawa Sari": 17,
    "Mayang Mangurai": 18,
    "Bagan Pete": 12,
    "Beliung": 10,
    "Simpang Rimbo": 9,
    "Pinang Merah": 8,
    "Sungai Putri": 9,
    "Murni": 8,
    "Legok": 12,
    "Selamat": 6,
    "Solok Sipin": 10,
    "Talang Bakung": 24,
    "Payo Selincah": 20,
    "Eka Jaya": 16,
    "Lingkar Selatan": 19,
    "Paal Merah": 13,
    "Bakung Jaya": 11,
}

# Regions where newcomers were first registered: (regency/city prefix, kecamatan count, weight).
OTHER_REGIONS = (
    ("1505", 11, 20),  # Muaro Jambi
    ("1504", 8, 10),  # Batang Hari
    ("1507", 11, 6),  # Tanjung Jabung Timur
    ("1506", 13, 5),  # Tanjung Jabung Barat
    ("1503", 10, 5),  # Sarolangun
    ("1502", 12, 5),  # Merangin
    ("1508", 10, 4),  # Bungo
    ("1509", 12, 4),  # Tebo
    ("1501", 16, 3),  # Kerinci
    ("1671", 18, 8),  # Palembang
    ("1271", 21, 6),  # Medan
    ("1371", 11, 6),  # Padang
    ("1471", 12, 5),  # Pekanbaru
    ("3171", 10, 5),  # Jakarta Selatan
    ("3273", 30, 4),  # Bandung
    ("3374", 16, 4),  # Semarang
    ("3578", 31, 3),  # Surabaya
)

MALE_CLASSIC = (
    "Abdullah",
    "Ahmad",
    "Amir",
    "Anwar",
    "Arifin",
    "Bakri",
    "Basri",
    "Budi",
    "Darwis",
    "Effendi",
    "Hamdan",
    "Harun",
    "Hasan",
    "Hasbullah",
    "Husin",
    "Ibrahim",
    "Idris",
    "Ismail",
    "Jafar",
    "Jamaluddin",
    "Kamaruddin",
    "Khairul",
    "Mahmud",
    "Mansur",
    "Marzuki",
    "Mukhtar",
    "Nasrun",
    "Nurdin",
    "Rahmat",
    "Ramli",
    "Rusli",
    "Saleh",
    "Samsul",
    "Sulaiman",
    "Sudirman",
    "Sukardi",
    "Suparman",
    "Syafrudin",
    "Syamsuddin",
    "Usman",
    "Yusuf",
    "Zainal",
    "Zulkifli",
    "Bambang",
    "Slamet",
    "Sugianto",
    "Agus",
    "Hendra",
    "Joko",
)
MALE_MODERN = (
    "Rizki",
    "Fauzi",
    "Aditya",
    "Andi",
    "Arif",
    "Bayu",
    "Dimas",
    "Dedi",
    "Eko",
    "Fajar",
    "Fikri",
    "Hafiz",
    "Ilham",
    "Irfan",
    "Iqbal",
    "Ridwan",
    "Reza",
    "Rudi",
    "Wahyu",
    "Yoga",
    "Alif",
    "Arkan",
    "Azka",
    "Daffa",
    "Fadli",
    "Farhan",
    "Galih",
    "Habibi",
    "Haikal",
    "Hanif",
    "Naufal",
    "Rafi",
    "Rayhan",
    "Rehan",
    "Satria",
    "Taufik",
    "Zaki",
    "Zidan",
    "Raffa",
    "Alfin",
    "Dafa",
    "Gilang",
    "Kevin",
    "Randi",
    "Yudi",
)
FEMALE_CLASSIC = (
    "Aminah",
    "Asmah",
    "Aisyah",
    "Fatimah",
    "Halimah",
    "Hasnah",
    "Jamilah",
    "Khadijah",
    "Maimunah",
    "Mariam",
    "Nurhayati",
    "Ramlah",
    "Rohani",
    "Rosmawati",
    "Salmah",
    "Saodah",
    "Siti",
    "Sri",
    "Suryani",
    "Rahmah",
    "Zaleha",
    "Zubaidah",
    "Nurlela",
    "Hasanah",
    "Rukiah",
    "Sumarni",
    "Sulastri",
    "Sumiati",
    "Suwarni",
    "Ngatini",
    "Darmawati",
    "Yusnidar",
    "Erna",
    "Ernawati",
    "Yanti",
    "Yuliani",
    "Murni",
    "Herawati",
    "Rosnani",
    "Masnah",
    "Nuraini",
    "Juriah",
    "Kartini",
    "Nursiah",
    "Wati",
)
FEMALE_MODERN = (
    "Dewi",
    "Putri",
    "Ayu",
    "Rina",
    "Wulan",
    "Indah",
    "Lestari",
    "Nabila",
    "Aulia",
    "Zahra",
    "Anisa",
    "Annisa",
    "Citra",
    "Dinda",
    "Fitri",
    "Fitria",
    "Intan",
    "Kiki",
    "Lia",
    "Mega",
    "Nadia",
    "Novi",
    "Nurul",
    "Rani",
    "Ratna",
    "Rahma",
    "Safitri",
    "Salsabila",
    "Tiara",
    "Vina",
    "Yulia",
    "Zaskia",
    "Alya",
    "Azzahra",
    "Keisha",
    "Khanza",
    "Naura",
    "Syifa",
    "Aqila",
    "Adinda",
    "Amelia",
    "Della",
    "Eka",
    "Riska",
    "Sari",
)
MALE_SECOND = (
    "Santoso",
    "Hidayat",
    "Fauzi",
    "Saputra",
    "Pratama",
    "Setiawan",
    "Kurniawan",
    "Hakim",
    "Ramadhan",
    "Syahputra",
    "Firmansyah",
    "Hidayatullah",
    "Maulana",
    "Nugroho",
    "Wijaya",
    "Hasibuan",
    "Siregar",
    "Nasution",
    "Lubis",
    "Harahap",
    "Rahman",
    "Hamzah",
    "Arifin",
    "Efendi",
    "Gunawan",
    "Hermawan",
    "Iskandar",
    "Kusuma",
    "Permana",
    "Putra",
    "Ridho",
    "Sanjaya",
    "Sembiring",
    "Siswanto",
    "Suryadi",
    "Wahyudi",
    "Yusuf",
    "Zulkarnain",
    "Alamsyah",
    "Akbar",
)
FEMALE_SECOND = (
    "Lestari",
    "Hasanah",
    "Aminah",
    "Ayu",
    "Wahyuni",
    "Rahmawati",
    "Kurniasih",
    "Handayani",
    "Pratiwi",
    "Purnamasari",
    "Safitri",
    "Susanti",
    "Wulandari",
    "Yuliana",
    "Anggraini",
    "Permatasari",
    "Fitriani",
    "Maharani",
    "Ramadhani",
    "Sari",
    "Puspita",
    "Novita",
    "Oktaviani",
    "Rahayu",
    "Utami",
    "Fadilah",
    "Khairunnisa",
    "Nurjanah",
    "Siregar",
    "Nasution",
    "Juwita",
    "Marlina",
)
MALE_PREFIXES = ("Muhammad", "M.", "Ahmad")
FEMALE_PREFIXES = ("Siti", "Nur", "Sri")
# Family surnames some parents give all their children, by sex.
FAMILY_SURNAMES = (
    ("Saputra", "Saputri"),
    ("Pratama", "Pratiwi"),
    ("Wijaya", "Wijayanti"),
    ("Kurniawan", "Kurniawati"),
    ("Setiawan", "Setiawati"),
    ("Ramadhan", "Ramadhani"),
    ("Hidayat", "Hidayati"),
    ("Putra", "Putri"),
)

STREETS = (
    "Sultan Agung",
    "Hayam Wuruk",
    "Gajah Mada",
    "Kapten Pattimura",
    "Jenderal Sudirman",
    "Prof. Dr. Sri Soedewi",
    "Slamet Riyadi",
    "Kolonel Abunjani",
    "Lingkar Selatan",
    "Marsda Surya Dharma",
    "Adityawarman",
    "H. Agus Salim",
    "Raden Mattaher",
    "Sam Ratulangi",
    "Pangeran Diponegoro",
    "Orang Kayo Hitam",
    "KH. Ahmad Dahlan",
    "Jenderal A. Yani",
    "Kol. Amir Hamzah",
    "Halim Perdana Kusuma",
    "Yos Sudarso",
    "Sentot Alibasa",
    "M. Husni Thamrin",
    "Dr. Setia Budi",
    "Kapt. A. Bakaruddin",
    "Kol. M. Kukuh",
    "Sumantri Brojonegoro",
    "Padat Karya",
    "Sunan Gunung Jati",
    "Danau Sipin",
    "Syamsudin Uban",
    "Lintas Timur",
    "Sultan Thaha",
    "Hos Cokroaminoto",
    "Brigjen Katamso",
    "Pangeran Hidayat",
    "Depati Parbo",
    "Kapten Sujono",
    "Ki Hajar Dewantara",
    "Soekarno-Hatta",
    "Arif Rahman Hakim",
    "Mayjen Sutoyo",
    "Pattimura",
    "Jenderal Basuki Rachmat",
    "Selamet Riyadi",
    "Kebun Jeruk",
    "Kenali Jaya",
    "Aipda KS Tubun",
)
LORONGS = (
    "Bahagia",
    "Mawar",
    "Melati",
    "Kenanga",
    "Harapan",
    "Damai",
    "Sepakat",
    "Swadaya",
    "Pelita",
    "Kemuning",
    "Cempaka",
    "Masjid",
    "Langgar",
    "Mandiri",
    "Karya Bakti",
    "Rukun",
    "Setia",
    "Pinang",
    "Kelapa",
    "Durian",
    "Duku",
    "Rambutan",
    "Manggis",
    "Sejahtera",
    "Keluarga",
    "Amal",
    "Bersama",
    "Gotong Royong",
    "Pusaka",
    "Sentosa",
    "Famili",
    "Flamboyan",
)


@dataclass
class _Person:
    sex: str
    birth_date: dt.date
    relationship: str = "kepala_keluarga"
    name: str = ""


@dataclass
class _Family:
    kecamatan: Kecamatan
    kelurahan: Kelurahan
    head: _Person
    members: list[_Person] = field(default_factory=list)

    def add(self, person: _Person, relationship: str) -> _Person:
        person.relationship = relationship
        self.members.append(person)
        return person


def nik_for(region6: str, birth_date: dt.date, sex: str, serial: int) -> str:
    """A NIK: region, birth date DDMMYY (day + 40 for women), 4-digit serial."""
    _check_parts(region6, serial)
    if sex not in ("M", "F"):
        raise ValueError(f"sex must be 'M' or 'F', not {sex!r}")
    day = birth_date.day + (40 if sex == "F" else 0)
    return f"{region6}{day:02d}{birth_date:%m%y}{serial:04d}"


def kk_for(region6: str, registered_on: dt.date, serial: int) -> str:
    """A KK number: issuing region, registration date DDMMYY, 4-digit serial."""
    _check_parts(region6, serial)
    return f"{region6}{registered_on:%d%m%y}{serial:04d}"


def _check_parts(region6: str, serial: int) -> None:
    if len(region6) != 6 or not region6.isdigit():
        raise ValueError(f"region must be 6 digits, not {region6!r}")
    if not 1 <= serial <= 9999:
        raise ValueError(f"serial must be 1-9999, not {serial}")


def generate_households(n: int, seed: int = 0) -> Iterator[dict]:
    """`n` synthetic families: {"register": RegisterHousehold fields, "members": [...]}."""
    generator = _Generator(random.Random(seed))
    for _ in range(n):
        yield generator.household()


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, month=3, day=1)


def _years(years: float) -> dt.timedelta:
    return dt.timedelta(days=int(years * 365.25))


def _age(birth_date: dt.date) -> int:
    today = REFERENCE_DATE
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


class _Generator:
    """Draws families one by one, keeping every NIK and KK number unique."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.niks: set[str] = set()
        self.kks: set[str] = set()
        places = [(kec, kel) for kec in KECAMATAN for kel in kec.kelurahan]
        self.places = places
        self.place_weights = [KELURAHAN_WEIGHTS[kel.name] for _, kel in places]
        self.other_weights = [weight for _, _, weight in OTHER_REGIONS]

    # -- the family --------------------------------------------------------

    def household(self) -> dict:
        family = self._family()
        self._name_all(family)
        register = {
            "kk_number": self._kk_number(family),
            "kecamatan": family.kecamatan.name,
            "kelurahan": family.kelurahan.name,
            "address": self._address(),
            "rt": f"{self._rt():03d}",
            "rw": f"{self.rng.randint(1, 6):03d}",
            "head": self._person_payload(family.head, family.kecamatan),
        }
        members = [
            {"person": self._person_payload(m, family.kecamatan), "relationship": m.relationship}
            for m in family.members
        ]
        return {"register": register, "members": members}

    def _family(self) -> _Family:
        kecamatan, kelurahan = self.rng.choices(self.places, self.place_weights)[0]
        kind = self.rng.choices(
            ("couple", "wife_heads", "widow", "divorced_woman", "single_man"),
            (80, 2, 9, 4, 5),
        )[0]
        head = self._head(kind)
        family = _Family(kecamatan, kelurahan, head)
        parents = [head]
        if kind in ("couple", "wife_heads"):
            spouse = self._spouse_of(head)
            family.add(spouse, "suami" if head.sex == "F" else "istri")
            parents.append(spouse)
        children = self._children(parents)
        for child in children:
            family.add(child, "anak")
        self._maybe_married_child(family, children)
        self._maybe_grandchild_in_care(family)
        self._maybe_elder(family, parents)
        self._maybe_relatives(family)
        return family

    def _head(self, kind: str) -> _Person:
        rng = self.rng
        if kind == "couple":
            return self._aged("M", rng.triangular(20, 80, 38))
        if kind == "wife_heads":
            return self._aged("F", rng.triangular(20, 70, 38))
        if kind == "widow":
            return self._aged("F", rng.triangular(30, 90, 60))
        if kind == "divorced_woman":
            return self._aged("F", rng.triangular(22, 65, 38))
        return self._aged("M", rng.triangular(18, 85, 35))

    def _spouse_of(self, head: _Person) -> _Person:
        # Husbands are on average about four years older than their wives.
        gap = max(-5.0, min(15.0, self.rng.gauss(4.0, 3.5)))
        husband_older_by = gap if head.sex == "M" else -gap
        age = max(17.2, min(94.0, _age(head.birth_date) - husband_older_by))
        return self._aged("F" if head.sex == "M" else "M", age)

    def _aged(self, sex: str, age: float) -> _Person:
        birth_date = REFERENCE_DATE - _years(age)
        # Older people without a birth certificate were often recorded on 1 July or 31 December.
        if birth_date.year < 1960 and self.rng.random() < 0.3:
            month, day = self.rng.choice(((7, 1), (12, 31)))
            birth_date = dt.date(birth_date.year, month, day)
        return _Person(sex, birth_date)

    # -- children and other relatives ---------------------------------------

    def _children(self, parents: list[_Person]) -> list[_Person]:
        """Children born while every parent was 18 to 45, then those who left home removed."""
        rng = self.rng
        wanted = rng.choices(range(7), (6, 14, 25, 24, 16, 9, 6))[0]
        earliest, latest = self._birth_window(parents)
        mother = next((p for p in parents if p.sex == "F"), parents[0])
        born = _add_years(mother.birth_date, 18) + _years(rng.gauss(5.5, 3.5))
        children = []
        while len(children) < wanted:
            born = max(born, earliest)
            if born > latest:
                break
            children.append(_Person(rng.choice("MF"), born))
            born += _years(max(1.3, rng.gauss(3.2, 1.4)))
        return [c for c in children if rng.random() < self._stays_home(_age(c.birth_date))]

    @staticmethod
    def _birth_window(parents: list[_Person]) -> tuple[dt.date, dt.date]:
        earliest = max(_add_years(p.birth_date, 18) + dt.timedelta(days=1) for p in parents)
        latest = min(_add_years(p.birth_date, 45) for p in parents)
        return earliest, min(latest, REFERENCE_DATE - dt.timedelta(days=7))

    @staticmethod
    def _stays_home(age: int) -> float:
        # Grown children marry and move onto a KK of their own.
        if age < 18:
            return 1.0
        if age < 23:
            return 0.9
        if age < 28:
            return 0.65
        if age < 36:
            return 0.35
        return 0.15

    def _maybe_married_child(self, family: _Family, children: list[_Person]) -> None:
        """Sometimes a grown child stays with a spouse (menantu) and their children (cucu)."""
        grown = [c for c in children if _age(c.birth_date) >= 20]
        if not grown or self.rng.random() > 0.3:
            return
        child = self.rng.choice(grown)
        in_law = family.add(self._spouse_of(child), "menantu")
        for grandchild in self._children([child, in_law])[:3]:
            family.add(grandchild, "cucu")

    def _maybe_grandchild_in_care(self, family: _Family) -> None:
        """A grandchild left with grandparents while the parents work elsewhere."""
        head = family.head
        if _age(head.birth_date) < 45 or self.rng.random() > 0.05:
            return
        earliest = _add_years(head.birth_date, 38)
        latest = REFERENCE_DATE - dt.timedelta(days=30)
        if earliest < latest:
            family.add(_Person(self.rng.choice("MF"), self._date_between(earliest, latest)), "cucu")

    def _maybe_elder(self, family: _Family, parents: list[_Person]) -> None:
        """An aged parent of the head (orang_tua) or of the spouse (mertua)."""
        rng = self.rng
        if rng.random() > 0.07:
            return
        spouse = parents[1] if len(parents) > 1 else None
        if spouse is not None and rng.random() < 0.4:
            child_of, relationship = spouse, "mertua"
        else:
            child_of, relationship = family.head, "orang_tua"
        elder_age = _age(child_of.birth_date) + rng.uniform(20, 40)
        elder = self._aged("F" if rng.random() < 0.7 else "M", elder_age)
        earliest, latest = _add_years(elder.birth_date, 18), _add_years(elder.birth_date, 45)
        if _age(elder.birth_date) <= 94 and earliest < child_of.birth_date <= latest:
            family.add(elder, relationship)

    def _maybe_relatives(self, family: _Family) -> None:
        """A niece, nephew, sibling or cousin (famili_lain), rarely someone unrelated (lainnya)."""
        roll = self.rng.random()
        if roll < 0.05:
            family.add(self._aged(self.rng.choice("MF"), self.rng.uniform(6, 65)), "famili_lain")
        elif roll < 0.06:
            family.add(self._aged(self.rng.choice("MF"), self.rng.uniform(17, 60)), "lainnya")

    def _date_between(self, earliest: dt.date, latest: dt.date) -> dt.date:
        return earliest + dt.timedelta(days=self.rng.randint(0, (latest - earliest).days))

    # -- names --------------------------------------------------------------

    def _name_all(self, family: _Family) -> None:
        for person in (family.head, *family.members):
            person.name = self._name(person)
        self._name_children(family)

    def _name(self, person: _Person) -> str:
        rng = self.rng
        first = self._given_name(person)
        form = rng.random()
        if form < 0.3:
            return first
        if form < 0.55:
            prefix = rng.choice(MALE_PREFIXES if person.sex == "M" else FEMALE_PREFIXES)
            return first if first.startswith(("Nur", "Siti", "Sri")) else f"{prefix} {first}"
        second = rng.choice(MALE_SECOND if person.sex == "M" else FEMALE_SECOND)
        return first if first == second else f"{first} {second}"

    def _given_name(self, person: _Person) -> str:
        """A first name in fashion when the person was born."""
        male = person.sex == "M"
        pools = (MALE_CLASSIC, MALE_MODERN) if male else (FEMALE_CLASSIC, FEMALE_MODERN)
        year = person.birth_date.year
        modern_share = 20 if year < 1975 else 55 if year < 1995 else 85
        pool = self.rng.choices(pools, (100 - modern_share, modern_share))[0]
        return self.rng.choice(pool)

    def _name_children(self, family: _Family) -> None:
        """Some parents give all their children the father's name or one family surname."""
        children = [m for m in family.members if m.relationship == "anak"]
        style = self.rng.random()
        if not children or style > 0.35:
            return
        father = (
            family.head
            if family.head.sex == "M"
            else next((m for m in family.members if m.relationship == "suami"), None)
        )
        if style < 0.2 and father is not None:
            surnames = (father.name.split()[-1],) * 2
        else:
            surnames = self.rng.choice(FAMILY_SURNAMES)
        for child in children:
            given = self._given_name(child)
            surname = surnames[0] if child.sex == "M" else surnames[1]
            child.name = given if given == surname else f"{given} {surname}"

    # -- numbers and addresses ------------------------------------------------

    def _person_payload(self, person: _Person, home: Kecamatan) -> dict:
        return {
            "nik": self._nik(person, home),
            "name": person.name,
            "birth_date": person.birth_date.isoformat(),
            "sex": person.sex,
        }

    def _nik(self, person: _Person, home: Kecamatan) -> str:
        region = self._first_registration_region(person, home)
        while True:
            nik = nik_for(region, person.birth_date, person.sex, self._serial())
            if nik not in self.niks:
                self.niks.add(nik)
                return nik

    def _first_registration_region(self, person: _Person, home: Kecamatan) -> str:
        """Mostly the home kecamatan; people move within the city, and some came from outside."""
        rng = self.rng
        from_outside = 0.2 if _age(person.birth_date) >= 18 else 0.05
        if rng.random() < from_outside:
            prefix, districts, _ = rng.choices(OTHER_REGIONS, self.other_weights)[0]
            return f"{prefix}{rng.randint(1, districts):02d}"
        if rng.random() < 0.8:
            return district_code_digits(home)
        return district_code_digits(rng.choice(KECAMATAN))

    def _kk_number(self, family: _Family) -> str:
        head = family.head
        earliest = max(_add_years(head.birth_date, 17), dt.date(1995, 1, 1))
        # The later of two draws: most cards were reissued in recent years.
        registered_on = max(self._date_between(earliest, REFERENCE_DATE) for _ in range(2))
        region = district_code_digits(family.kecamatan)
        while True:
            kk = kk_for(region, registered_on, self._serial())
            if kk not in self.kks:
                self.kks.add(kk)
                return kk

    def _serial(self) -> int:
        # Serials are handed out in order each day, so small numbers are the most common.
        return min(9999, 1 + int(self.rng.expovariate(1 / 300)))

    def _address(self) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return f"Jl. {rng.choice(STREETS)} No. {rng.randint(1, 150)}"
        return f"Lr. {rng.choice(LORONGS)} No. {rng.randint(1, 60)}"

    def _rt(self) -> int:
        return min(60, 1 + int(self.rng.expovariate(1 / 14)))


# --- histories ---------------------------------------------------------------------------
#
# What happened to a family after it was registered, as commands of contract v1 in the order
# they happened: KTPs (newcomers with their arrival, the others born here), the sources'
# files imported (each decile with what the file lists about the family), benefits of Dinas
# Sosial, BAZNAS and DISKOPUKM (with the empowerment enrolments), NIBs, deaths, suspensions,
# resumptions and terminations, and objections. A step's `cmd` lacks the household id; a
# value {"ref": name} is the id of the thing an earlier step named `name` created (a
# benefit, an enrolment or an objection). The random draws are separate from the families', so
# `generate_households` gives what it always gave.

GRANTED_ON = dt.date(2025, 12, 15)  # when the 2026 beneficiaries were decided
PERIOD_2026 = ("2026-01-01", "2026-12-31")
# Amounts in rupiah for the benefit's period, illustrative: PKH varies by component, BPNT is
# Rp200,000 a month, the PBI-JK premium Rp42,000 a month; the Kartu Jambi Bahagia amount,
# BAZNAS's zakat (Rp150,000 a month from Ramadan) and UMKM Naik Kelas's capital are
# assumptions.
AMOUNTS = {
    "PKH": 3_000_000,
    "BPNT": 2_400_000,
    "PBI-JK": 504_000,
    "KJB": 1_200_000,
    "ZAKAT-BAZNAS": 1_500_000,
    "UMKM-NAIK-KELAS": 2_500_000,
}
# When each program decided its 2026 recipients, and the period it pays: Dinas Sosial's at
# the end of 2025 for the year, BAZNAS's zakat before Ramadan 1447 H, DISKOPUKM's six
# months of training and capital from April.
TERMS = {
    "ZAKAT-BAZNAS": (dt.date(2026, 2, 16), ("2026-03-01", "2026-12-31")),
    "UMKM-NAIK-KELAS": (dt.date(2026, 3, 16), ("2026-04-01", "2026-09-30")),
}
SUSPENSION_REASONS = (  # (reason_code, the case worker's words), besides PKH's own
    ("data_invalid", "Data belum padan dengan Dukcapil, menunggu verifikasi"),
    ("double_receipt", "Terindikasi menerima ganda, menunggu klarifikasi"),
)
PKH_SUSPENSION = ("conditions_not_met", "Kewajiban kehadiran sekolah/posyandu tidak dipenuhi")
RESUMPTION = ("issue_resolved", "Masalah sudah diselesaikan, bantuan dilanjutkan")
EMPOWERMENT_DROPOUT = ("conditions_not_met", "Tidak mengikuti pelatihan sampai selesai")
# The sources' files as the city imported them (app/importer.py records, per family, the
# decile and the listing with the same reference): file name, and whether it has one row per
# person (a SIKS-NG export) or per family; P3KE's family sheet starts at row 13.
SOURCE_FILES = {
    ("DTSEN", "2025-Q1"): ("keluarga_dtsen_2025_q1_1571.csv", False, 1),
    ("DTSEN", "2025-Q3"): ("keluarga_dtsen_2025_q3_1571.csv", False, 1),
    ("DTKS", "2025-Q1"): ("dtks_2025_q1.csv", True, 1),
    ("P3KE", "2024-Q1"): ("p3ke_2024_q1.xlsx", False, 13),
}
# How often a source's listing of a family disagrees with the register, per listing: a
# member left out, someone listed who is not a member (a grown child who left, a relative),
# a living member marked deceased. Besides these, a source lists only those born by its
# period (a baby born since is missing) and still lists as living who died since.
LISTING_ERRORS = {
    "DTSEN": {"missing": 0.02, "extra": 0.01, "deceased": 0.01},
    "DTKS": {"missing": 0.02, "extra": 0.03, "deceased": 0.02},
    "P3KE": {"missing": 0.06, "extra": 0.03, "deceased": 0.02},
}
# The aid flags each source marks (DTSEN's files mark none), by the Casework program.
SOURCE_FLAGS = {
    "DTSEN": {},
    "DTKS": {"PKH": "PKH", "BPNT": "BPNT", "PBI-JK": "PBI_JK"},
    "P3KE": {"PKH": "PKH", "BPNT": "BPNT"},
}
BUSINESSES = (
    "Warung Sembako",
    "Kedai Kopi",
    "Jahit Pakaian",
    "Bengkel Motor",
    "Pempek dan Tekwan",
    "Laundry Kiloan",
    "Katering Rumahan",
    "Toko Kelontong",
    "Kue Basah",
    "Pangkas Rambut",
)
TERMINATION_REASONS = (  # (reason_code, the case worker's words)
    ("graduated", "Sudah mampu menurut hasil verifikasi lapangan"),
    ("moved_away", "Pindah domisili ke luar Kota Jambi"),
    ("double_receipt", "Data ganda dengan penerima lain"),
    ("no_longer_eligible", "Tidak memenuhi syarat setelah pemutakhiran DTSEN"),
)
OBJECTION_GROUNDS = (
    "Keluarga tergolong mampu: rumah permanen dan kendaraan roda empat",
    "Penerima sudah lama tidak tinggal di alamat ini",
    "Penerima memiliki usaha yang berkembang",
    "Jumlah anggota keluarga tidak sesuai dengan keadaan",
)
_CITY = "1571"


def _iso(day: dt.date) -> str:
    return day.isoformat()


@dataclass
class _Story:
    """One family's history while it is drawn: the facts one concern leaves for the next
    (who lives here since when, the best desil, who holds which benefit or NIB) and the
    steps so far, in drawing order."""

    family: dict
    head: dict
    people: list[tuple[dict, str]]
    adults: list[dict]
    steps: list[dict] = field(default_factory=list)
    residence_since: dict[str, dt.date] = field(default_factory=dict)
    best_desil: int | None = None
    nib_before: set[str] = field(default_factory=set)
    grants: list[tuple[str, str]] = field(default_factory=list)
    held: dict[str, list[str]] = field(default_factory=dict)
    nib_after: set[str] = field(default_factory=set)
    imports: list[dict] = field(default_factory=list)
    enrolled: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, family: dict) -> _Story:
        head = family["register"]["head"]
        people = [(head, "kepala_keluarga")] + [
            (m["person"], m["relationship"]) for m in family["members"]
        ]
        # adults by the time of the oldest NIBs drawn
        adults = [
            p
            for p, _ in people
            if _add_years(dt.date.fromisoformat(p["birth_date"]), 18) <= dt.date(2019, 1, 1)
        ]
        return cls(family=family, head=head, people=people, adults=adults)


class HistoryGenerator:
    """Histories for families in the order `generate_households` gives them (deterministic:
    each family's draws come from its own `random.Random`, seeded by the seed and its index;
    objectors are earlier families' adults of the same kelurahan).

    `history` runs one method per concern, in a fixed order, because each draws from the
    family's generator and may use what the ones before it decided: changing the order, or
    the draws inside one, changes every later value of that family."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.count = 0
        self.rng = random.Random(seed)
        self.neighbours: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}  # the next row of each source's file

    def history(self, family: dict) -> list[dict]:
        self.rng = random.Random(f"casework-history:{self.seed}:{self.count}")
        self.count += 1
        story = _Story.of(family)
        self._identity(story)
        self._welfare(story)
        self._nibs_before_decisions(story)
        self._benefits(story)
        self._zakat(story)
        self._nibs_after_decisions(story)
        self._empowerment(story)
        self._deaths(story)
        self._benefit_changes(story)
        self._objections(story)
        self._listings(story)
        self._remember_neighbours(story)
        self._registration(story)
        # in the order they happened (a stable sort keeps a day's steps in drawing order)
        return sorted(story.steps, key=lambda s: s["on"])

    def _registration(self, story: _Story) -> None:
        """When the family entered the register (the first import, late 2023, or later when
        the head came of age or arrived), and when each member joined it (at registration,
        or after their birth or arrival). Nothing is recorded about the family before it is
        registered, nor about a member before they joined: a fact older than that (a KTP
        issued years ago) is recorded then, with its own date in its fields. Drawn last, so
        the other concerns draw what they always drew."""
        rng = self.rng
        head = story.head
        registered = self._between(dt.date(2023, 7, 1), dt.date(2024, 1, 31))
        registered = max(registered, _add_years(dt.date.fromisoformat(head["birth_date"]), 17))
        if not head["nik"].startswith(_CITY) and head["nik"] in story.residence_since:
            arrived = story.residence_since[head["nik"]]
            registered = max(registered, arrived + dt.timedelta(days=rng.randint(7, 60)))
        registered = min(registered, REFERENCE_DATE)
        joined = {head["nik"]: _iso(registered)}
        steps = [self._step("RegisterHousehold", registered, dict(story.family["register"]))]
        for member in story.family["members"]:
            person = member["person"]
            born = dt.date.fromisoformat(person["birth_date"])
            on = max(registered, born + dt.timedelta(days=rng.randint(14, 120)))
            arrived = story.residence_since.get(person["nik"])
            if arrived is not None and not person["nik"].startswith(_CITY):
                on = max(on, arrived + dt.timedelta(days=rng.randint(7, 60)))
            on = min(on, REFERENCE_DATE)
            joined[person["nik"]] = _iso(on)
            cmd = {"person": dict(person), "relationship": member["relationship"]}
            steps.append(self._step("AddMember", on, cmd))
        created: dict[str, str] = {}
        for step in story.steps:  # drawing order: a step comes after what it refers to
            first = _iso(registered)
            on = max(step["on"], first, joined.get(step["cmd"].get("nik"), first))
            for value in step["cmd"].values():
                if isinstance(value, dict) and "ref" in value:
                    on = max(on, created[value["ref"]])
            step["on"] = on
            if step["ref"]:
                created[step["ref"]] = on
        story.steps[:0] = steps

    # -- concerns, in drawing order ----------------------------------------------------

    def _identity(self, story: _Story) -> None:
        """A KTP for most adults; a newcomer's arrival from the NIK's first region (a
        newcomer head brings the family with him)."""
        family_arrival = None
        if not story.head["nik"].startswith(_CITY):
            family_arrival = self._arrival(dt.date.fromisoformat(story.head["birth_date"]))
        for person, _ in story.people:
            born = dt.date.fromisoformat(person["birth_date"])
            if _add_years(born, 17) > REFERENCE_DATE or self.rng.random() < 0.05:
                continue
            if person["nik"].startswith(_CITY):
                issued = self._between(
                    max(_add_years(born, 17), dt.date(2011, 6, 1)), dt.date(2013, 12, 31)
                )
                arrival = {"type": "born_here", "arrived_on": None, "origin_region_code": None}
                story.residence_since[person["nik"]] = born
            else:
                arrived = family_arrival or self._arrival(born)
                arrived = max(arrived, born + dt.timedelta(days=1))
                issued = arrived + dt.timedelta(days=self.rng.randint(7, 90))
                arrival = {
                    "type": "pindah_datang",
                    "arrived_on": _iso(arrived),
                    "origin_region_code": person["nik"][:6],
                }
                story.residence_since[person["nik"]] = arrived
            issued = min(max(issued, _add_years(born, 17)), REFERENCE_DATE)
            story.steps.append(
                self._step(
                    "IssueKtp",
                    issued,
                    {"nik": person["nik"], "issued_on": _iso(issued), "arrival": arrival},
                )
            )

    def _welfare(self, story: _Story) -> None:
        """DTSEN for most, the older sources for some, each imported from the source's file
        (the decile here, what the file lists in `_listings`); the best desil is the latest
        DTSEN's, else DTKS's, else P3KE's. The older sources mostly agree with DTSEN's latest
        decile or differ by one; one in ten differs by two or three. The desil follows the
        family: large families, many dependants and a woman heading it alone are poorer (BPS:
        poor households have 4.74 members on average, all households 3.94)."""
        rng = self.rng
        desil = self._desil_of(story)
        has_dtsen = rng.random() < 0.85
        if has_dtsen:
            story.best_desil = desil
            self._import(story, "DTSEN", "2025-Q1", desil, dt.date(2025, 3, 1))
            if rng.random() < 0.35:
                story.best_desil = max(1, min(10, desil + rng.choice((-1, 1))))
                self._import(story, "DTSEN", "2025-Q3", story.best_desil, dt.date(2025, 8, 1))
        base = story.best_desil or desil
        older: dict[str, int] = {}
        for source, period, start, chance in (
            ("P3KE", "2024-Q1", dt.date(2024, 2, 1), 0.15 if has_dtsen else 0.4),
            ("DTKS", "2025-Q1", dt.date(2025, 1, 15), 0.35 if has_dtsen else 0.7),
        ):
            if rng.random() < chance:
                older[source] = self._older_desil(base)
                self._import(story, source, period, older[source], start)
        if story.best_desil is None and older:
            story.best_desil = older.get("DTKS", older.get("P3KE"))

    def _older_desil(self, base: int) -> int:
        """An older source's decile beside `base`: the same (60%), one apart (30%), two or
        three apart (10%), on the side that stays within 1-10."""
        roll = self.rng.random()
        apart = 0 if roll < 0.6 else 1 if roll < 0.9 else self.rng.choice((2, 2, 3))
        side = self.rng.choice((-1, 1))
        value = base + side * apart
        if not 1 <= value <= 10:
            value = base - side * apart
        return max(1, min(10, value))

    def _desil_of(self, story: _Story) -> int:
        """A proxy-means-test-like draw: a latent welfare score from the family's size and
        composition plus noise, cut into deciles."""
        people = story.people
        ages = [_age(dt.date.fromisoformat(p["birth_date"])) for p, _ in people]
        size = len(people)
        dependants = sum(1 for a in ages if a < 15 or a >= 65)
        alone = story.head["sex"] == "F" and not any(r == "suami" for _, r in people)
        welfare = (
            -0.3 * (size - 4)
            - 0.15 * dependants
            - (0.6 if alone else 0.0)
            + self.rng.gauss(0.0, 1.4)
        )
        # cut points of the latent score, leaning to the poorer deciles (a register of need)
        cuts = (-2.6, -1.9, -1.3, -0.8, -0.3, 0.2, 0.7, 1.2, 1.8)
        return 1 + sum(1 for cut in cuts if welfare > cut)

    def _nibs_before_decisions(self, story: _Story) -> None:
        """A few NIBs registered before the 2026 decisions (they keep the holder from KJB)."""
        if story.adults and self.rng.random() < 0.06:
            holder = self.rng.choice(story.adults)
            story.nib_before.add(holder["nik"])
            on = self._between(dt.date(2019, 1, 1), dt.date(2025, 11, 30))
            story.steps.append(self._nib(holder, on))

    def _benefits(self, story: _Story) -> None:
        """Benefits for 2026, to those the program rules admit, at about the national rates
        (PKH reaches about one family in nine, BPNT/Sembako about one in five, PBI-JK a third
        of the people): PKH to the woman of a poor family with a PKH component (a child or
        an elder), who also gets BPNT; BPNT and PBI-JK to the head; KJB to a head of a year's
        residence without other benefits or a business."""
        rng, head, best = self.rng, story.head, story.best_desil
        if best is None:
            return
        woman = next(
            (p for p, r in story.people if r == "istri"), head if head["sex"] == "F" else None
        )
        ages = [_age(dt.date.fromisoformat(p["birth_date"])) for p, _ in story.people]
        component = any(a < 18 or a >= 60 for a in ages)
        pkh = woman is not None and component and best <= 3 and rng.random() < 0.55
        if pkh:
            self._grant(story, "PKH", woman)
        if best <= 4 and (pkh or rng.random() < 0.35):
            self._grant(story, "BPNT", head)
        if best <= 5:
            if rng.random() < 0.7:
                self._grant(story, "PBI-JK", head)
            if woman is not None and woman is not head and best <= 4 and rng.random() < 0.6:
                self._grant(story, "PBI-JK", woman)
            since = story.residence_since.get(head["nik"])
            if (
                set(story.held.get(head["nik"], [])) <= {"PBI-JK"}
                and since is not None
                and months_between(since, dt.date.fromisoformat(PERIOD_2026[0])) >= 12
                and head["nik"] not in story.nib_before
                and rng.random() < 0.3
            ):
                self._grant(story, "KJB", head)

    def _zakat(self, story: _Story) -> None:
        """BAZNAS's zakat for fakir and miskin families the state's cash aid passes by (the
        head receives no BPNT or KJB, which zakat does not combine with): a third of the
        poorest such families (desil 1-3), a fifth of the women heading a family alone up to
        desil 5; BAZNAS judges on its own assessment, so a family without a decile may get it
        too, now and then."""
        head, best = story.head, story.best_desil
        if not set(story.held.get(head["nik"], [])) <= {"PBI-JK"}:
            return
        alone = head["sex"] == "F" and not any(r == "suami" for _, r in story.people)
        if best is None:
            chance = 0.1
        elif best <= 3:
            chance = 0.3
        elif best <= 5 and alone:
            chance = 0.2
        else:
            return
        if self.rng.random() < chance:
            self._grant(story, "ZAKAT-BAZNAS", head)

    def _empowerment(self, story: _Story) -> None:
        """DISKOPUKM's UMKM Naik Kelas (training and capital, April to September 2026) for one
        adult under 60 of a family up to desil 6: often one with a business (an NIB before
        the decisions), some women of PKH families (a way out of aid), rarely another adult.
        Enrolled when it starts; most complete it, some graduate (their aid is reviewed),
        some drop out (the capital stops)."""
        rng, best = self.rng, story.best_desil
        if best is None or best > 6:
            return
        pkh = {nik for program, nik in story.grants if program == "PKH"}
        candidates = [p for p in story.adults if _age(dt.date.fromisoformat(p["birth_date"])) < 60]
        for person in candidates:
            nik = person["nik"]
            chance = 0.4 if nik in story.nib_before else 0.08 if nik in pkh else 0.005
            if rng.random() >= chance:
                continue
            self._grant(story, "UMKM-NAIK-KELAS", person)
            story.enrolled.add(nik)
            start = dt.date.fromisoformat(TERMS["UMKM-NAIK-KELAS"][1][0])
            ref = f"enrollment:UMKM-NAIK-KELAS:{nik}"
            cmd = {"nik": nik, "program": "UMKM-NAIK-KELAS", "enrolled_on": _iso(start)}
            story.steps.append(self._step("EnrollEmpowerment", start, cmd, ref=ref))
            outcome = rng.choices(("completed", "graduated", "dropped_out"), (55, 30, 15))[0]
            if outcome == "dropped_out":
                done = self._between(dt.date(2026, 5, 1), dt.date(2026, 8, 31))
                code, reason = EMPOWERMENT_DROPOUT
                cmd = {
                    "benefit_id": {"ref": f"benefit:UMKM-NAIK-KELAS:{nik}"},
                    "effective_date": _iso(done),
                    "reason_code": code,
                }
                story.steps.append(self._step("TerminateBenefit", done, cmd, reason=reason))
            else:
                done = self._between(dt.date(2026, 9, 30), dt.date(2026, 10, 14))
            cmd = {"enrollment_id": {"ref": ref}, "outcome": outcome, "completed_on": _iso(done)}
            story.steps.append(self._step("CompleteEmpowerment", done, cmd))
            return

    def _nibs_after_decisions(self, story: _Story) -> None:
        """NIBs in 2026, after the decisions: a KJB head among them (a review) or another
        adult."""
        head_nik = story.head["nik"]
        if ("KJB", head_nik) in story.grants and self.rng.random() < 0.25:
            story.nib_after.add(head_nik)
        elif story.adults and self.rng.random() < 0.04:
            story.nib_after.add(self.rng.choice(story.adults)["nik"])
        for person, _ in story.people:
            if person["nik"] in story.nib_after and person["nik"] not in story.nib_before:
                on = self._between(dt.date(2026, 2, 1), dt.date(2026, 10, 15))
                story.steps.append(self._nib(person, on))

    def _deaths(self, story: _Story) -> None:
        """Now and then a death of someone over 50 in 2026: a member removed as deceased, or
        a death recorded."""
        elders = [
            (p, r)
            for p, r in story.people
            if _age(dt.date.fromisoformat(p["birth_date"])) >= 50
            and p["nik"] not in story.nib_after
            and p["nik"] not in story.enrolled
        ]
        if not elders or self.rng.random() >= 0.05:
            return
        person, relationship = self.rng.choice(elders)
        died = self._between(dt.date(2026, 2, 1), dt.date(2026, 10, 20))
        if relationship != "kepala_keluarga" and self.rng.random() < 0.4:
            cmd = {"nik": person["nik"], "kind": "deceased", "effective_date": _iso(died)}
            story.steps.append(self._step("RemoveMember", died, cmd, reason="Meninggal dunia"))
        else:
            cmd = {"nik": person["nik"], "date_of_death": _iso(died)}
            story.steps.append(self._step("RecordDeath", died, cmd))

    def _benefit_changes(self, story: _Story) -> None:
        """A few of the 2026 benefits terminated during the year; a few others suspended for
        a while (PKH when the family's obligations were not met, others while data is
        checked), more than half of those resumed one to three months later. UMKM Naik
        Kelas ends as `_empowerment` says."""
        rng = self.rng
        for program, nik in story.grants:
            if program == "UMKM-NAIK-KELAS":
                continue
            benefit = {"ref": f"benefit:{program}:{nik}"}
            roll = rng.random()
            if roll < 0.05:
                ended = self._between(dt.date(2026, 3, 1), dt.date(2026, 9, 30))
                reason_code, reason = rng.choice(TERMINATION_REASONS)
                cmd = {
                    "benefit_id": benefit,
                    "effective_date": _iso(ended),
                    "reason_code": reason_code,
                }
                story.steps.append(self._step("TerminateBenefit", ended, cmd, reason=reason))
            elif roll < 0.11:
                paused = self._between(dt.date(2026, 3, 1), dt.date(2026, 8, 31))
                code, reason = (
                    PKH_SUSPENSION if program == "PKH" else rng.choice(SUSPENSION_REASONS)
                )
                cmd = {"benefit_id": benefit, "effective_date": _iso(paused), "reason_code": code}
                story.steps.append(self._step("SuspendBenefit", paused, cmd, reason=reason))
                if rng.random() < 0.6:
                    resumed = paused + dt.timedelta(days=rng.randint(30, 90))
                    code, reason = RESUMPTION
                    cmd = {
                        "benefit_id": benefit,
                        "effective_date": _iso(resumed),
                        "reason_code": code,
                    }
                    story.steps.append(self._step("ResumeBenefit", resumed, cmd, reason=reason))

    def _objections(self, story: _Story) -> None:
        """Sometimes a neighbour (an adult of an earlier family of the kelurahan) objects to
        a beneficiary family; half the objections are resolved."""
        rng = self.rng
        objectors = self.neighbours.get(story.family["register"]["kelurahan"], [])
        if not (story.grants and objectors and rng.random() < 0.12):
            return
        filed = self._between(dt.date(2026, 3, 1), REFERENCE_DATE - dt.timedelta(days=1))
        cmd = {
            "objector_nik": rng.choice(objectors),
            "grounds": rng.choice(OBJECTION_GROUNDS),
            "filed_on": _iso(filed),
            "photo_reference": f"sanggah/{_iso(filed)}/{rng.randint(1, 9999):04d}.jpg",
            "latitude": round(rng.uniform(-1.66, -1.56), 5),
            "longitude": round(rng.uniform(103.55, 103.67), 5),
        }
        story.steps.append(self._step("FileObjection", filed, cmd, ref="objection"))
        if rng.random() < 0.5:
            resolved = min(filed + dt.timedelta(days=rng.randint(2, 14)), REFERENCE_DATE)
            cmd = {
                "objection_id": {"ref": "objection"},
                "resolution": rng.choice(("upheld", "rejected")),
                "resolved_on": _iso(resolved),
            }
            story.steps.append(self._step("ResolveObjection", resolved, cmd))

    def _listings(self, story: _Story) -> None:
        """What each imported file lists about the family (RecordSourceListing, with the
        decile's reference): the members born by then with their relationships, and the aid
        it marks (DTKS: PKH, BPNT, PBI-JK; P3KE: PKH, BPNT; DTSEN none). Mostly as the
        register and Casework's benefits say; `LISTING_ERRORS` says how often a member is
        missing, someone else is listed or a living member is marked deceased; a PKH mark is
        missing for a sixth of PKH families and present for one in twenty others (a family
        that left the program, or a stale record)."""
        rng = self.rng
        received = {program for program, _ in story.grants}
        niks = {p["nik"] for p, _ in story.people}
        for imported in story.imports:
            source, on = imported["source"], imported["on"]
            errors = LISTING_ERRORS[source]
            listed = [(p, r) for p, r in story.people if p["birth_date"] <= _iso(on)]
            others = [entry for entry in listed if entry[1] != "kepala_keluarga"]
            if others and rng.random() < errors["missing"]:
                listed.remove(rng.choice(others))
            members = [{"nik": p["nik"], "relationship": r, "deceased": False} for p, r in listed]
            if len(members) > 1 and rng.random() < errors["deceased"]:
                rng.choice(members[1:])["deceased"] = True
            if rng.random() < errors["extra"]:
                extra = self._someone_else(story)
                if extra["nik"] not in niks:
                    members.append(extra)
            flags = {flag for program, flag in SOURCE_FLAGS[source].items() if program in received}
            if SOURCE_FLAGS[source]:
                if "PKH" in flags and rng.random() < 0.15:
                    flags.discard("PKH")
                elif "PKH" not in flags and rng.random() < 0.05:
                    flags.add("PKH")
            cmd = {
                "source": source,
                "period": imported["period"],
                "reference": imported["reference"],
                "kk_number": story.family["register"]["kk_number"],
                "members": members,
                "desil": imported["desil"],
                "benefits": sorted(flags),
            }
            story.steps.append(self._step("RecordSourceListing", on, cmd))

    def _someone_else(self, story: _Story) -> dict:
        """Someone a source lists who is not a member: a grown child who left for a KK of
        their own, or a relative who stayed a while."""
        rng = self.rng
        head_born = dt.date.fromisoformat(story.head["birth_date"])
        born = max(head_born + _years(rng.uniform(20, 30)), dt.date(1960, 1, 1))
        born = min(born, dt.date(2006, 1, 1))
        sex = rng.choice("MF")
        nik = nik_for(story.head["nik"][:6], born, sex, rng.randint(1, 9999))
        relationship = "anak" if born > head_born + _years(18) else "famili_lain"
        return {"nik": nik, "relationship": relationship, "deceased": False}

    def _remember_neighbours(self, story: _Story) -> None:
        """This family's adults may object to later families of the kelurahan (the last 50
        adults of each kelurahan are kept)."""
        known = self.neighbours.setdefault(story.family["register"]["kelurahan"], [])
        known.extend(p["nik"] for p in story.adults)
        del known[:-50]

    # -- steps -------------------------------------------------------------------------

    def _grant(self, story: _Story, program: str, person: dict) -> None:
        nik = person["nik"]
        story.held.setdefault(nik, []).append(program)
        story.grants.append((program, nik))
        decided, period = TERMS.get(program, (GRANTED_ON, PERIOD_2026))
        cmd = {
            "nik": nik,
            "program": program,
            "period_start": period[0],
            "period_end": period[1],
            "amount": AMOUNTS[program],
        }
        story.steps.append(
            self._step(
                "GrantBenefit",
                decided,
                cmd,
                reason=f"Penetapan penerima {program} 2026",
                ref=f"benefit:{program}:{nik}",
            )
        )

    @staticmethod
    def _step(
        command: str, on: dt.date, cmd: dict, reason: str | None = None, ref: str | None = None
    ) -> dict:
        return {"command": command, "on": _iso(on), "cmd": cmd, "reason": reason, "ref": ref}

    def _import(self, story: _Story, source: str, period: str, desil: int, start: dt.date) -> None:
        """The source's file imported: the family's decile now (its listing is drawn in
        `_listings`), with the file and the family's (first) row as the reference."""
        on = start + dt.timedelta(days=self.rng.randint(0, 60))
        name, per_person, first_row = SOURCE_FILES[(source, period)]
        row = self.rows.get(name, first_row)
        self.rows[name] = row + (len(story.people) if per_person else 1)
        reference = f"{name}#row={row}"
        cmd = {"source": source, "desil": desil, "period": period, "reference": reference}
        story.steps.append(self._step("RecordWelfareAssessment", on, cmd))
        story.imports.append(
            {"source": source, "period": period, "desil": desil, "on": on, "reference": reference}
        )

    def _nib(self, person: dict, on: dt.date) -> dict:
        first = person["name"].split()[0]
        cmd = {
            "nik": person["nik"],
            "nib": f"{self.rng.randint(1, 9)}{self.rng.randint(0, 10**12 - 1):012d}",
            "business_name": f"{self.rng.choice(BUSINESSES)} {first}",
            "registered_on": _iso(on),
        }
        return self._step("RegisterNib", on, cmd)

    def _arrival(self, born: dt.date) -> dt.date:
        """When a newcomer arrived: mostly years ago, one in five in 2025 (under 12 months
        before the 2026 decisions)."""
        if self.rng.random() < 0.2:
            return self._between(dt.date(2025, 1, 15), dt.date(2025, 11, 30))
        earliest = max(_add_years(born, 17), dt.date(1995, 1, 1))
        return self._between(earliest, max(earliest, dt.date(2024, 12, 31)))

    def _between(self, earliest: dt.date, latest: dt.date) -> dt.date:
        if latest <= earliest:
            return earliest
        return earliest + dt.timedelta(days=self.rng.randint(0, (latest - earliest).days))


def generate_histories(families: list[dict], seed: int = 0) -> Iterator[list[dict]]:
    """The history of each family, in order (see HistoryGenerator)."""
    generator = HistoryGenerator(seed)
    for family in families:
        yield generator.history(family)
