//! Test helper: `wright-sandbox-exec '<policy json>' CMD ARGS...` behaves like
//! `wright sandbox --policy '<policy json>' -- CMD ARGS...`; `wright-sandbox-exec --check`
//! prints the capability report.

use std::ffi::OsString;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(first) = args.next() else {
        eprintln!("usage: wright-sandbox-exec POLICY_JSON CMD [ARGS...] | --check");
        std::process::exit(2);
    };
    if first == "--check" {
        let caps = wright_sandbox::check();
        print!("{}", caps.report());
        std::process::exit(i32::from(
            caps.can_enforce(wright_sandbox::Mode::WorkspaceWrite)
                .is_err(),
        ));
    }
    let argv: Vec<OsString> = args.collect();
    wright_sandbox::run_policy_json(&first, &argv)
}
