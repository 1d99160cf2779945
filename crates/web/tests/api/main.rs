//! Integration tests through a real server on port 0 with a fresh temporary database.

mod conference;
mod directory;
mod documents;
mod helpers;
mod live_log;
mod matrix;
mod readiness;
mod schedule;
mod sessions;
