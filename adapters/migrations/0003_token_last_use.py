"""When each API token was last used (`adapters.token_use`): one row per token id, updated at
most once an hour per web process. Idempotent; forward only."""

from yoyo import step

step(
    "CREATE TABLE IF NOT EXISTS casework_token_use ("
    " token_id VARCHAR(32) PRIMARY KEY, last_used_at VARCHAR(40) NOT NULL)"
)
