//! Pure rules of hnth, the platform that runs and manages the video conferences of
//! Vietnam's state bodies (Hội nghị truyền hình).
//!
//! This crate owns the vocabulary of `DOMAIN.md` and every rule that can be a pure function:
//! administrative levels ([`level`]), the unit tree ([`unit`]), endpoints and their limits
//! ([`endpoint`]), focal contacts ([`contact`]), policy profiles ([`policy`]), roles scoped to
//! the unit tree ([`role`]), validation of user input ([`validate`]), directory files
//! ([`import`]), Vietnamese collation ([`collate`]) and the working-day calendar with its
//! lunar holidays and official changes ([`calendar`]).
//!
//! Design choice: no I/O and no clock. Time comes in as an argument (`today`), which makes
//! every rule testable at any date; clippy's `disallowed-methods` bans reading the clock here.
//! Errors are values carrying both languages ([`lang::Text`]) so the caller answers in the
//! reader's language without knowing the rule.

pub mod calendar;
pub mod collate;
pub mod contact;
pub mod endpoint;
pub mod import;
pub mod lang;
pub mod level;
pub mod policy;
pub mod role;
pub mod session;
pub mod unit;
pub mod validate;
