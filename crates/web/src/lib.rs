//! `wright serve`: the web UI and the App Server on one loopback port.
//!
//! Everything is on `http://127.0.0.1:PORT`: the page and its assets (compiled into the binary)
//! and the App Server's WebSocket (any path, upgrade requests only). The page is public code;
//! the WebSocket is the door, and it needs the per-launch capability token and the page's own
//! origin. Every request must name a loopback `Host`, so a DNS-rebound page gets nothing.

mod assets;
mod http;

pub use assets::{all as assets, built as ui_built, Asset, HOW_TO_BUILD};
pub use http::{serve, WebOptions};
