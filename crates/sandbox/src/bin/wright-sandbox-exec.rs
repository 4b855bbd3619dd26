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
    let policy: wright_sandbox::SandboxPolicy = match serde_json::from_str(&first.to_string_lossy())
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("wright sandbox: invalid --policy JSON: {e}");
            std::process::exit(wright_sandbox::EXIT_CANNOT_ENFORCE);
        }
    };
    let argv: Vec<OsString> = args.collect();
    match wright_sandbox::run(&policy, &argv) {
        Ok(outcome) => outcome.exit(),
        Err(err) => {
            eprintln!("wright sandbox: {err}");
            std::process::exit(err.exit_code());
        }
    }
}
