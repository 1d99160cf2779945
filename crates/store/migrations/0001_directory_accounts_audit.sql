-- The directory (levels, units, endpoints, contacts), accounts and the audit trail.
-- Dates are ISO `YYYY-MM-DD` text, instants RFC 3339 UTC text.

CREATE TABLE levels (
    code    TEXT PRIMARY KEY,
    rank    INTEGER NOT NULL UNIQUE,
    name_vi TEXT NOT NULL,
    name_en TEXT NOT NULL
);

CREATE TABLE units (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    search_text  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    level        TEXT NOT NULL REFERENCES levels(code),
    parent_id    INTEGER REFERENCES units(id),
    address      TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    valid_from   TEXT NOT NULL,
    valid_to     TEXT,
    successor_id INTEGER REFERENCES units(id),
    updated_at   TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX units_parent ON units(parent_id);
CREATE INDEX units_level ON units(level);

CREATE TABLE endpoints (
    id                 INTEGER PRIMARY KEY,
    code               TEXT NOT NULL UNIQUE,
    unit_id            INTEGER NOT NULL REFERENCES units(id),
    name               TEXT NOT NULL,
    search_text        TEXT NOT NULL,
    address            TEXT NOT NULL DEFAULT '',
    seats              INTEGER NOT NULL DEFAULT 0 CHECK (seats >= 0),
    terminal           TEXT NOT NULL,
    equipment          TEXT NOT NULL DEFAULT '',
    network            TEXT NOT NULL,
    status             TEXT NOT NULL,
    control_right      INTEGER NOT NULL DEFAULT 0,
    has_control_laptop INTEGER NOT NULL DEFAULT 0,
    vpn_token_issued   INTEGER NOT NULL DEFAULT 0,
    updated_at         TEXT NOT NULL
);
CREATE INDEX endpoints_unit ON endpoints(unit_id);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    role        TEXT NOT NULL,
    full_name   TEXT NOT NULL,
    position    TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    replaced_by INTEGER REFERENCES contacts(id)
);
CREATE INDEX contacts_unit ON contacts(unit_id, role);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    full_name     TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    unit_id       INTEGER REFERENCES units(id),
    password_hash TEXT NOT NULL,
    lang          TEXT NOT NULL DEFAULT 'vi',
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE grants (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    PRIMARY KEY (user_id, role, unit_id)
);

-- Only a SHA-256 of each secret is kept: a stolen database opens no session.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Append-only, hash-chained (R-SEC-5): each row's hash covers its content and the previous
-- row's hash, so an edited or deleted row breaks the chain.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
