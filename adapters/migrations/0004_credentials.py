"""Web sign-in passwords (adapters/credentials.py): one argon2id hash per account name.

Kept out of the event store on purpose: events are relayed to `casework.events.v1`, and a
password hash must never reach a subscriber. Idempotent like every migration here.
"""

from yoyo import step

step(
    "CREATE TABLE IF NOT EXISTS casework_credentials ("
    " user_name VARCHAR(64) PRIMARY KEY,"
    " password_hash TEXT NOT NULL,"
    " updated_at VARCHAR(40) NOT NULL,"
    " sessions_after DOUBLE PRECISION NOT NULL DEFAULT 0)"
)
