//! What must keep working inside.

use crate::common::*;
#[allow(unused_imports)]
use std::path::Path;
use std::process::Command;
use wright_sandbox::{check, Mode, SandboxPolicy};

// ---------------------------------------------------------------- what must keep working

#[test]
fn normal_work_succeeds_inside() {
    let f = Fixture::new();
    git_init(&f.root);
    f.assert_ok_inside(
        "file operations inside the root",
        "set -e; mkdir -p a/b; echo 1 > a/b/f; mv a/b/f a/g; ln a/g a/h; ln -s g a/s; cat a/s; \
         : > a/g; rm -r a; echo hi > /dev/null; cat /dev/null; head -c4 /dev/urandom | wc -c; \
         echo err >&2",
    );
    let out = f.assert_ok_inside("python", "python3 -c 'print(1)'");
    assert_eq!(text(&out.stdout).trim(), "1");
    f.assert_ok_inside(
        "git in a subdir",
        "set -e; export HOME=\"$ROOT/home\"; mkdir -p \"$HOME\" sub; cd sub; git init -q; \
         git config user.email t@example.com; git config user.name t; echo x > f; git add f; \
         git commit -qm init; git log --oneline | grep -q init",
    );
    f.assert_ok_inside("cargo", "cargo --version");
    f.assert_ok_inside("npm", "npm --version");
    f.assert_ok_inside(
        "reading outside",
        "cat /etc/passwd >/dev/null && ls \"$OUT\"",
    );
}

/// A normal build-and-test task in each toolchain, start to finish, confined.
#[test]
fn build_and_test_tasks_work_inside() {
    let f = Fixture::new();
    let rustup_home = std::env::var("RUSTUP_HOME")
        .unwrap_or_else(|_| format!("{}/.rustup", std::env::var("HOME").unwrap_or_default()));
    f.assert_ok_inside(
        "cargo new + cargo test",
        &format!(
            "set -e; export RUSTUP_HOME='{rustup_home}' CARGO_HOME=\"$ROOT/cargo-home\" HOME=\"$ROOT/home\"; \
             mkdir -p \"$HOME\"; cargo new -q --vcs none demo; cd demo; \
             printf '#[test]\\nfn adds() {{ assert_eq!(2 + 2, 4); }}\\n' >> src/main.rs; \
             cargo test -q --offline 2>&1 | tail -3"
        ),
    );
    f.assert_ok_inside(
        "npm test",
        "set -e; export HOME=\"$ROOT/home\" npm_config_cache=\"$ROOT/npm-cache\"; mkdir -p \"$HOME\" web; cd web; \
         printf '{\"name\":\"w\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"node -e \\\\\"process.exit(1+1===2?0:1)\\\\\"\"}}' > package.json; \
         npm test --silent",
    );
    f.assert_ok_inside(
        "python unittest",
        "set -e; mkdir -p py; cd py; printf 'import unittest\\nclass T(unittest.TestCase):\\n    def test(self): self.assertEqual(1, 1)\\n' > test_x.py; \
         python3 -m unittest -q 2>&1 | tail -1",
    );
}

#[test]
fn exit_codes() {
    let f = Fixture::new();
    let out = f.sandboxed("exit 42");
    assert_eq!(out.status.code(), Some(42));
    // Missing command: 127 with a message.
    let json = serde_json::to_string(&f.policy(Mode::WorkspaceWrite, false)).unwrap();
    let out = Command::new(EXE)
        .args([&json, "/nonexistent/cmd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("wright sandbox: cannot run /nonexistent/cmd"));
    // Unenforceable policy: 126 with the advice, and the command does not run.
    let bad = SandboxPolicy::new(Mode::WorkspaceWrite, vec!["relative/root".into()], false);
    let out = Command::new(EXE)
        .args([&serde_json::to_string(&bad).unwrap(), "echo", "ran"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert!(!text(&out.stdout).contains("ran"));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("wright sandbox: cannot enforce workspace-write: ")
            && err.contains("Run with --sandbox danger-full-access (or -s danger-full-access)"),
        "{err}"
    );
}

#[test]
fn read_only_mode_denies_writes_in_the_root() {
    let f = Fixture::new();
    let ro = f.policy(Mode::ReadOnly, false);
    let out = f.run(&ro, "echo x > file");
    assert!(
        !out.status.success(),
        "write in root worked in read-only mode"
    );
    assert!(!f.root.join("file").exists());
    let out = f.run(
        &ro,
        "echo x > /dev/null && cat /etc/hostname >/dev/null && python3 -c 'print(1)'",
    );
    assert!(
        out.status.success(),
        "read-only basics: {}",
        text(&out.stderr)
    );
    let out = f.run(&f.policy(Mode::DangerFullAccess, false), "echo x > file");
    assert!(out.status.success());
}

#[test]
fn check_reports_every_layer_here() {
    require_all_layers();
    let caps = check();
    let report = caps.report();
    println!("{report}");
    assert!(caps.can_enforce(Mode::WorkspaceWrite).is_ok(), "{report}");
    assert!(caps.can_enforce(Mode::ReadOnly).is_ok(), "{report}");
    assert!(report.contains("Landlock:"));
    let out = Command::new(EXE).arg("--check").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // The probe must not have confined the test process.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("still-writable"), "x").unwrap();
    std::net::TcpListener::bind("127.0.0.1:0").expect("test process got confined by check()");
}
