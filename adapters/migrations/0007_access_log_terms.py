"""The read log's index for the subject access report (`adapters.access_log.TERMS`): one row
per (term, read-log row), a term being a household id the row names or the NIK hash it
searched for (not the members' hashes: each is logged with one of their households). The
report then reads the person's rows through the primary key instead of scanning every row
of the log.

Append-only like the log itself: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL), and PUBLIC loses those rights. Rows written before this migration get their terms
here, in batches (what the log holds above the highest row already indexed: idempotent,
and a migration interrupted midway resumes). Forward only. Stop processes of an earlier
version before starting this one: their reads would be logged without terms.
"""

import sqlite3

from yoyo import step

LOG = "casework_access_log"
TERMS = "casework_access_log_terms"
BATCH = 5000

SQLITE = (
    f"CREATE TABLE IF NOT EXISTS {TERMS} ("
    " term VARCHAR(64) NOT NULL, log_id BIGINT NOT NULL, PRIMARY KEY (term, log_id))"
    " WITHOUT ROWID",
    f"CREATE TRIGGER IF NOT EXISTS {TERMS}_no_update BEFORE UPDATE ON {TERMS}"
    " BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {TERMS}_no_delete BEFORE DELETE ON {TERMS}"
    " BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END",
)
POSTGRESQL = (
    f"CREATE TABLE IF NOT EXISTS {TERMS} ("
    " term VARCHAR(64) NOT NULL, log_id BIGINT NOT NULL, PRIMARY KEY (term, log_id))",
)
# casework_access_log_refuse() is migration 0001's
POSTGRESQL_TRIGGERS = {
    f"{TERMS}_no_update_delete": f"BEFORE UPDATE OR DELETE ON {TERMS} FOR EACH ROW",
    f"{TERMS}_no_truncate": f"BEFORE TRUNCATE ON {TERMS} FOR EACH STATEMENT",
}


def terms_of(household_ids, nik_hash) -> list[str]:
    """The terms of one read-log row, each once (as `adapters.access_log.terms_of`)."""
    found = [h for h in (household_ids or "").split(",") if h]
    found += [nik_hash] if nik_hash else []
    return list(dict.fromkeys(found))


def apply(conn):
    sqlite = isinstance(conn, sqlite3.Connection)
    mark = "?" if sqlite else "%s"
    cursor = conn.cursor()
    for statement in SQLITE if sqlite else POSTGRESQL:
        cursor.execute(statement)
    if not sqlite:
        for name, when in POSTGRESQL_TRIGGERS.items():
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(
                    f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION casework_access_log_refuse()"
                )
        cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {TERMS} FROM PUBLIC")
    cursor.execute(f"SELECT COALESCE(MAX(log_id), 0) FROM {TERMS}")
    after = int(cursor.fetchone()[0])
    while True:
        cursor.execute(
            f"SELECT id, household_id, nik_hash FROM {LOG}"
            f" WHERE id > {mark} ORDER BY id LIMIT {BATCH}",
            (after,),
        )
        rows = cursor.fetchall()
        if not rows:
            return
        cursor.executemany(
            f"INSERT INTO {TERMS} (term, log_id) VALUES ({mark}, {mark})",
            [(term, row[0]) for row in rows for term in terms_of(*row[1:])],
        )
        after = int(rows[-1][0])


step(apply)
