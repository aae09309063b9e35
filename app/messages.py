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
    # Dates and plain values (app/schemas.py, domain/household.py)
    "date.format": (
        "Isi tanggal dengan format TTTT-BB-HH, misalnya 2025-04-21.",
        "Enter the date as YYYY-MM-DD, for example 2025-04-21.",
    ),
    "date.in_future": (
        "Tanggal ini tidak boleh di masa depan. Isi tanggal kejadian yang sebenarnya.",
        "This date cannot be in the future. Enter the day it actually happened.",
    ),
    "date.too_old": (
        "Tanggal terlalu lampau (sebelum 1900). Periksa tahunnya.",
        "The date is too far in the past (before 1900). Check the year.",
    ),
    "date.before_birth": (
        "Tanggal ini sebelum tanggal lahir orang tersebut. Periksa kembali tanggalnya.",
        "This date is before the person's birth date. Check the date.",
    ),
    "date.before_start": (
        "Tanggal ini sebelum tanggal mulainya. Isi tanggal yang sama atau sesudahnya.",
        "This date is before the start date. Enter the same day or a later one.",
    ),
    "value.required": ("Wajib diisi.", "Required."),
    "value.reserved": (
        "Teks yang diawali 'pd1.' tidak diterima (bentuk data pribadi terenkripsi). "
        "Tulis isinya sendiri.",
        "Text starting with 'pd1.' is not accepted (the form of encrypted personal data). "
        "Write the content itself.",
    ),
    "id.format": (
        "Harus berupa UUID seperti yang diberikan sistem, misalnya "
        "0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10. Salin dari jawaban atau halaman sebelumnya.",
        "Must be a UUID as the system gave it, for example 0b7c9a52-3a9e-4f54-8a0e-2f1d6c1b9e10. "
        "Copy it from the earlier answer or page.",
    ),
    # Membership (domain/household.py)
    "person.not_found": (
        "Orang tanpa identitas ini tidak ditemukan. Periksa ID orang (person_id).",
        "No such provisional person. Check the person_id.",
    ),
    "person.deceased": (
        "Orang ini tercatat sudah meninggal. Periksa NIK-nya; data orang yang meninggal tidak "
        "dapat diubah dengan perintah ini.",
        "This person is recorded as deceased. Check the NIK; a deceased person's record cannot "
        "be changed by this command.",
    ),
    "member.not_found": (
        "NIK ini bukan anggota rumah tangga ini. Periksa NIK atau pilih rumah tangga yang benar.",
        "This NIK is not a member of this household. Check the NIK or choose the right household.",
    ),
    "member.not_active": (
        "Anggota ini sudah tidak aktif (pindah atau dikeluarkan). Pilih anggota yang masih aktif.",
        "This member is no longer active (moved out or removed). Choose an active member.",
    ),
    "member.already_removed": (
        "Anggota ini sudah dikeluarkan sebelumnya. Tidak perlu dikeluarkan lagi.",
        "This member was already removed. Nothing more to do.",
    ),
    "member.is_head": (
        "Kepala keluarga tidak dapat dikeluarkan selama masih ada anggota lain. Ganti kepala "
        "keluarga dulu (perintah Ganti kepala keluarga).",
        "The head cannot be removed while other members remain. Change the head first "
        "(ChangeHead).",
    ),
    "member.already_head": (
        "Orang ini sudah menjadi kepala keluarga. Pilih anggota lain.",
        "This person is already the head of the family. Choose another member.",
    ),
    "member.not_adult": (
        "Kepala keluarga baru harus dewasa (17 tahun ke atas) atau suami/istri. Pilih anggota "
        "lain.",
        "The new head must be an adult (17 or older) or a spouse. Choose another member.",
    ),
    "removal.kind_unknown": (
        "Pilih alasan keluar: pindah (moved_out), meninggal (deceased) atau lainnya (other).",
        "Choose why the member leaves: moved_out, deceased or other.",
    ),
    # Identity
    "arrival.type_unknown": (
        "Pilih asal kedatangan: lahir di sini (born_here) atau pindah datang (pindah_datang).",
        "Choose the arrival: born_here or pindah_datang (moved in).",
    ),
    "arrival.arrived_on_required": (
        "Untuk pindah datang, isi tanggal kedatangan sesuai SKPWNI.",
        "For pindah_datang, enter the arrival date from the SKPWNI.",
    ),
    "arrival.origin_required": (
        "Untuk pindah datang, isi kode wilayah asal (4 atau 6 angka) sesuai SKPWNI.",
        "For pindah_datang, enter the origin region code (4 or 6 digits) from the SKPWNI.",
    ),
    "arrival.after_issue": (
        "Tanggal kedatangan tidak boleh sesudah tanggal terbit KTP. Periksa kedua tanggal.",
        "The arrival date cannot be after the KTP's issue date. Check both dates.",
    ),
    "region_code.format": (
        "Kode wilayah asal diisi 4 angka (kabupaten/kota) atau 6 angka (kecamatan), misalnya 3171.",
        "The origin region code has 4 digits (regency/city) or 6 (district), for example 3171.",
    ),
    "identity.already_linked": (
        "Orang ini sudah ditautkan ke sebuah NIK. Periksa riwayatnya; penautan tidak diulang.",
        "This person is already linked to a NIK. Check their history; a link is not repeated.",
    ),
    "birth_year.out_of_range": (
        "Perkiraan tahun lahir diisi 4 angka, dari 1900 sampai tahun ini. Kosongkan bila tidak "
        "diketahui.",
        "The estimated birth year is 4 digits, from 1900 to this year. Leave it empty if unknown.",
    ),
    "found_at.empty": (
        "Isi tempat orang ini ditemukan, misalnya nama pasar, jalan atau masjid.",
        "Enter where the person was found, for example a market, street or mosque.",
    ),
    "found_at.too_long": (
        "Tempat ditemukan paling panjang 200 karakter.",
        "Where found has at most 200 characters.",
    ),
    "notes.too_long": (
        "Catatan paling panjang 2000 karakter. Persingkat isinya.",
        "Notes have at most 2000 characters. Shorten them.",
    ),
    # Business
    "nib.format": (
        "NIB terdiri dari 13 angka. Salin dari dokumen OSS.",
        "An NIB has 13 digits. Copy it from the OSS document.",
    ),
    "nib.already_registered": (
        "NIB ini sudah tercatat aktif di rumah tangga ini. Tidak perlu dicatat lagi.",
        "This NIB is already recorded as active for this household. Nothing more to do.",
    ),
    "nib.not_found": (
        "NIB ini tidak tercatat atas NIK tersebut. Periksa NIB dan NIK.",
        "This NIB is not recorded for that NIK. Check the NIB and the NIK.",
    ),
    "nib.already_revoked": (
        "NIB ini sudah dicabut sebelumnya. Tidak perlu dicabut lagi.",
        "This NIB was already revoked. Nothing more to do.",
    ),
    "business_name.empty": (
        "Isi nama usaha sesuai NIB.",
        "Enter the business name as on the NIB.",
    ),
    "business_name.too_long": (
        "Nama usaha paling panjang 200 karakter.",
        "A business name has at most 200 characters.",
    ),
    # Welfare
    "assessment.source_unknown": (
        "Pilih sumber data: DTSEN, DTKS, P3KE atau VERVAL.",
        "Choose the source: DTSEN, DTKS, P3KE or VERVAL.",
    ),
    "desil.out_of_range": (
        "Desil diisi bilangan bulat dari 1 (paling miskin) sampai 10.",
        "The decile is a whole number from 1 (poorest) to 10.",
    ),
    "period.format": (
        "Isi periode dengan format TTTT-Qn (triwulan 1 sampai 4), misalnya 2025-Q1.",
        "Enter the period as YYYY-Qn (quarter 1 to 4), for example 2025-Q1.",
    ),
    "reference.too_long": (
        "Referensi paling panjang 200 karakter.",
        "A reference has at most 200 characters.",
    ),
    "verification.outcome_unknown": (
        "Pilih hasil verifikasi: valid, tidak valid (invalid), pindah (moved), tidak ditemukan "
        "(not_found) atau meninggal (deceased).",
        "Choose the outcome: valid, invalid, moved, not_found or deceased.",
    ),
    "verifier.empty": (
        "Isi nama petugas atau tim yang berkunjung.",
        "Enter the name of the person or team who visited.",
    ),
    "verifier.too_long": (
        "Nama petugas paling panjang 100 karakter.",
        "The verifier has at most 100 characters.",
    ),
    # Benefits
    "period.end_before_start": (
        "Akhir periode tidak boleh sebelum awal periode. Periksa kedua tanggal.",
        "The period cannot end before it starts. Check both dates.",
    ),
    "amount.negative": (
        "Jumlah tidak boleh negatif. Isi rupiah utuh, 0 atau lebih.",
        "The amount cannot be negative. Enter whole rupiah, 0 or more.",
    ),
    "amount.invalid": (
        "Jumlah diisi rupiah utuh: hanya angka, tanpa titik, koma atau Rp.",
        "Enter the amount in whole rupiah: digits only, no dots, commas or Rp.",
    ),
    "benefit.not_found": (
        "Bantuan ini tidak ditemukan di rumah tangga ini. Periksa ID bantuan (benefit_id).",
        "No such benefit in this household. Check the benefit_id.",
    ),
    "benefit.terminated": (
        "Bantuan ini sudah dihentikan dan tidak dapat diubah lagi.",
        "This benefit has been terminated and cannot change any more.",
    ),
    "benefit.not_active": (
        "Bantuan ini tidak sedang aktif, jadi tidak dapat ditangguhkan.",
        "This benefit is not active, so it cannot be suspended.",
    ),
    "benefit.not_suspended": (
        "Bantuan ini tidak sedang ditangguhkan, jadi tidak perlu dilanjutkan.",
        "This benefit is not suspended, so there is nothing to resume.",
    ),
    "review.cause_unknown": (
        "Penyebab peninjauan tidak dikenal (nib atau death).",
        "Unknown review cause (nib or death).",
    ),
    "review.already_open": (
        "Peninjauan dengan penyebab yang sama sudah terbuka untuk bantuan ini.",
        "A review for the same cause is already open for this benefit.",
    ),
    # Empowerment
    "enrollment.not_found": (
        "Keikutsertaan ini tidak ditemukan. Periksa ID keikutsertaan (enrollment_id).",
        "No such enrolment. Check the enrollment_id.",
    ),
    "enrollment.already_open": (
        "Orang ini masih terdaftar di program ini. Selesaikan keikutsertaan yang ada dulu.",
        "This person is still enrolled in this program. Complete the open enrolment first.",
    ),
    "enrollment.already_completed": (
        "Keikutsertaan ini sudah selesai. Tidak perlu diselesaikan lagi.",
        "This enrolment is already completed. Nothing more to do.",
    ),
    "enrollment.outcome_unknown": (
        "Pilih hasil: selesai (completed), lulus/mandiri (graduated) atau berhenti (dropped_out).",
        "Choose the outcome: completed, graduated or dropped_out.",
    ),
    # Casework
    "note_text.empty": ("Tulis isi catatan.", "Write the note."),
    "note_text.too_long": (
        "Catatan paling panjang 4000 karakter. Bagi menjadi beberapa catatan.",
        "A note has at most 4000 characters. Split it into several notes.",
    ),
    "objection.not_found": (
        "Sanggahan ini tidak ditemukan. Periksa ID sanggahan (objection_id).",
        "No such objection. Check the objection_id.",
    ),
    "objection.not_open": (
        "Sanggahan ini sudah ditutup (diputus atau kedaluwarsa).",
        "This objection is already closed (resolved or lapsed).",
    ),
    "objection.resolution_unknown": (
        "Pilih keputusan: diterima (upheld) atau ditolak (rejected).",
        "Choose the resolution: upheld or rejected.",
    ),
    "objection.past_deadline": (
        "Batas 14 hari untuk memutus sanggahan ini sudah lewat; sanggahan akan kedaluwarsa.",
        "The 14-day limit to resolve this objection has passed; it lapses.",
    ),
    "objection.not_due": (
        "Sanggahan ini belum melewati batas waktunya.",
        "This objection has not yet passed its deadline.",
    ),
    "objection.other_kelurahan": (
        "Penyanggah harus tinggal di kelurahan yang sama dengan rumah tangga yang disanggah.",
        "The objector must live in the same kelurahan as the household objected to.",
    ),
    # Privacy (UU PDP): restriction of processing
    "restriction.already": (
        "Pemrosesan data orang ini sudah dibatasi. Tidak perlu dibatasi lagi.",
        "Processing of this person's data is already restricted. Nothing more to do.",
    ),
    "restriction.not_restricted": (
        "Pemrosesan data orang ini tidak sedang dibatasi, jadi tidak ada yang dicabut.",
        "Processing of this person's data is not restricted, so there is nothing to lift.",
    ),
    # Privacy (UU PDP): erasure
    "erasure.unavailable": (
        "Data orang ini tidak dapat dihapus: kuncinya tidak ditemukan. Hubungi admin sistem.",
        "This person's data cannot be erased: its key was not found. Contact the system "
        "administrator.",
    ),
    "erasure.already": (
        "Data pribadi orang ini sudah dihapus. Tidak ada yang perlu dihapus lagi.",
        "This person's personal data is already erased. Nothing more to do.",
    ),
    "exemption.unknown": (
        "Pilih salah satu dasar pengecualian menurut UU PDP Pasal 15.",
        "Choose one of the exemption grounds of UU PDP article 15.",
    ),
    "exemption.not_erasure": (
        "Dasar pengecualian hanya dapat dipakai untuk menolak permintaan penghapusan data.",
        "An exemption ground can only be given when rejecting an erasure request.",
    ),
    "restriction_grounds.empty": (
        "Tulis dasar pembatasan (misalnya permohonan subjek data).",
        "Write the grounds for the restriction (for example the data subject's request).",
    ),
    "restriction_grounds.too_long": (
        "Dasar pembatasan paling panjang 2000 karakter.",
        "The grounds have at most 2000 characters.",
    ),
    "grounds.empty": (
        "Tulis alasan sanggahan.",
        "Write the grounds of the objection.",
    ),
    "grounds.too_long": (
        "Alasan sanggahan paling panjang 2000 karakter.",
        "The grounds have at most 2000 characters.",
    ),
    "photo_reference.empty": (
        "Sanggahan wajib disertai foto: isi rujukan tempat foto disimpan.",
        "An objection needs a photo: enter where the photo is kept.",
    ),
    "photo_reference.too_long": (
        "Rujukan foto paling panjang 500 karakter.",
        "The photo reference has at most 500 characters.",
    ),
    "coordinates.format": (
        "Koordinat diisi angka desimal dengan titik, misalnya -1.6101 dan 103.6131.",
        "Coordinates are decimal numbers with a dot, for example -1.6101 and 103.6131.",
    ),
    "coordinates.out_of_range": (
        "Koordinat di luar jangkauan: lintang -90 sampai 90, bujur -180 sampai 180.",
        "Coordinates out of range: latitude -90 to 90, longitude -180 to 180.",
    ),
    # Programs (domain/program.py)
    "program.exists": (
        "Kode program ini sudah dipakai. Pilih kode lain atau ubah aturan program yang ada.",
        "This program code is taken. Choose another code or change the existing program's rules.",
    ),
    "program.not_found": (
        "Program dengan kode ini tidak ada. Lihat daftar program.",
        "No program has this code. See the list of programs.",
    ),
    "program.code_invalid": (
        "Kode program diisi huruf, angka, - atau _ (paling panjang 32), misalnya PKH.",
        "A program code is letters, digits, - or _ (at most 32), for example PKH.",
    ),
    "program.name_required": ("Isi nama program.", "Enter the program's name."),
    "program_name.empty": ("Isi nama program.", "Enter the program's name."),
    "program_name.too_long": (
        "Nama program paling panjang 200 karakter.",
        "A program name has at most 200 characters.",
    ),
    "program.opd_required": (
        "Isi OPD pelaksana program, misalnya DINSOS.",
        "Enter the OPD that runs the program, for example DINSOS.",
    ),
    "opd.invalid": (
        "Isi kode OPD: huruf dan angka (paling panjang 50), misalnya DINSOS.",
        "Enter the OPD code: letters and digits (at most 50), for example DINSOS.",
    ),
    "opd.required": (
        "Manajer program harus punya OPD. Isi kode OPD-nya.",
        "A program manager needs an OPD. Enter its code.",
    ),
    "program.funding_unknown": (
        "Pilih sumber dana: APBN, APBD, BAZNAS atau OTHER.",
        "Choose the funding: APBN, APBD, BAZNAS or OTHER.",
    ),
    "program.kind_unknown": (
        "Pilih jenis program: bansos, empowerment (pemberdayaan) atau insurance (jaminan).",
        "Choose the kind: bansos, empowerment or insurance.",
    ),
    "program.not_in_force": (
        "Program belum berlaku pada tanggal mulai bantuan. Periksa tanggal mulai atau aturannya.",
        "The program is not in force on the start date. Check the start date or the rules.",
    ),
    "rules.desil_too_high": (
        "Desil keluarga di atas batas program. Bantuan tidak dapat diberikan; periksa data DTSEN.",
        "The family's welfare decile is above the program's limit. Check the DTSEN data.",
    ),
    "rules.residence_too_short": (
        "Lama tinggal sejak datang ke Kota Jambi belum memenuhi syarat program.",
        "Residence since arriving in Kota Jambi is shorter than the program requires.",
    ),
    "rules.nib_holder": (
        "Penerima memiliki NIB aktif; program ini tidak untuk pemilik NIB.",
        "The recipient holds an active NIB; this program excludes NIB holders.",
    ),
    "rules.once_per_kk": (
        "Program ini hanya sekali per KK dan keluarga ini sudah pernah menerimanya.",
        "This program is once per KK and this family has already received it.",
    ),
    "rules.not_combinable": (
        "Penerima sudah menerima program lain yang tidak boleh digabung dengan program ini.",
        "The recipient already receives a program that cannot be combined with this one.",
    ),
    "rules.recipient": (
        "Penerima tidak sesuai ketentuan program (misalnya PKH untuk ibu atau perempuan dewasa).",
        "The recipient does not fit the program (PKH goes to the mother or an adult woman).",
    ),
    "rules.invalid": (
        'Aturan harus berupa objek JSON, misalnya {"max_desil": 4}.',
        'The rules must be a JSON object, for example {"max_desil": 4}.',
    ),
    "rules.field_unknown": (
        "Aturan ini tidak dikenal. Lihat daftar aturan di openapi.json.",
        "Unknown rule. See the rules listed in openapi.json.",
    ),
    "rules.max_desil_invalid": (
        "Desil tertinggi diisi bilangan bulat 1 sampai 10; kosongkan bila tanpa batas.",
        "The highest decile is a whole number from 1 to 10; leave it empty for no limit.",
    ),
    "rules.min_residence_months_invalid": (
        "Lama tinggal minimum diisi bilangan bulat bulan, 0 atau lebih.",
        "The minimum residence is a whole number of months, 0 or more.",
    ),
    "rules.flag_invalid": (
        "Pilih ya (true) atau tidak (false).",
        "Choose yes (true) or no (false).",
    ),
    "rules.combinable_with_invalid": (
        'Isi daftar kode program yang boleh digabung, misalnya ["BPNT"] (di formulir: '
        "dipisah koma).",
        'Give a list of program codes it combines with, for example ["BPNT"] (in the form: '
        "separated by commas).",
    ),
    "rules.recipient_unknown": (
        "Pilih penerima: kepala keluarga (head), perempuan dewasa (adult_woman) atau siapa saja "
        "(any_member).",
        "Choose the recipient: head, adult_woman or any_member.",
    ),
    "rules.effective_from_invalid": (
        "Isi tanggal berlaku dengan format TTTT-BB-HH.",
        "Enter the effective date as YYYY-MM-DD.",
    ),
    "rules.effective_from_before_previous": (
        "Aturan baru tidak boleh berlaku sebelum versi aturan sebelumnya. Pilih tanggal yang "
        "sama atau sesudahnya.",
        "New rules cannot take effect before the previous version. Choose that day or later.",
    ),
    # Maker-checker (domain/approval.py)
    "approval.not_found": (
        "Permintaan persetujuan ini tidak ditemukan. Periksa ID persetujuan (approval_id).",
        "No such approval request. Check the approval_id.",
    ),
    "approval.decided": (
        "Permintaan ini sudah diputus (disetujui atau ditolak). Muat ulang daftar persetujuan.",
        "This request was already decided (approved or rejected). Reload the approvals list.",
    ),
    "approval.self": (
        "Anda tidak dapat menyetujui atau menolak permintaan Anda sendiri. Minta supervisor lain.",
        "You cannot decide your own request. Ask another supervisor.",
    ),
    "approval.supervisor_only": (
        "Hanya supervisor yang dapat menyetujui atau menolak perubahan. Masuk sebagai "
        "supervisor atau minta supervisor memutusnya.",
        "Only a supervisor can approve or reject a change. Sign in as a supervisor or ask one "
        "to decide.",
    ),
    "approval.command_unknown": (
        "Perintah ini tidak dapat diajukan untuk persetujuan.",
        "This command cannot be submitted for approval.",
    ),
    "approval.note_required": (
        "Tulis alasan penolakan agar pembuat permintaan tahu apa yang harus diperbaiki.",
        "Write why it is rejected, so the requester knows what to fix.",
    ),
    "note.empty": (
        "Tulis alasan penolakan agar pembuat permintaan tahu apa yang harus diperbaiki.",
        "Write why it is rejected, so the requester knows what to fix.",
    ),
    "note.too_long": (
        "Catatan paling panjang 500 karakter.",
        "A note has at most 500 characters.",
    ),
    # Accounts (domain/accounts.py)
    "user.name_invalid": (
        "Nama pengguna 2 sampai 64 karakter: huruf, angka, titik, _, @ atau -.",
        "A user name has 2 to 64 characters: letters, digits, dot, _, @ or -.",
    ),
    "user.exists": (
        "Nama pengguna ini sudah dipakai. Pilih nama lain.",
        "This user name is taken. Choose another.",
    ),
    "user.not_found": (
        "Pengguna ini tidak ada. Periksa nama pengguna.",
        "No such user. Check the user name.",
    ),
    "user.inactive": (
        "Pengguna ini sudah dinonaktifkan. Hubungi admin.",
        "This user has been deactivated. Contact the administrator.",
    ),
    "role.unknown": (
        "Peran tidak dikenal. Pilih caseworker, supervisor, auditor, program_manager, agency "
        "atau admin.",
        "Unknown role. Choose caseworker, supervisor, auditor, program_manager, agency or admin.",
    ),
    "kelurahan.required": (
        "Pendamping (caseworker) harus punya paling sedikit satu kelurahan. Isi kelurahannya.",
        "A caseworker needs at least one kelurahan. Enter it.",
    ),
    "token.not_found": (
        "Token ini tidak dikenal. Terbitkan token baru.",
        "Unknown token. Issue a new one.",
    ),
    "token.revoked": (
        "Token ini sudah dicabut. Terbitkan token baru.",
        "This token has been revoked. Issue a new one.",
    ),
    # Access (app/auth.py)
    "auth.token_missing": (
        "Sertakan token API: header Authorization: Bearer <token>. Minta token ke admin "
        "(casework tokens issue NAMA).",
        "Send an API token: the header Authorization: Bearer <token>. Ask the administrator for "
        "one (casework tokens issue NAME).",
    ),
    "auth.token_invalid": (
        "Token API tidak dikenal, sudah dicabut, atau penggunanya nonaktif. Minta token baru "
        "ke admin.",
        "The API token is unknown, revoked, or its user inactive. Ask the administrator for a "
        "new one.",
    ),
    "auth.read_only": (
        "Peran Anda hanya boleh membaca data, tidak mengubahnya. Minta pendamping atau "
        "supervisor mencatat perubahan ini.",
        "Your role may read data but not change it. Ask a caseworker or supervisor to record "
        "this change.",
    ),
    "auth.role": (
        "Peran Anda tidak boleh menjalankan perintah ini. Minta supervisor atau admin.",
        "Your role may not give this command. Ask a supervisor or the administrator.",
    ),
    "auth.kelurahan": (
        "Rumah tangga ini di luar kelurahan tugas Anda. Minta pendamping kelurahan tersebut "
        "atau supervisor.",
        "This household is outside your kelurahan. Ask that kelurahan's caseworker or a "
        "supervisor.",
    ),
    "auth.kecamatan": (
        "Kecamatan ini di luar wilayah tugas Anda. Minta pendamping wilayah tersebut atau "
        "supervisor.",
        "This kecamatan is outside your area. Ask that area's caseworker or a supervisor.",
    ),
    "auth.opd": (
        "Program ini milik OPD lain. Anda hanya dapat mengelola program OPD Anda sendiri.",
        "This program belongs to another OPD. You can only manage your own OPD's programs.",
    ),
    # Idempotency (app/idempotency.py)
    "idempotency.in_progress": (
        "Permintaan dengan Idempotency-Key yang sama masih diproses. Tunggu sebentar, lalu "
        "kirim ulang dengan kunci yang sama.",
        "A request with the same Idempotency-Key is still running. Wait a moment, then send it "
        "again with the same key.",
    ),
    "idempotency.key_reused": (
        "Idempotency-Key ini sudah dipakai untuk permintaan lain. Pakai kunci baru untuk "
        "permintaan baru.",
        "This Idempotency-Key was used for a different request. Use a new key for a new request.",
    ),
    "idempotency.key_invalid": (
        "Idempotency-Key paling panjang 200 karakter. Pakai UUID, misalnya.",
        "An Idempotency-Key has at most 200 characters. Use a UUID, for example.",
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
    "nav.commands": ("Perintah", "Commands"),
    "household.commands": (
        "Perintah lain untuk rumah tangga ini",
        "More commands for this household",
    ),
    "nav.approvals": ("Persetujuan", "Approvals"),
    "form.optional": ("boleh kosong", "optional"),
    "form.more": (
        "Lainnya: alasan, waktu kejadian, versi yang diharapkan",
        "More: reason, when it happened, expected version",
    ),
    "form.submit": ("Simpan", "Save"),
    "form.yes": ("Ya", "Yes"),
    "form.no": ("Tidak", "No"),
    "commands.title": ("Perintah", "Commands"),
    "commands.intro": (
        "Setiap perubahan data dicatat sebagai perintah. Pilih perintah untuk membuka "
        "formulirnya; yang bertanda persetujuan menunggu keputusan supervisor.",
        "Every change is recorded as a command. Choose one to open its form; those marked "
        "for approval wait for a supervisor's decision.",
    ),
    "commands.back": ("‹ Semua perintah", "‹ All commands"),
    "commands.to_household": ("Lihat rumah tangga", "View the household"),
    "commands.approval_badge": ("perlu persetujuan", "needs approval"),
    "commands.needs_approval": (
        "Perintah ini disimpan sebagai permintaan dan baru dijalankan setelah disetujui "
        "supervisor lain.",
        "This command is kept as a request and carried out only once another supervisor "
        "approves it.",
    ),
    "command.stored": ("Tersimpan.", "Stored."),
    "command.version": ("Versi data sekarang", "The record is now at version"),
    "command.pending": (
        "Permintaan disimpan dan menunggu persetujuan supervisor. ID persetujuan:",
        "Request kept, waiting for a supervisor's approval. Approval id:",
    ),
    "group.membership": ("Keanggotaan", "Membership"),
    "group.identity": ("Identitas", "Identity"),
    "group.business": ("Usaha", "Business"),
    "group.welfare": ("Kesejahteraan", "Welfare"),
    "group.programs": ("Program", "Programs"),
    "group.benefits": ("Bantuan", "Benefits"),
    "group.empowerment": ("Pemberdayaan", "Empowerment"),
    "group.casework": ("Kasus", "Casework"),
    "group.approvals": ("Persetujuan", "Approvals"),
    "group.privacy": ("Privasi", "Privacy"),
    "cmd.RegisterHousehold": ("Daftarkan rumah tangga", "Register a household"),
    "cmd.RegisterHousehold.help": (
        "Keluarga baru sesuai Kartu Keluarga.",
        "A new family, as on its family card.",
    ),
    "cmd.AddMember": ("Tambah anggota", "Add a member"),
    "cmd.AddMember.help": ("Anggota baru di rumah tangga.", "A new member of a household."),
    "cmd.RemoveMember": ("Keluarkan anggota", "Remove a member"),
    "cmd.RemoveMember.help": (
        "Anggota pindah, meninggal atau keluar karena sebab lain.",
        "A member moves out, dies or leaves for another reason.",
    ),
    "cmd.ChangeHead": ("Ganti kepala keluarga", "Change the head"),
    "cmd.ChangeHead.help": (
        "Kepala keluarga baru dengan nomor KK baru.",
        "A new head of family, with the new KK number.",
    ),
    "cmd.RecordDeath": ("Catat kematian", "Record a death"),
    "cmd.RecordDeath.help": ("Tanggal meninggal seorang anggota.", "When a member died."),
    "cmd.RelocateHousehold": ("Pindah alamat", "Relocate a household"),
    "cmd.RelocateHousehold.help": (
        "Keluarga pindah ke alamat lain di kota, mungkin ke kelurahan lain.",
        "The family moves to another address in the city, possibly another kelurahan.",
    ),
    "cmd.IssueKtp": ("Catat penerbitan KTP", "Record a KTP issued"),
    "cmd.IssueKtp.help": (
        "KTP terbit, dengan asal kedatangan (lahir di sini atau pindah datang).",
        "A KTP issued, with how the person arrived (born here or moved in).",
    ),
    "cmd.RegisterHomelessPerson": (
        "Daftarkan orang tanpa identitas",
        "Register a person without papers",
    ),
    "cmd.RegisterHomelessPerson.help": (
        "Gelandangan atau orang tanpa dokumen, dengan identitas sementara.",
        "A homeless person or someone without documents, under a provisional identity.",
    ),
    "cmd.LinkIdentity": ("Tautkan identitas", "Link an identity"),
    "cmd.LinkIdentity.help": (
        "Orang tanpa identitas ternyata pemilik NIK di sebuah rumah tangga.",
        "A provisional person turns out to be a NIK in a household.",
    ),
    "cmd.RegisterNib": ("Catat NIB", "Record an NIB"),
    "cmd.RegisterNib.help": (
        "Izin usaha (OSS) seorang anggota.",
        "A member's business licence (OSS).",
    ),
    "cmd.RevokeNib": ("Cabut NIB", "Revoke an NIB"),
    "cmd.RevokeNib.help": ("NIB tidak berlaku lagi.", "An NIB no longer applies."),
    "cmd.RecordWelfareAssessment": ("Catat desil kesejahteraan", "Record a welfare decile"),
    "cmd.RecordWelfareAssessment.help": (
        "Desil dari DTSEN, DTKS, P3KE atau verifikasi lapangan.",
        "A decile from DTSEN, DTKS, P3KE or field verification.",
    ),
    "cmd.RecordVerification": ("Catat verifikasi lapangan", "Record a field verification"),
    "cmd.RecordVerification.help": ("Hasil kunjungan verval.", "The outcome of a verval visit."),
    "cmd.DefineProgram": ("Tetapkan program", "Define a program"),
    "cmd.DefineProgram.help": (
        "Program baru dengan OPD, sumber dana dan aturan kelayakannya.",
        "A new program with its OPD, funding and eligibility rules.",
    ),
    "cmd.ChangeProgramRules": ("Ubah aturan program", "Change program rules"),
    "cmd.ChangeProgramRules.help": (
        "Versi baru aturan; isian yang dikosongkan tetap seperti sekarang.",
        "A new version of the rules; fields left empty keep their current value.",
    ),
    "cmd.GrantBenefit": ("Berikan bantuan", "Grant a benefit"),
    "cmd.GrantBenefit.help": ("Bantuan untuk seorang anggota.", "A benefit for a member."),
    "cmd.SuspendBenefit": ("Tangguhkan bantuan", "Suspend a benefit"),
    "cmd.SuspendBenefit.help": ("Bantuan berhenti sementara.", "A benefit pauses."),
    "cmd.ResumeBenefit": ("Lanjutkan bantuan", "Resume a benefit"),
    "cmd.ResumeBenefit.help": (
        "Bantuan yang ditangguhkan berjalan lagi.",
        "A suspended benefit runs again.",
    ),
    "cmd.TerminateBenefit": ("Hentikan bantuan", "Terminate a benefit"),
    "cmd.TerminateBenefit.help": (
        "Bantuan berakhir, dengan alasan dan tanggal.",
        "A benefit ends, with a reason and a date.",
    ),
    "cmd.EnrollEmpowerment": ("Daftarkan pemberdayaan", "Enrol in empowerment"),
    "cmd.EnrollEmpowerment.help": (
        "Anggota ikut program pelatihan atau modal usaha.",
        "A member joins a training or capital program.",
    ),
    "cmd.CompleteEmpowerment": ("Selesaikan pemberdayaan", "Complete empowerment"),
    "cmd.CompleteEmpowerment.help": (
        "Hasil keikutsertaan: selesai, lulus/mandiri, atau berhenti.",
        "How it ended: completed, graduated or dropped out.",
    ),
    "cmd.AddCaseNote": ("Tambah catatan kasus", "Add a case note"),
    "cmd.AddCaseNote.help": ("Catatan pendamping tentang rumah tangga.", "A caseworker's note."),
    "cmd.FileObjection": ("Catat sanggahan", "File an objection"),
    "cmd.FileObjection.help": (
        "Sanggahan warga sekelurahan, dengan foto dan koordinat; diputus dalam 14 hari.",
        "An objection by a resident of the same kelurahan, with photo and coordinates; "
        "decided within 14 days.",
    ),
    "cmd.ResolveObjection": ("Putus sanggahan", "Resolve an objection"),
    "cmd.ResolveObjection.help": (
        "Sanggahan diterima atau ditolak.",
        "An objection upheld or rejected.",
    ),
    "cmd.RestrictProcessing": ("Batasi pemrosesan data", "Restrict processing"),
    "cmd.RestrictProcessing.help": (
        "Data orang ini hanya disimpan di register (ditandai dibatasi); tidak dipakai program, "
        "tampilan atau umpan data instansi sampai pembatasan dicabut.",
        "Only the register keeps this person's data (marked restricted); no program, view or "
        "agency feed uses it until the restriction is lifted.",
    ),
    "cmd.LiftRestriction": ("Cabut pembatasan", "Lift a restriction"),
    "cmd.LiftRestriction.help": (
        "Data orang ini kembali dapat dipakai program dan instansi.",
        "Programs and agencies may use this person's data again.",
    ),
    "field.RestrictProcessing.grounds": ("Dasar pembatasan", "Grounds for the restriction"),
    "cmd.RequestErasure": ("Hapus data pribadi", "Erase personal data"),
    "cmd.RequestErasure.help": (
        "Atas permintaan subjek data (UU PDP): setelah disetujui supervisor lain, kunci orang "
        "ini dimusnahkan sehingga NIK, nama dan data pribadinya tidak dapat dibaca lagi di mana "
        "pun; bantuan dan riwayat tetap tercatat.",
        "At the data subject's request (UU PDP): once another supervisor approves, the person's "
        "key is destroyed, so their NIK, name and personal data can no longer be read anywhere; "
        "benefits and history stay recorded.",
    ),
    "field.RequestErasure.reason": (
        "Permintaan subjek data (surat, tanggal)",
        "The data subject's request (letter, date)",
    ),
    "field.exemption": (
        "Dasar pengecualian (UU PDP Pasal 15), bila menolak penghapusan",
        "Exemption ground (UU PDP article 15), when refusing an erasure",
    ),
    "opt.exemption.national_defense": (
        "Pertahanan dan keamanan nasional",
        "National defence and security",
    ),
    "opt.exemption.law_enforcement": ("Proses penegakan hukum", "Law enforcement"),
    "opt.exemption.state_administration": (
        "Kepentingan umum dalam penyelenggaraan negara",
        "Public interest in the administration of the state",
    ),
    "opt.exemption.financial_supervision": (
        "Pengawasan sektor jasa keuangan, moneter dan sistem pembayaran",
        "Supervision of financial services, monetary and payment systems",
    ),
    "opt.exemption.statistics_research": (
        "Statistik dan penelitian ilmiah",
        "Statistics and scientific research",
    ),
    "cmd.ApproveChange": ("Setujui perubahan", "Approve a change"),
    "cmd.ApproveChange.help": (
        "Supervisor menyetujui permintaan orang lain; perintahnya langsung dijalankan.",
        "A supervisor approves someone else's request; its command runs at once.",
    ),
    "cmd.RejectChange": ("Tolak perubahan", "Reject a change"),
    "cmd.RejectChange.help": (
        "Supervisor menolak permintaan, dengan alasannya.",
        "A supervisor rejects a request, saying why.",
    ),
    "field.household_id": ("ID rumah tangga", "Household id"),
    "field.person": ("Anggota", "Member"),
    "field.head": ("Kepala keluarga", "Head of family"),
    "field.arrival": ("Asal kedatangan", "Arrival"),
    "field.rules": ("Aturan kelayakan", "Eligibility rules"),
    "field.kind": ("Alasan keluar", "Why the member leaves"),
    "field.DefineProgram.kind": ("Jenis program", "Kind of program"),
    "field.DefineProgram.name": ("Nama program", "Program name"),
    "field.RegisterHomelessPerson.name": (
        "Nama (yang disebutkan, atau ciri-ciri)",
        "Name (as given, or a description)",
    ),
    "field.effective_date": ("Berlaku sejak", "Effective from"),
    "field.new_kk_number": ("Nomor KK baru", "New KK number"),
    "field.date_of_death": ("Tanggal meninggal", "Date of death"),
    "field.moved_on": ("Tanggal pindah", "Moved on"),
    "field.issued_on": ("Tanggal terbit KTP", "KTP issued on"),
    "field.type": ("Asal", "Arrival type"),
    "field.arrived_on": ("Tanggal kedatangan", "Arrived on"),
    "field.origin_region_code": ("Kode wilayah asal", "Origin region code"),
    "field.estimated_birth_year": ("Perkiraan tahun lahir", "Estimated birth year"),
    "field.found_at": ("Tempat ditemukan", "Where found"),
    "field.notes": ("Catatan", "Notes"),
    "field.person_id": ("ID orang tanpa identitas", "Provisional person id"),
    "field.nib": ("NIB", "NIB"),
    "field.business_name": ("Nama usaha", "Business name"),
    "field.registered_on": ("Tanggal terdaftar", "Registered on"),
    "field.revoked_on": ("Tanggal dicabut", "Revoked on"),
    "field.source": ("Sumber data", "Source"),
    "field.desil": ("Desil", "Decile"),
    "field.period": ("Periode", "Period"),
    "field.reference": ("Referensi", "Reference"),
    "field.outcome": ("Hasil", "Outcome"),
    "field.visited_on": ("Tanggal kunjungan", "Visited on"),
    "field.verifier": ("Petugas verifikasi", "Verifier"),
    "field.code": ("Kode program", "Program code"),
    "field.opd": ("OPD pelaksana", "OPD"),
    "field.funding": ("Sumber dana", "Funding"),
    "field.effective_from": ("Berlaku mulai", "Effective from"),
    "field.max_desil": ("Desil tertinggi", "Highest decile"),
    "field.min_residence_months": ("Lama tinggal minimum (bulan)", "Minimum residence (months)"),
    "field.excludes_nib_holders": ("Pemegang NIB dikecualikan", "NIB holders excluded"),
    "field.once_per_kk": ("Sekali per KK", "Once per KK"),
    "field.combinable_with": ("Boleh digabung dengan", "Combinable with"),
    "field.recipient": ("Penerima", "Recipient"),
    "field.program": ("Kode program", "Program code"),
    "field.period_start": ("Awal periode", "Period start"),
    "field.period_end": ("Akhir periode", "Period end"),
    "field.amount": ("Jumlah (rupiah)", "Amount (rupiah)"),
    "field.benefit_id": ("ID bantuan", "Benefit id"),
    "field.enrolled_on": ("Tanggal mulai ikut", "Enrolled on"),
    "field.enrollment_id": ("ID keikutsertaan", "Enrolment id"),
    "field.completed_on": ("Tanggal selesai", "Completed on"),
    "field.text": ("Catatan", "Note"),
    "field.objector_nik": ("NIK penyanggah", "Objector's NIK"),
    "field.grounds": ("Alasan sanggahan", "Grounds"),
    "field.filed_on": ("Tanggal sanggahan", "Filed on"),
    "field.photo_reference": ("Rujukan foto", "Photo reference"),
    "field.latitude": ("Lintang (latitude)", "Latitude"),
    "field.longitude": ("Bujur (longitude)", "Longitude"),
    "field.objection_id": ("ID sanggahan", "Objection id"),
    "field.resolution": ("Keputusan", "Resolution"),
    "field.resolved_on": ("Tanggal keputusan", "Resolved on"),
    "field.approval_id": ("ID persetujuan", "Approval id"),
    "field.note": ("Catatan keputusan", "Decision note"),
    "field.expected_version": ("Versi data yang diharapkan", "Expected version"),
    "field.reason": ("Alasan", "Reason"),
    "field.occurred_at": ("Waktu kejadian", "When it happened"),
    "hint.household_id": (
        "Terisi otomatis dari halaman rumah tangga, atau salin dari alamatnya.",
        "Filled in from the household page, or copy it from its address.",
    ),
    "hint.nik": ("16 angka sesuai KTP", "16 digits, as on the KTP"),
    "hint.objector_nik": ("16 angka sesuai KTP", "16 digits, as on the KTP"),
    "hint.new_kk_number": ("16 angka sesuai Kartu Keluarga baru", "16 digits, as on the new card"),
    "hint.nib": ("13 angka", "13 digits"),
    "hint.period": ("Misalnya 2025-Q1.", "For example 2025-Q1."),
    "hint.origin_region_code": (
        "4 atau 6 angka, dari SKPWNI; hanya untuk pindah datang",
        "4 or 6 digits, from the SKPWNI; only for pindah datang",
    ),
    "hint.arrived_on": ("Hanya untuk pindah datang", "Only for pindah datang"),
    "hint.amount": ("Rupiah utuh, tanpa titik", "Whole rupiah, no dots"),
    "hint.codes": (
        "Kode program dipisah koma, misalnya PKH, BPNT",
        "Program codes separated by commas, e.g. PKH, BPNT",
    ),
    "hint.expected_version": (
        "Versi data yang terakhir Anda lihat; bila sudah berubah, penyimpanan ditolak.",
        "The version you last saw; if it changed since, saving is refused.",
    ),
    "hint.occurred_at": (
        "Kosongkan untuk sekarang. Format: 2025-04-21T09:00:00+07:00.",
        "Leave empty for now. Format: 2025-04-21T09:00:00+07:00.",
    ),
    "hint.latitude": ("Misalnya -1.6101.", "For example -1.6101."),
    "hint.longitude": ("Misalnya 103.6131.", "For example 103.6131."),
    "opt.kind.moved_out": ("Pindah", "Moved out"),
    "opt.kind.deceased": ("Meninggal", "Deceased"),
    "opt.kind.other": ("Lainnya", "Other"),
    "opt.kind.bansos": ("Bantuan sosial", "Social assistance"),
    "opt.kind.empowerment": ("Pemberdayaan", "Empowerment"),
    "opt.kind.insurance": ("Jaminan (asuransi)", "Insurance"),
    "opt.funding.OTHER": ("Lainnya", "Other"),
    "opt.outcome.valid": ("Valid", "Valid"),
    "opt.outcome.invalid": ("Tidak valid", "Invalid"),
    "opt.outcome.moved": ("Pindah", "Moved"),
    "opt.outcome.not_found": ("Tidak ditemukan", "Not found"),
    "opt.outcome.deceased": ("Meninggal", "Deceased"),
    "opt.outcome.completed": ("Selesai", "Completed"),
    "opt.outcome.graduated": ("Lulus / mandiri", "Graduated"),
    "opt.outcome.dropped_out": ("Berhenti", "Dropped out"),
    "opt.recipient.head": ("Kepala keluarga", "Head of family"),
    "opt.recipient.adult_woman": ("Perempuan dewasa", "An adult woman"),
    "opt.recipient.any_member": ("Siapa saja", "Any member"),
    "opt.resolution.upheld": ("Diterima", "Upheld"),
    "opt.resolution.rejected": ("Ditolak", "Rejected"),
    "opt.type.born_here": ("Lahir di sini", "Born here"),
    "opt.type.pindah_datang": ("Pindah datang", "Moved in (pindah datang)"),
    "opt.sex.M": ("Laki-laki", "Male"),
    "opt.sex.F": ("Perempuan", "Female"),
    "opt.relationship.istri": ("Istri", "Wife"),
    "opt.relationship.suami": ("Suami", "Husband"),
    "opt.relationship.anak": ("Anak", "Child"),
    "opt.relationship.menantu": ("Menantu", "Child-in-law"),
    "opt.relationship.cucu": ("Cucu", "Grandchild"),
    "opt.relationship.orang_tua": ("Orang tua", "Parent"),
    "opt.relationship.mertua": ("Mertua", "Parent-in-law"),
    "opt.relationship.famili_lain": ("Famili lain", "Other relative"),
    "opt.relationship.lainnya": ("Lainnya", "Other"),
    "approvals.title": ("Menunggu persetujuan", "Waiting for approval"),
    "approvals.intro": (
        "Perubahan yang harus disetujui supervisor lain sebelum dijalankan. Yang lama di atas.",
        "Changes another supervisor must approve before they run. Oldest first.",
    ),
    "approvals.none": ("Tidak ada yang menunggu persetujuan.", "Nothing is waiting for approval."),
    "approvals.requested_by": ("Diajukan oleh", "Requested by"),
    "approvals.note_optional": ("Catatan (boleh kosong)", "Note (optional)"),
    "approvals.note_required": ("Alasan penolakan (wajib)", "Why it is rejected (required)"),
    "approvals.approve": ("Setujui", "Approve"),
    "approvals.reject": ("Tolak", "Reject"),
    "approval.setujui.done": (
        "Disetujui: perubahan sudah dijalankan.",
        "Approved: the change has been carried out.",
    ),
    "approval.tolak.done": (
        "Ditolak: perubahan tidak dijalankan dan alasannya tercatat.",
        "Rejected: the change was not carried out and the reason is recorded.",
    ),
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
    "member.restricted": ("dibatasi", "restricted"),
    # an erased person's NIK, name (UU PDP: the data is gone for good)
    "person.erased": ("[dihapus]", "[erased]"),
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
