-- Live sessions on the media server: join links per invited endpoint (R-REG-7), every control
-- command with its measured effect (R-LIVE-1), and link statistics per endpoint (R-PREP-2).

-- One link per (session, endpoint); the token is the credential of a browser without an
-- account, valid while the session can be joined.
CREATE TABLE join_links (
    token       TEXT PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),
    created_at  TEXT NOT NULL,
    UNIQUE (session_id, endpoint_id)
);

-- Every control command applied to a live session, by the MCU operator or an endpoint.
CREATE TABLE conference_commands (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    user_id     INTEGER REFERENCES users(id),      -- the operator or endpoint's account
    endpoint_id INTEGER REFERENCES endpoints(id),  -- when an endpoint issued it
    actor_name  TEXT NOT NULL,
    command     TEXT NOT NULL,                     -- e.g. connect_to_host
    detail      TEXT NOT NULL DEFAULT '{}',        -- the command as sent, JSON
    issued_at   TEXT NOT NULL,
    effect_ms   REAL                               -- connect_to_host: to the first packet at the host
);
CREATE INDEX conference_commands_session ON conference_commands(session_id, id);

-- Link statistics sampled by the media server, per endpoint.
CREATE TABLE link_stats (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    endpoint_id  INTEGER NOT NULL REFERENCES endpoints(id),
    at           TEXT NOT NULL,
    rtt_ms       REAL,
    loss_in      REAL,
    loss_out     REAL,
    jitter_ms    REAL,
    bitrate_in   INTEGER NOT NULL,
    bitrate_out  INTEGER NOT NULL
);
CREATE INDEX link_stats_session ON link_stats(session_id, endpoint_id, id);
