-- Closing a session (R-POST-1): each endpoint confirms its closing checklist (system checked,
-- terminals off, power cut), and the session is closed when all have, or by the operator
-- with the missing ones listed.

CREATE TABLE closing_checks (
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id    INTEGER NOT NULL REFERENCES endpoints(id),
    system_checked INTEGER NOT NULL,
    terminals_off  INTEGER NOT NULL,
    power_cut      INTEGER NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    confirmed_by   TEXT NOT NULL,
    confirmed_at   TEXT NOT NULL,
    PRIMARY KEY (session_id, endpoint_id)
);

CREATE TABLE session_closures (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    closed_at   TEXT NOT NULL,
    closed_by   TEXT NOT NULL,
    missing     TEXT NOT NULL DEFAULT '[]'   -- JSON: endpoint ids that had not confirmed
);
