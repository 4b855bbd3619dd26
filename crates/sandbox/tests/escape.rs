//! Escape tests: each command must FAIL inside the sandbox (workspace-write, root = a temp
//! dir, network off) and SUCCEED under danger-full-access, so every test can fail.
//!
//! These tests need every layer (Landlock, seccomp, user/mount/network namespaces). On a
//! machine without them they fail loudly with the capability report instead of passing
//! vacuously.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use wright_sandbox::{check, Mode, SandboxPolicy};

const EXE: &str = env!("CARGO_BIN_EXE_wright-sandbox-exec");

/// Panics (loudly) unless this machine enforces every layer.
fn require_all_layers() {
    static CAPS: OnceLock<Result<(), String>> = OnceLock::new();
    let r = CAPS.get_or_init(|| {
        let caps = check();
        let all = caps.landlock_enforced
            && caps.landlock_signal_scoping
            && caps.landlock_network_rules
            && caps.seccomp
            && caps.user_namespaces
            && caps.network_namespace
            && caps.readonly_bind_mounts;
        if all {
            Ok(())
        } else {
            Err(caps.report())
        }
    });
    if let Err(report) = r {
        panic!(
            "THE SANDBOX ESCAPE TESTS CANNOT BE MEANINGFUL ON THIS MACHINE: a layer is missing.\n{report}"
        );
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        require_all_layers();
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            outside,
        }
    }

    fn policy(&self, mode: Mode, network: bool) -> SandboxPolicy {
        SandboxPolicy {
            mode,
            writable_roots: vec![self.root.clone()],
            network,
        }
    }

    /// `bash -c script` under `policy`, cwd = root, with `$ROOT` and `$OUT` set.
    fn run(&self, policy: &SandboxPolicy, script: &str) -> Output {
        let json = serde_json::to_string(policy).unwrap();
        Command::new(EXE)
            .arg(json)
            .args(["bash", "-c", script])
            .current_dir(&self.root)
            .env("ROOT", &self.root)
            .env("OUT", &self.outside)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn sandboxed(&self, script: &str) -> Output {
        self.run(&self.policy(Mode::WorkspaceWrite, false), script)
    }

    fn unconfined(&self, script: &str) -> Output {
        self.run(&self.policy(Mode::DangerFullAccess, false), script)
    }

    /// The escape must fail in the sandbox and work without it.
    fn assert_blocked(&self, what: &str, script: &str) {
        let inside = self.sandboxed(script);
        assert!(
            !inside.status.success(),
            "{what}: succeeded INSIDE the sandbox\nstdout: {}\nstderr: {}",
            text(&inside.stdout),
            text(&inside.stderr)
        );
        // The sandbox itself was in place (not a 126 refusal).
        assert_ne!(
            inside.status.code(),
            Some(126),
            "{what}: {}",
            text(&inside.stderr)
        );
        let outside = self.unconfined(script);
        assert!(
            outside.status.success(),
            "{what}: control run without the sandbox failed, so the test proves nothing\nstdout: {}\nstderr: {}",
            text(&outside.stdout),
            text(&outside.stderr)
        );
    }

    fn assert_ok_inside(&self, what: &str, script: &str) -> Output {
        let out = self.sandboxed(script);
        assert!(
            out.status.success(),
            "{what}: failed inside the sandbox\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn git_init(dir: &Path) {
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

// ---------------------------------------------------------------- filesystem escapes

#[test]
fn write_outside_the_roots_is_denied() {
    let f = Fixture::new();
    f.assert_blocked("write outside", "echo pwned > \"$OUT/f\"");
    f.assert_blocked("mkdir outside", "mkdir \"$OUT/d$RANDOM\"");
    f.assert_blocked(
        "write to /etc",
        "echo pwned >> /etc/wright-sandbox-test-$$ && rm /etc/wright-sandbox-test-$$",
    );
}

#[test]
fn dot_git_stays_read_only() {
    let f = Fixture::new();
    git_init(&f.root);
    assert!(f.root.join(".git/config").exists());
    f.assert_blocked("append to .git/config", "echo '[x]' >> .git/config");
    f.assert_blocked("new file in .git", "touch .git/hooks/post-checkout$RANDOM");
    f.assert_blocked(
        "hook via absolute path",
        "echo 'echo pwned' > \"$ROOT/.git/hooks/pre-commit\"",
    );
    // Swapping .git for a writable copy: renaming the mount point is refused (EBUSY).
    let inside = f.sandboxed("mv .git .git-moved");
    assert!(!inside.status.success(), "renaming .git worked inside");
    assert!(f.root.join(".git/config").exists());
    // Undoing the bind mount from inside (the command is root in its user namespace).
    let inside = f.sandboxed("umount .git || umount -l .git; echo '[x]' >> .git/config");
    assert!(
        !inside.status.success(),
        "umount + write of .git worked inside: {}",
        text(&inside.stderr)
    );
    // .wright and .codex too.
    std::fs::create_dir_all(f.root.join(".wright")).unwrap();
    std::fs::create_dir_all(f.root.join(".codex")).unwrap();
    f.assert_blocked("write .wright", "echo x > .wright/config.toml");
    f.assert_blocked("write .codex", "echo x > .codex/config.toml");
    // The rest of the root stays writable.
    f.assert_ok_inside("write next to .git", "echo ok > file && cat file");
}

#[test]
fn symlink_pointing_outside_does_not_escape() {
    let f = Fixture::new();
    std::fs::write(f.outside.join("target"), "original").unwrap();
    std::os::unix::fs::symlink(f.outside.join("target"), f.root.join("link")).unwrap();
    std::os::unix::fs::symlink(&f.outside, f.root.join("dirlink")).unwrap();
    f.assert_blocked("write through file symlink", "echo pwned > link");
    f.assert_blocked("write through dir symlink", "echo pwned > dirlink/new");
    // A symlink created inside the sandbox does not help either.
    f.assert_blocked(
        "new symlink",
        "l=l2$RANDOM; ln -s \"$OUT/target\" $l && echo pwned > $l",
    );
}

#[test]
fn hard_link_to_an_outside_file_is_denied() {
    let f = Fixture::new();
    std::fs::write(f.outside.join("file"), "original").unwrap();
    let inside = f.sandboxed("ln \"$OUT/file\" x");
    assert!(!inside.status.success(), "hard link worked inside");
    assert!(!f.root.join("x").exists());
    f.assert_blocked("hard link", "ln \"$OUT/file\" x && rm x");
}

#[test]
fn rename_out_of_the_root_is_denied() {
    let f = Fixture::new();
    std::fs::write(f.root.join("file"), "data").unwrap();
    let inside = f.sandboxed("mv file \"$OUT/\"");
    assert!(!inside.status.success(), "mv out worked inside");
    assert!(f.root.join("file").exists());
    assert!(!f.outside.join("file").exists());
    let inside = f.sandboxed("mv \"$OUT\" \"$ROOT/stolen\"");
    assert!(!inside.status.success(), "mv outside dir in worked inside");
    f.assert_blocked("rename out", "mv file \"$OUT/\"");
}

#[test]
fn proc_self_root_does_not_escape() {
    let f = Fixture::new();
    f.assert_blocked("/proc/self/root", "echo pwned > \"/proc/self/root$OUT/f\"");
    f.assert_blocked(
        "/proc/self/cwd/..",
        "echo pwned > \"/proc/self/cwd/../outside/g\"",
    );
}

// ---------------------------------------------------------------- network

#[test]
fn tcp_connect_to_localhost_is_denied() {
    let f = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { break };
            let _ = c.write_all(b"hello\n");
        }
    });
    f.assert_blocked(
        "bash /dev/tcp",
        &format!("exec 3<>/dev/tcp/127.0.0.1/{port}"),
    );
    f.assert_blocked(
        "python connect",
        &format!("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=5)'"),
    );
    f.assert_blocked(
        "python udp",
        "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)'",
    );
    f.assert_blocked(
        "python ipv6",
        "python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_STREAM)'",
    );
    // With the network allowed the same connection works inside the sandbox.
    let out = f.run(
        &f.policy(Mode::WorkspaceWrite, true),
        &format!("exec 3<>/dev/tcp/127.0.0.1/{port}; head -1 <&3"),
    );
    assert!(
        out.status.success() && text(&out.stdout).contains("hello"),
        "network=true: {}",
        text(&out.stderr)
    );
}

