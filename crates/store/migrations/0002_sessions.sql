-- Sessions (registrations) from draft to cancellation: what is booked, who approves, who is
-- invited, who answered, the carriers' notices and every version of the registration.
--
-- The start and end of a session are Unix seconds (UTC) so that overlap checks are integer
-- comparisons the index can serve; other instants stay RFC 3339 UTC text as in 0001.

-- A weekly or daily series (e.g. the Monday briefing); each occurrence is its own session.
CREATE TABLE session_series (
    id         INTEGER PRIMARY KEY,
    rule       TEXT NOT NULL,          -- JSON of hnth_domain::session::Recurrence
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    series_id        INTEGER REFERENCES session_series(id),
    host_unit_id     INTEGER NOT NULL REFERENCES units(id),
    host_endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
    title            TEXT NOT NULL,
    content          TEXT NOT NULL DEFAULT '',
    meeting_type     TEXT NOT NULL,
    classification   TEXT NOT NULL,
    urgency          TEXT NOT NULL,
    emergency_reason TEXT NOT NULL DEFAULT '',
    chair_name       TEXT NOT NULL DEFAULT '',
    chair_title      TEXT NOT NULL DEFAULT '',
    contact_name     TEXT NOT NULL DEFAULT '',
    contact_phone    TEXT NOT NULL DEFAULT '',
    extra_needs      TEXT NOT NULL DEFAULT '[]',  -- JSON array of codes
    rehearsals       TEXT NOT NULL DEFAULT '[]',  -- JSON array of Unix seconds
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL,
    status           TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    approver_unit_id INTEGER REFERENCES units(id),
    submitted_at     TEXT,
    answer_due_at    TEXT,
    decided_at       TEXT,
    decided_by       INTEGER REFERENCES users(id),
    decision_note    TEXT NOT NULL DEFAULT '',
    created_by       INTEGER REFERENCES users(id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX sessions_time ON sessions(starts_at, ends_at);
CREATE INDEX sessions_host ON sessions(host_unit_id);
CREATE INDEX sessions_status ON sessions(status);

-- Every endpoint a session books, the host's included (role 'host' or 'member').
CREATE TABLE session_endpoints (
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
    role        TEXT NOT NULL CHECK (role IN ('host', 'member')),
    PRIMARY KEY (session_id, endpoint_id)
);
CREATE INDEX session_endpoints_endpoint ON session_endpoints(endpoint_id);

-- Each saved state of a registration, as JSON, with who changed it and why.
CREATE TABLE session_versions (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    snapshot   TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    changed_by INTEGER REFERENCES users(id),
    changed_at TEXT NOT NULL,
    PRIMARY KEY (session_id, version)
);

-- One invitation per invited member endpoint (R-REG-6, R-REG-7).
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined')),
    chair_name  TEXT NOT NULL DEFAULT '',
    chair_title TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    answered_by INTEGER REFERENCES users(id),
    answered_at TEXT,
    sent_at     TEXT NOT NULL,
    UNIQUE (session_id, endpoint_id)
);
CREATE INDEX invitations_unit ON invitations(unit_id);

-- Notices to carriers and the power company (R-REG-8) and their duty staff.
CREATE TABLE carrier_notices (
    id              INTEGER PRIMARY KEY,
    session_id      INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    unit_id         INTEGER NOT NULL REFERENCES units(id),
    due_at          TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    confirmed_at    TEXT,
    confirmed_by    INTEGER REFERENCES users(id),
    duty_staff_name TEXT NOT NULL DEFAULT '',
    duty_staff_phone TEXT NOT NULL DEFAULT '',
    UNIQUE (session_id, unit_id)
);

-- Official changes to the working-day calendar, edited by an administrator.
CREATE TABLE calendar_changes (
    day     TEXT PRIMARY KEY,           -- YYYY-MM-DD
    kind    TEXT NOT NULL CHECK (kind IN ('off', 'working', 'tet')),
    name_vi TEXT NOT NULL,
    name_en TEXT NOT NULL,
    source  TEXT NOT NULL DEFAULT ''
);

-- Years whose shipped official table was copied into calendar_changes once; after that the
-- administrator's edits (including deletions) are what counts.
CREATE TABLE calendar_seeded (
    year INTEGER PRIMARY KEY
);

-- Secret tokens of the iCalendar feeds, one per unit or endpoint (R-REG-5).
CREATE TABLE feed_tokens (
    id           INTEGER PRIMARY KEY,
    unit_id      INTEGER REFERENCES units(id),
    endpoint_id  INTEGER REFERENCES endpoints(id),
    token        TEXT NOT NULL UNIQUE,   -- shown again to whoever may read the unit
    created_at   TEXT NOT NULL,
    CHECK ((unit_id IS NULL) <> (endpoint_id IS NULL))
);
