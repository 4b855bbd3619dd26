//! Caps on processes and memory, reported as such.

use crate::common::*;
use wright_sandbox::{Limits, Mode, SandboxPolicy};

fn limited(f: &Fixture, processes: u64, memory: u64) -> SandboxPolicy {
    let mut p = SandboxPolicy::new(Mode::WorkspaceWrite, vec![f.root.clone()], false);
    p.limits = Limits {
        max_processes: Some(processes),
        max_memory_bytes: Some(memory),
    };
    p
}

#[test]
fn fork_bomb_hits_the_process_cap() {
    let f = Fixture::new();
    let script = "for i in $(seq 1 80); do sleep 2 & done; wait";
    let out = f.run(&limited(&f, 40, 0), script);
    let err = text(&out.stderr);
    assert!(err.contains("process limit"), "no report: {err}");
    // Control: the same script without the cap starts all 80.
    let out = f.run(&limited(&f, 0, 0), script);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("process limit"));
}

#[test]
fn runaway_memory_hits_the_memory_cap() {
    let f = Fixture::new();
    let script =
        "python3 -c 'b = bytearray(400 << 20); b[::4096] = b\"x\" * len(b[::4096]); print(len(b))'";
    let out = f.run(&limited(&f, 0, 128 << 20), script);
    assert!(!out.status.success(), "400 MiB fit under a 128 MiB cap");
    let err = text(&out.stderr);
    assert!(err.contains("memory limit"), "no report: {err}");
    let out = f.run(&limited(&f, 0, 0), script);
    assert!(out.status.success(), "control: {}", text(&out.stderr));
}

/// A missing layer is named once, before the command, when the policy asks for it. Run as
/// an unprivileged user, who cannot create cgroups here.
#[test]
fn a_missing_layer_is_announced() {
    let f = Fixture::new();
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "setpriv is missing under CI"
        );
        return;
    }
    let dir = f.outside.join("nobody");
    std::fs::create_dir_all(&dir).unwrap();
    std::process::Command::new("chmod")
        .args(["-R", "777"])
        .arg(f._tmp.path())
        .status()
        .unwrap();
    let run = |announce: bool, as_nobody: bool| {
        let mut p = SandboxPolicy::new(Mode::WorkspaceWrite, vec![dir.clone()], false);
        p.announce = announce;
        let json = serde_json::to_string(&p).unwrap();
        let mut cmd = if as_nobody {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", EXE]);
            c
        } else {
            std::process::Command::new(EXE)
        };
        cmd.args([json.as_str(), "bash", "-c", "echo ran"])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = run(true, true);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(
        err.contains("cgroup") && err.contains("memory is not capped"),
        "{err}"
    );
    // Not asked: silent (the agent asks on a session's first command only).
    assert!(!text(&run(false, true).stderr).contains("warning"));
    // Everything present: nothing to announce.
    assert!(!text(&run(true, false).stderr).contains("warning"));
}
