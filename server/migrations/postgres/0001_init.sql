-- The token service's state. Secrets are AES-256-GCM ciphertexts (nonce first)
-- under the master key `key_id`; API keys are SHA-256 hashes.
CREATE TABLE banks (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    bank_key_hash TEXT NOT NULL UNIQUE,
    branch_key_hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL
);

CREATE TABLE tokens (
    serial TEXT PRIMARY KEY,
    secret BYTEA NOT NULL,
    key_id BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    digits BIGINT NOT NULL,
    period BIGINT NOT NULL,
    last_step BIGINT,
    drift BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL
);

CREATE TABLE contracts (
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    contract TEXT NOT NULL,
    serial TEXT REFERENCES tokens(serial),
    state TEXT NOT NULL,
    suspended_from TEXT,
    failures BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bank_id, contract)
);

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    bank_id BIGINT NOT NULL,
    contract TEXT NOT NULL,
    time BIGINT NOT NULL,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    staff TEXT,
    serial TEXT
);

CREATE INDEX audit_by_contract ON audit (bank_id, contract, id);
