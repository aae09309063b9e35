-- Run once by the postgres image, on an empty volume, as POSTGRES_USER (who then owns it).
-- The event store lives in POSTGRES_DB (casework); the read models get their own database,
-- so a projection rebuild never touches the store.
CREATE DATABASE casework_views;
