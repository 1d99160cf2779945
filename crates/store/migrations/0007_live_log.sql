-- What happened during a live session: each endpoint's presences as the media server saw
-- them (R-LIVE-8) and the incidents, reported or detected (R-LIVE-6).

CREATE TABLE attendance (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
    joined_at   TEXT NOT NULL,
    left_at     TEXT,
    how_left    TEXT CHECK (how_left IN ('left', 'lost', 'removed', 'replaced', 'ended'))
);
CREATE INDEX attendance_session ON attendance(session_id, endpoint_id);

CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY,
    session_id       INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id      INTEGER REFERENCES endpoints(id),
    kind             TEXT NOT NULL CHECK (kind IN ('lost_connection', 'poor_audio', 'poor_video', 'power', 'network', 'other')),
    description      TEXT NOT NULL DEFAULT '',
    handler          TEXT NOT NULL CHECK (handler IN ('operating_unit', 'carrier', 'power_company')),
    automatic        INTEGER NOT NULL DEFAULT 0,  -- opened by the media server, not a person
    reported_by      TEXT NOT NULL,               -- username, endpoint:CODE or media-server
    opened_at        TEXT NOT NULL,
    estimated_fix_at TEXT,
    resolved_at      TEXT,
    resolution       TEXT NOT NULL DEFAULT '',
    resolved_by      TEXT
);
CREATE INDEX incidents_session ON incidents(session_id, id);
