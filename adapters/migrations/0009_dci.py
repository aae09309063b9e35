"""The DCI social registry interface (app/dci.py): its subscriptions and transactions.

- `casework_dci_subscriptions`: one row per subscription code: the agency, the request's
  reference and transaction ids, the event type subscribed to (REGISTER,
  NewHouseHoldMember), one household or an area (kecamatan/kelurahan pairs, JSON), where the
  callbacks go, the store position notified up to (claimed before sending, so two web
  processes never send the same notification), and its status;
- `casework_dci_transactions`: per correlation id, the agency, transaction id, kind and the
  reference ids, for the txn/status routes.

Neither holds personal data. Idempotent; forward only.
"""

from yoyo import step

step(
    "CREATE TABLE IF NOT EXISTS casework_dci_subscriptions ("
    " code VARCHAR(64) PRIMARY KEY, agency VARCHAR(32) NOT NULL,"
    " reference_id VARCHAR(99) NOT NULL, transaction_id VARCHAR(99) NOT NULL,"
    " reg_event_type VARCHAR(32) NOT NULL, household_id VARCHAR(36), area TEXT NOT NULL,"
    " callback TEXT NOT NULL, receiver_id TEXT NOT NULL, after_position BIGINT NOT NULL,"
    " status VARCHAR(12) NOT NULL, created_at VARCHAR(32) NOT NULL)"
)
step(
    "CREATE TABLE IF NOT EXISTS casework_dci_transactions ("
    " correlation_id VARCHAR(64) PRIMARY KEY, agency VARCHAR(32) NOT NULL,"
    " transaction_id VARCHAR(99) NOT NULL, kind VARCHAR(16) NOT NULL,"
    " refs TEXT NOT NULL, created_at VARCHAR(32) NOT NULL)"
)
