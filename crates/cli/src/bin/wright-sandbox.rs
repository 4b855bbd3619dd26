//! `wright-sandbox --policy JSON -- CMD [ARGS...]`: the launcher the agent starts every
//! confined command with. It is `wright sandbox --policy JSON -- ...` without the rest of
//! wright, so it loads in a fraction of the time (this is paid on every command).

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.len() == 2 && args[1] == "--version" {
        println!("wright-sandbox {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if args.len() < 5 || args[1] != "--policy" || args[3] != "--" {
        eprintln!(
            "usage: wright-sandbox --policy JSON -- CMD [ARGS...] (see `wright sandbox --help`)"
        );
        std::process::exit(2);
    }
    wright_sandbox::run_policy_json(&args[2], &args[4..])
}
