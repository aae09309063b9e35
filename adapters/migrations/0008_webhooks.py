"""Agencies' webhooks (`adapters.webhook_store`): the endpoints agencies register, how far
each agency's store events have been queued for its webhook, and the queue itself.

- `casework_webhooks`: one row per registration (agency code, URL, the secret answered once
  at registration, when, and whether it is the agency's active endpoint: registering another
  deactivates the previous one);
- `casework_webhook_progress`: per agency, the store position up to which events were looked
  at and those the agreement allows queued;
- `casework_webhook_queue`: the events waiting to be POSTed, by agency and position, with the
  stream they belong to (delivery is in order within each stream), the attempts made, when the
  next one is due, and `dead` once the attempts ran out. It holds no personal data: the
  envelope is built from the store at each attempt, so an erasure or a revocation in between
  is respected.

Idempotent; forward only.
"""

from yoyo import step

step(
    "CREATE TABLE IF NOT EXISTS casework_webhooks ("
    " id VARCHAR(36) PRIMARY KEY,"
    " agency VARCHAR(32) NOT NULL,"
    " url VARCHAR(2048) NOT NULL,"
    " secret VARCHAR(128) NOT NULL,"
    " created_at VARCHAR(40) NOT NULL,"
    " active SMALLINT NOT NULL)"
)
step("CREATE INDEX IF NOT EXISTS casework_webhooks_agency ON casework_webhooks (agency, active)")
step(
    "CREATE TABLE IF NOT EXISTS casework_webhook_progress ("
    " agency VARCHAR(32) PRIMARY KEY, scanned BIGINT NOT NULL)"
)
step(
    "CREATE TABLE IF NOT EXISTS casework_webhook_queue ("
    " agency VARCHAR(32) NOT NULL,"
    " position BIGINT NOT NULL,"
    " stream_id VARCHAR(64) NOT NULL,"
    " status VARCHAR(10) NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " next_at DOUBLE PRECISION NOT NULL,"
    " last_error VARCHAR(200),"
    " PRIMARY KEY (agency, position))"
)
step(
    "CREATE INDEX IF NOT EXISTS casework_webhook_queue_stream"
    " ON casework_webhook_queue (agency, stream_id, status)"
)
