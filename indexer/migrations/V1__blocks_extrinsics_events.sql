-- What happened in each finalized block, as the block's own runtime
-- decoded it. Everything a block brings is written in one transaction with
-- the cursor, so a block is in the database whole or not at all.

CREATE TABLE blocks (
    number        BIGINT PRIMARY KEY,
    hash          BYTEA NOT NULL UNIQUE,
    parent_hash   BYTEA NOT NULL,
    spec_version  INTEGER NOT NULL,
    -- Milliseconds since the Unix epoch (the timestamp pallet's `now`).
    timestamp_ms  BIGINT,
    extrinsics    INTEGER NOT NULL,
    events        INTEGER NOT NULL
);

CREATE TABLE extrinsics (
    block_number  BIGINT NOT NULL REFERENCES blocks (number),
    index         INTEGER NOT NULL,
    hash          BYTEA NOT NULL,
    pallet        TEXT NOT NULL,
    call          TEXT NOT NULL,
    -- The signing account (hex), NULL for an unsigned extrinsic.
    signer        TEXT,
    success       BOOLEAN NOT NULL,
    -- The fee paid, in units, as a decimal; NULL when none was.
    fee           NUMERIC(39, 0),
    args          JSONB NOT NULL,
    PRIMARY KEY (block_number, index)
);
CREATE INDEX extrinsics_signer ON extrinsics (signer, block_number DESC) WHERE signer IS NOT NULL;
CREATE INDEX extrinsics_call ON extrinsics (pallet, call, block_number DESC);

CREATE TABLE events (
    block_number     BIGINT NOT NULL REFERENCES blocks (number),
    index            INTEGER NOT NULL,
    -- The extrinsic that emitted it; NULL for a block's initialisation or
    -- finalisation.
    extrinsic_index  INTEGER,
    pallet           TEXT NOT NULL,
    name             TEXT NOT NULL,
    fields           JSONB NOT NULL,
    PRIMARY KEY (block_number, index)
);
CREATE INDEX events_name ON events (pallet, name, block_number DESC);

-- Where indexing stands: the last block written (one row).
CREATE TABLE cursor (
    id            BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    block_number  BIGINT NOT NULL,
    block_hash    BYTEA NOT NULL
);
