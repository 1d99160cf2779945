-- Documents attached to a session (R-REG-9): kept inside the database so that a document and
-- its audit record land together or not at all, and a backup of the database is a backup of
-- the documents. Uploads are bounded by the web layer's body limit (20 MiB by default).
CREATE TABLE session_documents (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL CHECK (size > 0),
    sha256       TEXT NOT NULL,          -- hex, shown so a receiver can check the copy
    content      BLOB NOT NULL,
    due_at       TEXT,                   -- the R-REG-9 deadline in force; NULL for emergencies
    late_reason  TEXT NOT NULL DEFAULT '',
    uploaded_by  INTEGER REFERENCES users(id),
    uploaded_at  TEXT NOT NULL
);
CREATE INDEX session_documents_session ON session_documents(session_id);
