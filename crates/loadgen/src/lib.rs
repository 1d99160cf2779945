//! `hnth-loadgen`: synthetic endpoints that measure a media server under load.
//!
//! N str0m peers in one process join a server through its real signalling: hnth's join links
//! and conference WebSocket ([`hnth`]), or Janus VideoRoom's REST API ([`janus`]). They publish
//! and receive Opus- and VP8-shaped RTP whose payloads carry a tag ([`peer`]), so a receiver
//! knows the source, the loss and the forwarding latency of every packet. The [`scenario`]s
//! (broadcast, interactive, join storm, control) start the server fresh for each run and read
//! its CPU time and peak memory from `/proc` ([`server`]); [`report`] prints the tables,
//! the ratio hnth/Janus and the plots. `docs/benchmarks.md` has the commands and the results.

pub mod hnth;
pub mod janus;
pub mod peer;
pub mod report;
pub mod scenario;
pub mod server;
