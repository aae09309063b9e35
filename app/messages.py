"""What the user reads: error codes and interface text in Bahasa Indonesia and English.

Error codes come from domain/identity.py (Problem codes), domain/errors.py and the
schemas at the edge. Every message says what to do next and never repeats the value
entered: a NIK, KK number or name must not end up in a message (or a log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("casework.web")

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"

# code -> (Bahasa Indonesia, English)
ERRORS: dict[str, tuple[str, str]] = {
    # NIK (domain/identity.py)
    "nik.format": (
        "NIK harus terdiri dari 16 angka. Salin ulang dari KTP atau Kartu Keluarga.",
        "A NIK has exactly 16 digits. Copy it again from the KTP or the family card.",
    ),
    "nik.province": (
        "Dua angka pertama NIK bukan kode provinsi yang dikenal. Periksa kembali NIK di KTP.",
        "The first two digits of the NIK are not a known province code. Check the NIK on the KTP.",
    ),
    "nik.region": (
        "Kode kabupaten/kota atau kecamatan di NIK (angka ke-3 sampai ke-6) tidak boleh 00. "
        "Periksa kembali NIK di KTP.",
        "The regency/city or district code in the NIK (digits 3 to 6) cannot be 00. "
        "Check the NIK on the KTP.",
    ),
    "nik.birth_date": (
        "Angka tanggal lahir di NIK (angka ke-7 sampai ke-12) bukan tanggal yang sah. "
        "Periksa kembali NIK di KTP.",
        "The birth-date digits of the NIK (digits 7 to 12) are not a real date. "
        "Check the NIK on the KTP.",
    ),
    "nik.birth_date_mismatch": (
        "Tanggal lahir di NIK tidak sama dengan tanggal lahir yang diisi. "
        "Samakan dengan KTP atau Kartu Keluarga.",
        "The birth date inside the NIK differs from the birth date entered. "
        "Make both match the KTP or family card.",
    ),
    "nik.sex_mismatch": (
        "Jenis kelamin tidak cocok dengan NIK (untuk perempuan tanggal lahir di NIK ditambah 40). "
        "Periksa jenis kelamin atau NIK.",
        "The sex does not match the NIK (for women 40 is added to the day in the NIK). "
        "Check the sex or the NIK.",
    ),
    "nik.serial": (
        "Empat angka terakhir NIK tidak boleh 0000. Periksa kembali NIK di KTP.",
        "The last four digits of the NIK cannot be 0000. Check the NIK on the KTP.",
    ),
    "nik.taken": (
        "NIK ini sudah terdaftar di rumah tangga lain. Cari NIK tersebut di halaman pencarian "
        "dan perbarui data yang ada.",
        "This NIK is already registered in another household. Search for it and update the "
        "existing record instead.",
    ),
    "nik.already_member": (
        "Orang dengan NIK ini sudah menjadi anggota rumah tangga ini.",
        "A person with this NIK is already a member of this household.",
    ),
    # KK number (domain/identity.py)
    "kk.format": (
        "Nomor KK harus terdiri dari 16 angka. Salin ulang dari Kartu Keluarga.",
        "A KK number has exactly 16 digits. Copy it again from the family card.",
    ),
    "kk.province": (
        "Dua angka pertama nomor KK bukan kode provinsi yang dikenal. Periksa kembali Kartu "
        "Keluarga.",
        "The first two digits of the KK number are not a known province code. Check the "
        "family card.",
    ),
    "kk.region": (
        "Kode wilayah di nomor KK (angka ke-3 sampai ke-6) tidak boleh 00. Periksa kembali "
        "Kartu Keluarga.",
        "The region code in the KK number (digits 3 to 6) cannot be 00. Check the family card.",
    ),
    "kk.date": (
        "Tanggal di nomor KK (angka ke-7 sampai ke-12) bukan tanggal yang sah atau ada di masa "
        "depan. Periksa kembali Kartu Keluarga.",
        "The date inside the KK number (digits 7 to 12) is not a real date or lies in the "
        "future. Check the family card.",
    ),
    "kk.serial": (
        "Empat angka terakhir nomor KK tidak boleh 0000. Periksa kembali Kartu Keluarga.",
        "The last four digits of the KK number cannot be 0000. Check the family card.",
    ),
    "kk.taken": (
        "Nomor KK ini sudah terdaftar. Cari nomor KK tersebut dan tambahkan anggota di rumah "
        "tangga yang ada.",
        "This KK number is already registered. Search for it and add members to that household.",
    ),
    # Domain state (domain/errors.py)
    "version.stale": (
        "Data rumah tangga ini baru saja diubah oleh orang lain. Muat ulang halaman, periksa "
        "perubahannya, lalu coba lagi.",
        "Someone else changed this household just now. Reload the page, check the change, "
        "then try again.",
    ),
    "household.not_found": (
        "Rumah tangga tidak ditemukan. Periksa tautan atau cari lewat halaman pencarian.",
        "No such household. Check the link or use the search page.",
    ),
    "relationship.unknown": (
        "Pilih hubungan dengan kepala keluarga dari daftar.",
        "Choose the relationship to the head of the family from the list.",
    ),
    # Schema (app/schemas.py)
    "field.required": ("Wajib diisi.", "Required."),
    "field.invalid": (
        "Isian tidak dapat dibaca. Periksa kembali isinya.",
        "This value cannot be read. Check what was entered.",
    ),
    "field.unknown": (
        "Isian ini tidak dikenal. Hapus atau periksa ejaan nama isian.",
        "Unknown field. Remove it or check the field name's spelling.",
    ),
    "field.object": (
        'Harus berupa objek JSON, misalnya {"nik": ..., "name": ...}.',
        'Must be a JSON object, for example {"nik": ..., "name": ...}.',
    ),
    "name.empty": ("Isi nama sesuai KTP.", "Enter the name as written on the KTP."),
    "name.too_long": (
        "Nama paling panjang 100 karakter. Singkat sesuai KTP.",
        "A name has at most 100 characters. Shorten it as on the KTP.",
    ),
    "birth_date.format": (
        "Isi tanggal lahir dengan format TTTT-BB-HH, misalnya 1985-03-12.",
        "Enter the birth date as YYYY-MM-DD, for example 1985-03-12.",
    ),
    "birth_date.future": (
        "Tanggal lahir tidak boleh di masa depan.",
        "The birth date cannot be in the future.",
    ),
    "birth_date.too_old": (
        "Tanggal lahir terlalu lampau. Periksa tahunnya.",
        "The birth date is too far in the past. Check the year.",
    ),
    "sex.invalid": (
        "Pilih jenis kelamin: laki-laki (M) atau perempuan (F).",
        "Choose the sex: male (M) or female (F).",
    ),
    "kecamatan.unknown": (
        "Pilih salah satu kecamatan di Kota Jambi.",
        "Choose one of the kecamatan of Kota Jambi.",
    ),
    "kelurahan.unknown": (
        "Kelurahan ini tidak ada di kecamatan yang dipilih. Pilih dari daftar.",
        "This kelurahan is not in the chosen kecamatan. Choose one from the list.",
    ),
    "address.empty": (
        "Isi alamat: nama jalan, lorong atau gang, dan nomor rumah.",
        "Enter the address: street, lane and house number.",
    ),
    "address.too_long": (
        "Alamat paling panjang 200 karakter.",
        "An address has at most 200 characters.",
    ),
    "rt.format": (
        "RT diisi 1 sampai 3 angka, misalnya 007.",
        "RT is 1 to 3 digits, for example 007.",
    ),
    "rw.format": (
        "RW diisi 1 sampai 3 angka, misalnya 002.",
        "RW is 1 to 3 digits, for example 002.",
    ),
    "household_id.format": (
        "ID rumah tangga harus berupa UUID, seperti yang diberikan saat pendaftaran.",
        "The household id must be a UUID, as returned at registration.",
    ),
    "expected_version.invalid": (
        "expected_version harus bilangan bulat 0 atau lebih.",
        "expected_version must be a whole number, 0 or more.",
    ),
    "reason.too_long": (
        "Alasan paling panjang 500 karakter.",
        "A reason has at most 500 characters.",
    ),
    "occurred_at.format": (
        "Isi waktu kejadian dalam format RFC 3339 dengan zona waktu, misalnya "
        "2025-04-21T09:00:00+07:00.",
        "Give occurred_at in RFC 3339 with a time zone, for example 2025-04-21T09:00:00+07:00.",
    ),
    "occurred_at.future": (
        "Waktu kejadian tidak boleh di masa depan.",
        "occurred_at cannot be in the future.",
    ),
    "body.json": (
        "Isi permintaan bukan JSON yang sah. Kirim satu objek JSON "
        "(Content-Type: application/json).",
        "The request body is not valid JSON. Send one JSON object "
        "(Content-Type: application/json).",
    ),
    "command.unknown": (
        "Perintah ini tidak dikenal. Lihat daftar perintah di /api/v1/openapi.json.",
        "Unknown command. See the commands in /api/v1/openapi.json.",
    ),
    "route.not_found": (
        "Alamat ini tidak ada di API. Lihat /api/v1/openapi.json.",
        "No such address in the API. See /api/v1/openapi.json.",
    ),
    "method.not_allowed": (
        "Metode HTTP ini tidak diterima di alamat ini. Lihat /api/v1/openapi.json.",
        "This HTTP method is not accepted here. See /api/v1/openapi.json.",
    ),
    "request.bad": (
        "Permintaan tidak dapat dibaca. Periksa isi dan header-nya.",
        "The request cannot be read. Check its body and headers.",
    ),
    "request.too_large": (
        "Permintaan terlalu besar (paling besar 1 MB).",
        "The request is too large (at most 1 MB).",
    ),
    "server.error": (
        "Terjadi kesalahan di server. Periksa apakah data sudah tersimpan, lalu coba lagi; bila "
        "tetap gagal, hubungi admin.",
        "The server failed. Check whether the data was stored, then try again; if it keeps "
        "failing, contact the administrator.",
    ),
    "limit.invalid": (
        "limit harus bilangan bulat dari 1 sampai 100.",
        "limit must be a whole number from 1 to 100.",
    ),
    "offset.invalid": (
        "offset harus bilangan bulat 0 atau lebih.",
        "offset must be a whole number, 0 or more.",
    ),
    "csrf.invalid": (
        "Formulir sudah kedaluwarsa. Muat ulang halaman lalu kirim lagi.",
        "The form has expired. Reload the page and send it again.",
    ),
    "store.unavailable": (
        "Basis data sedang tidak dapat dihubungi. Coba lagi sebentar lagi.",
        "The database cannot be reached right now. Try again in a moment.",
    ),
}

# Interface text: key -> (Bahasa Indonesia, English)
TEXT: dict[str, tuple[str, str]] = {
    "app.title": (
        "Casework — Register Kemiskinan Kota Jambi",
        "Casework — Kota Jambi Poverty Register",
    ),
    "app.short": ("Casework", "Casework"),
    "app.subtitle": ("Register Kemiskinan Kota Jambi", "Kota Jambi Poverty Register"),
    "app.footer": (
        "Dinas Sosial Kota Jambi · data pribadi: gunakan hanya untuk tugas",
        "Dinas Sosial Kota Jambi · personal data: use for official duties only",
    ),
    "nav.search": ("Cari", "Search"),
    "nav.register": ("Daftarkan rumah tangga", "Register a household"),
    "nav.status": ("Status sistem", "System status"),
    "nav.language": ("Bahasa", "Language"),
    "nav.main": ("Navigasi utama", "Main navigation"),
    "skip": ("Langsung ke isi", "Skip to content"),
    "search.title": ("Cari rumah tangga", "Find a household"),
    "search.label": ("NIK, nomor KK, atau nama", "NIK, KK number or name"),
    "search.placeholder": ("Ketik NIK, nomor KK, atau nama…", "Type a NIK, KK number or name…"),
    "search.button": ("Cari", "Search"),
    "search.hint": (
        "NIK dan nomor KK dicari bila 16 angka lengkap; nama dicari sebagian.",
        "NIK and KK numbers match when all 16 digits are typed; names match in part.",
    ),
    "search.none": (
        "Tidak ada rumah tangga yang cocok. Periksa ejaan, atau daftarkan rumah tangga baru.",
        "No household matches. Check the spelling, or register a new household.",
    ),
    "search.empty_register": (
        "Belum ada rumah tangga terdaftar.",
        "No household has been registered yet.",
    ),
    "search.newest": ("Rumah tangga terbaru", "Newest households"),
    "search.results": ("Hasil pencarian", "Search results"),
    "search.total": ("rumah tangga terdaftar", "households registered"),
    "search.partial_digits": (
        "Ketik 16 angka lengkap untuk mencari NIK atau nomor KK.",
        "Type all 16 digits to search a NIK or KK number.",
    ),
    "col.kk": ("Nomor KK", "KK number"),
    "col.head": ("Kepala keluarga", "Head of family"),
    "col.area": ("Kecamatan / kelurahan", "Kecamatan / kelurahan"),
    "col.members": ("Jumlah anggota", "Members"),
    "col.nik": ("NIK", "NIK"),
    "col.name": ("Nama", "Name"),
    "col.relationship": ("Hubungan", "Relationship"),
    "col.sex": ("Jenis kelamin", "Sex"),
    "col.birth_date": ("Tanggal lahir", "Birth date"),
    "col.status": ("Status", "Status"),
    "page.prev": ("‹ Sebelumnya", "‹ Previous"),
    "page.next": ("Berikutnya ›", "Next ›"),
    "page.label": ("Halaman", "Page"),
    "page.nav": ("Halaman hasil", "Result pages"),
    "household.title": ("Rumah tangga", "Household"),
    "household.address": ("Alamat", "Address"),
    "household.area": ("Kecamatan / kelurahan", "Kecamatan / kelurahan"),
    "household.rt_rw": ("RT / RW", "RT / RW"),
    "household.kk": ("Nomor KK", "KK number"),
    "household.version": ("Versi data", "Record version"),
    "household.registered_at": ("Terdaftar", "Registered"),
    "household.members": ("Anggota rumah tangga", "Household members"),
    "household.pending": (
        "Data sedang diproses. Halaman ini diperbarui otomatis dalam beberapa detik.",
        "Being processed. This page updates itself within a few seconds.",
    ),
    "household.pending_title": ("Sedang diproses", "Being processed"),
    "household.back": ("‹ Kembali ke pencarian", "‹ Back to search"),
    "member.add": ("Tambah anggota", "Add a member"),
    "member.submit": ("Tambahkan anggota", "Add member"),
    "member.added": (
        "Anggota ditambahkan. Daftar anggota diperbarui dalam beberapa detik.",
        "Member added. The member list updates within a few seconds.",
    ),
    "register.title": ("Daftarkan rumah tangga", "Register a household"),
    "register.intro": (
        "Isi sesuai Kartu Keluarga (KK) dan KTP kepala keluarga. Anggota lain ditambahkan "
        "setelah rumah tangga terdaftar.",
        "Fill in from the family card (KK) and the head's KTP. Other members are added once "
        "the household is registered.",
    ),
    "register.household": ("Rumah tangga", "Household"),
    "register.head": ("Kepala keluarga", "Head of family"),
    "register.submit": ("Daftarkan", "Register"),
    "register.done": (
        "Rumah tangga berhasil didaftarkan.",
        "The household has been registered.",
    ),
    "form.errors": (
        "Ada isian yang perlu diperbaiki. Lihat pesan di bawah setiap isian.",
        "Some fields need fixing. See the message under each field.",
    ),
    "form.choose": ("— pilih —", "— choose —"),
    "form.choose_kecamatan_first": ("— pilih kecamatan dulu —", "— choose a kecamatan first —"),
    "field.kk_number": ("Nomor KK", "KK number"),
    "field.kecamatan": ("Kecamatan", "Kecamatan"),
    "field.kelurahan": ("Kelurahan", "Kelurahan"),
    "field.address": ("Alamat", "Address"),
    "field.address_hint": ("Jalan, lorong/gang, nomor rumah", "Street, lane, house number"),
    "field.rt": ("RT", "RT"),
    "field.rw": ("RW", "RW"),
    "field.nik": ("NIK", "NIK"),
    "field.nik_hint": ("16 angka sesuai KTP", "16 digits, as on the KTP"),
    "field.kk_hint": ("16 angka sesuai Kartu Keluarga", "16 digits, as on the family card"),
    "field.name": ("Nama lengkap", "Full name"),
    "field.birth_date": ("Tanggal lahir", "Birth date"),
    "field.sex": ("Jenis kelamin", "Sex"),
    "field.relationship": ("Hubungan dengan kepala keluarga", "Relationship to the head"),
    "sex.M": ("Laki-laki", "Male"),
    "sex.F": ("Perempuan", "Female"),
    "status.active": ("Aktif", "Active"),
    "rel.kepala_keluarga": ("Kepala keluarga", "Head of family"),
    "rel.istri": ("Istri", "Wife"),
    "rel.suami": ("Suami", "Husband"),
    "rel.anak": ("Anak", "Child"),
    "rel.menantu": ("Menantu", "Child-in-law"),
    "rel.cucu": ("Cucu", "Grandchild"),
    "rel.orang_tua": ("Orang tua", "Parent"),
    "rel.mertua": ("Mertua", "Parent-in-law"),
    "rel.famili_lain": ("Famili lain", "Other relative"),
    "rel.lainnya": ("Lainnya", "Other"),
    "health.title": ("Status sistem", "System status"),
    "health.intro": (
        "Posisi setiap komponen dibanding penyimpanan event. Jeda (lag) adalah jumlah event "
        "yang belum diproses; di atas 1000 dianggap terganggu.",
        "Each component's position against the event store. Lag is the number of events not "
        "yet processed; above 1000 counts as degraded.",
    ),
    "health.ok": ("Normal", "OK"),
    "health.degraded": ("Terganggu", "Degraded"),
    "health.component": ("Komponen", "Component"),
    "health.position": ("Posisi", "Position"),
    "health.lag": ("Jeda (event)", "Lag (events)"),
    "health.detail": ("Keterangan", "Detail"),
    "health.unreachable": ("Tidak dapat dihubungi", "Unreachable"),
    "health.store": ("Penyimpanan event", "Event store"),
    "health.relay": ("Relay ke Kafka", "Relay to Kafka"),
    "health.projection": ("Proyeksi", "Projection"),
    "health.dlq": ("Antrian pesan gagal (DLQ)", "Dead-letter queue (DLQ)"),
    "health.events": ("event tersimpan", "events stored"),
    "health.published": ("terkirim", "published"),
    "health.applied": ("diterapkan", "applied"),
    "health.messages": ("pesan", "messages"),
    "error.404.title": ("Halaman tidak ditemukan", "Page not found"),
    "error.404.body": (
        "Halaman yang dicari tidak ada. Periksa alamatnya atau kembali ke pencarian.",
        "The page you are looking for does not exist. Check the address or go back to search.",
    ),
    "error.500.title": ("Terjadi kesalahan", "Something went wrong"),
    "error.500.body": (
        "Sistem gagal memproses permintaan ini. Coba lagi sebentar lagi; bila tetap gagal, "
        "hubungi admin Dinas Sosial.",
        "The system could not handle this request. Try again shortly; if it keeps failing, "
        "contact the Dinas Sosial administrator.",
    ),
    "error.405.title": ("Metode tidak diizinkan", "Method not allowed"),
    "error.405.body": (
        "Alamat ini tidak menerima permintaan seperti itu. Kembali ke pencarian.",
        "This address does not accept that kind of request. Go back to search.",
    ),
    "error.400.title": ("Permintaan tidak valid", "Bad request"),
    "error.400.body": (
        "Permintaan tidak dapat dibaca. Muat ulang halaman lalu coba lagi.",
        "The request could not be read. Reload the page and try again.",
    ),
    "error.home": ("Ke halaman pencarian", "Go to search"),
}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def _index(language: str) -> int:
    return LANGUAGES.index(language_of(language))


def message(code: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The message for an error code; an unknown code gets the generic one (and a log line)."""
    entry = ERRORS.get(code)
    if entry is None:
        log.warning("no message for error code %s", code)
        entry = ERRORS["field.invalid"]
    return entry[_index(language)]


def text(key: str, language: str = DEFAULT_LANGUAGE) -> str:
    entry = TEXT.get(key)
    if entry is None:
        log.warning("no interface text for %s", key)
        return key
    return entry[_index(language)]


def translate(
    codes: Mapping[str, list[str]], language: str = DEFAULT_LANGUAGE
) -> dict[str, list[str]]:
    """{field: [code, ...]} -> {field: [message, ...]} in that language."""
    return {
        field: [message(code, language) for code in field_codes]
        for field, field_codes in codes.items()
    }