/// Name resolution fails inside. (This machine has no internet either, so there is no
/// control run: only the inside failure is asserted.)
#[test]
fn dns_resolution_fails() {
    let f = Fixture::new();
    let out = f.sandboxed("python3 -c 'import socket; socket.getaddrinfo(\"example.com\", 80)'");
    assert!(!out.status.success(), "getaddrinfo worked inside");
}

#[test]
fn unix_sockets_still_work_with_network_off() {
    let f = Fixture::new();
    f.assert_ok_inside(
        "socketpair",
        "python3 -c 'import socket; a, b = socket.socketpair(); a.send(b\"x\"); assert b.recv(1) == b\"x\"'",
    );
}

// ---------------------------------------------------------------- other processes

fn ignore_sigusr1() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| unsafe {
        libc::signal(libc::SIGUSR1, libc::SIG_IGN);
    });
}

#[test]
fn cannot_signal_the_parent() {
    let f = Fixture::new();
    ignore_sigusr1();
    let me = std::process::id();
    f.assert_blocked("kill -USR1 test process", &format!("kill -USR1 {me}"));
    f.assert_blocked("kill -0 test process", &format!("kill -0 {me}"));
    // Its own children are fine.
    f.assert_ok_inside(
        "kill own child",
        "sleep 30 & kill $! && wait $!; [ $? -eq 143 ]",
    );
}

