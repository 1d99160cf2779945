-- Preparation of a session (R-PREP-1 … R-PREP-5): its rehearsals, the readiness checks of
-- each endpoint with their items, and the technical staff on duty at each endpoint.
--
-- Rehearsal times are Unix seconds like the sessions' starts; other instants RFC 3339 UTC.

-- Sessions whose rehearsal schedule was proposed from the profile (on the first look after
-- approval), with the start it was counted from; after that the host's edits are the
-- schedule, even an empty one. When the session moves, an untouched proposal is counted
-- again from the new start.
CREATE TABLE rehearsal_plans (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    for_start   INTEGER NOT NULL,            -- the session's start, Unix seconds
    proposed_at TEXT NOT NULL
);

CREATE TABLE rehearsals (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL DEFAULT '',     -- seed article, 'registration' or 'host'
    status      TEXT NOT NULL CHECK (status IN ('planned', 'failed')),
    note        TEXT NOT NULL DEFAULT '',     -- why it failed or moved
    replaces_id INTEGER REFERENCES rehearsals(id),
    updated_by  INTEGER REFERENCES users(id),
    updated_at  TEXT NOT NULL
);
CREATE INDEX rehearsals_session ON rehearsals(session_id, at);

-- One saved readiness check of an endpoint; a later one supersedes it on the board, but
-- every check stays so that "failed, fixed, re-tested" can be shown and proven.
CREATE TABLE readiness_checks (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id  INTEGER NOT NULL REFERENCES endpoints(id),
    rehearsal_id INTEGER REFERENCES rehearsals(id),
    outcome      TEXT NOT NULL CHECK (outcome IN ('in_progress', 'passed', 'failed')),
    link_grade   TEXT NOT NULL,               -- the grade when it was saved
    link_detail  TEXT NOT NULL DEFAULT 'null', -- the sample graded and the reasons, JSON
    checked_by   INTEGER REFERENCES users(id),
    checked_at   TEXT NOT NULL
);
CREATE INDEX readiness_checks_session ON readiness_checks(session_id, endpoint_id, id);

CREATE TABLE readiness_check_items (
    check_id INTEGER NOT NULL REFERENCES readiness_checks(id) ON DELETE CASCADE,
    item     TEXT NOT NULL,
    pass     INTEGER NOT NULL CHECK (pass IN (0, 1)),
    note     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (check_id, item)
);

-- The technical staff on duty at each endpoint for the session (R-PREP-4, TH art. 9.5).
CREATE TABLE duty_technicians (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    recorded_by INTEGER REFERENCES users(id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX duty_technicians_session ON duty_technicians(session_id, endpoint_id);
