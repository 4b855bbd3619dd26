//! wright's terminal UI. It is a client of the App Server protocol and nothing else: it sends
//! JSON-RPC lines and draws what comes back, whether the server runs in this process or
//! elsewhere.

mod app;
mod cells;
mod composer;
mod highlight;
mod markdown;
mod rpc;
mod run;
#[cfg(test)]
mod screen_tests;
mod slash;
mod theme;
mod ui;
mod wrap;

pub use app::{Resume, StartOptions};
pub use run::{restore, run, Lines};

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("the terminal: {0}")]
    Terminal(#[source] std::io::Error),
}