#[test]
fn cannot_read_other_processes_environment_or_ptrace() {
    let f = Fixture::new();
    let secret = "wright-escape-secret-4242";
    let mut victim = Command::new("sleep")
        .arg("60")
        .env("WRIGHT_TEST_SECRET", secret)
        .spawn()
        .unwrap();
    let vpid = victim.id();
    let me = std::process::id();
    for pid in [vpid, me] {
        let script = format!("tr '\\0' '\\n' < /proc/{pid}/environ | grep -q '^PATH='");
        f.assert_blocked(&format!("read /proc/{pid}/environ"), &script);
    }
    let inside = f.sandboxed(&format!("cat /proc/{vpid}/environ"));
    assert!(!text(&inside.stdout).contains(secret), "secret leaked");
    let outside = f.unconfined(&format!("cat /proc/{vpid}/environ"));
    assert!(text(&outside.stdout).contains(secret), "control run");
    f.assert_blocked(
        &format!("read /proc/{vpid}/mem"),
        &format!("head -c1 /proc/{vpid}/mem >/dev/null 2>&1 || python3 -c 'open(\"/proc/{vpid}/mem\",\"rb\")'"),
    );
    // PTRACE_ATTACH (16) + detach via the victim's exit is fine for the control run.
    let ptrace = format!(
        "python3 -c 'import ctypes,sys; l=ctypes.CDLL(None, use_errno=True); r=l.ptrace(16, {vpid}, 0, 0); sys.exit(0 if r == 0 else 1)'"
    );
    f.assert_blocked("ptrace attach", &ptrace);
    let _ = victim.kill();
    let _ = victim.wait();
}

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
    let bad = SandboxPolicy {
        mode: Mode::WorkspaceWrite,
        writable_roots: vec!["relative/root".into()],
        network: false,
    };
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
