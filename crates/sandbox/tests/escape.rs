//! Escape tests, one module per class of attack. Each attack must FAIL inside the sandbox
//! (workspace-write, root = a temp dir, network off unless said) and SUCCEED without it, in
//! the same test, so every test can fail.
//!
//! These tests need every layer (Landlock, seccomp, namespaces, cgroups). On a machine
//! without them they fail loudly with the capability report instead of passing vacuously.

#[path = "escape/common.rs"]
mod common;
#[path = "escape/fds.rs"]
mod fds;
#[path = "escape/fs.rs"]
mod fs;
#[path = "escape/limits.rs"]
mod limits;
#[path = "escape/metadata.rs"]
mod metadata;
#[path = "escape/network.rs"]
mod network;
#[path = "escape/processes.rs"]
mod processes;
#[path = "escape/work.rs"]
mod work;
