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
