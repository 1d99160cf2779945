-- The notification outbox: in-app notifications per unit, and one delivery row per
-- (notification, channel, recipient) that the dispatcher of `hnth-notify` sends with retries.
--
-- A notice is written in the same transaction as the change that causes it, so it exists
-- exactly when the change does. The scheduling columns of `outbox` (`next_attempt_at`,
-- `claimed_until`) are Unix milliseconds (UTC) so that "due now" is an integer comparison the
-- partial index serves; other instants are RFC 3339 UTC text as in 0001.

-- One in-app notification per unit and event, in both languages.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    session_id INTEGER REFERENCES sessions(id),
    event      TEXT NOT NULL,                -- e.g. `session.invited`, `notify.test`
    subject_vi TEXT NOT NULL,
    subject_en TEXT NOT NULL,
    body_vi    TEXT NOT NULL,
    body_en    TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}',  -- JSON for webhooks
    created_at TEXT NOT NULL
);
CREATE INDEX notifications_unit ON notifications(unit_id, id);
CREATE INDEX notifications_session ON notifications(session_id);

-- Who has read which notification (the inbox shows unread first).
CREATE TABLE notification_reads (
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    read_at         TEXT NOT NULL,
    PRIMARY KEY (user_id, notification_id)
);

-- Signed-webhook subscriptions; one covers its unit's whole subtree. The secret signs each
-- body (HMAC-SHA256), so it is kept as is; it is shown once, when the subscription is made.
CREATE TABLE webhooks (
    id             INTEGER PRIMARY KEY,
    unit_id        INTEGER NOT NULL REFERENCES units(id),
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    deactivated_at TEXT
);
CREATE INDEX webhooks_unit ON webhooks(unit_id) WHERE active = 1;

-- One row per delivery. A sender claims due rows by setting `claimed_until` (a lease): if it
-- dies mid-send, the lease runs out and the row is due again, so nothing is lost; the row's
-- id is the deduplication key receivers see (Message-ID, X-Hnth-Delivery).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient       TEXT NOT NULL,              -- e-mail address, or the webhook's id
    webhook_id      INTEGER REFERENCES webhooks(id),
    attempts        INTEGER NOT NULL DEFAULT 0, -- claims so far, counted when claimed
    next_attempt_at INTEGER NOT NULL,           -- Unix ms
    claimed_until   INTEGER,                    -- Unix ms; NULL when not claimed
    delivered_at    TEXT,
    gave_up_at      TEXT,                       -- failed for good: stays visible
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (notification_id, channel, recipient),
    CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL))
);
CREATE INDEX outbox_due ON outbox(next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- Which channels create deliveries. The running server writes this at start from its
-- settings: without SMTP settings no e-mail deliveries are created at all.
CREATE TABLE outbox_channels (
    channel TEXT PRIMARY KEY CHECK (channel IN ('email', 'webhook')),
    enabled INTEGER NOT NULL
);
INSERT INTO outbox_channels (channel, enabled) VALUES ('email', 0), ('webhook', 1);
