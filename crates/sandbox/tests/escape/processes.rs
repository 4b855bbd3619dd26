//! Other processes, IPC, keyring; every process gone at the end.

use crate::common::*;
#[allow(unused_imports)]
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use wright_sandbox::{Mode, SandboxPolicy};

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

#[test]
fn outside_processes_are_invisible() {
    let f = Fixture::new();
    let marker = unique("wright-visible-");
    let mut victim = Command::new("bash")
        .args(["-c", &format!("exec -a {marker} sleep 60")])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    f.assert_blocked(
        "ps sees outside",
        &format!("ps -eo args | grep -v grep | grep -q {}", split(&marker)),
    );
    let inside = f.sandboxed("echo $$");
    assert_eq!(
        text(&inside.stdout).trim(),
        "2",
        "not in its own PID namespace"
    );
    let _ = victim.kill();
    let _ = victim.wait();
}

#[test]
fn background_processes_die_with_the_command() {
    let f = Fixture::new();
    let marker = unique("wright-bg-");
    // setsid + double fork: out of the process group, reparented.
    let script = format!(
        "(setsid bash -c 'exec -a {} sleep 60' >/dev/null 2>&1 &) ; sleep 0.3; echo started",
        split(&marker)
    );
    let inside = f.assert_ok_inside("start background", &script);
    assert!(text(&inside.stdout).contains("started"));
    assert!(
        eventually(|| !process_alive(&marker)),
        "a background process outlived the sandboxed command"
    );
    // Control: unconfined it survives.
    let outside = f.unconfined(&script);
    assert!(outside.status.success());
    let survived = process_alive(&marker);
    kill_marked(&marker);
    assert!(
        survived,
        "control: the background process did not survive unconfined"
    );
}

#[test]
fn killing_the_sandbox_kills_everything_it_started() {
    let f = Fixture::new();
    let marker = unique("wright-kill-");
    let script = format!(
        "(setsid bash -c 'exec -a {} sleep 60' >/dev/null 2>&1 &) ; sleep 60",
        split(&marker)
    );
    let spawn = |policy: &SandboxPolicy| {
        let json = serde_json::to_string(policy).unwrap();
        let mut cmd = Command::new(EXE);
        cmd.args([&json, "bash", "-c", &script])
            .current_dir(&f.root);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.spawn().unwrap()
    };
    // As wright does on a timeout or interrupt: SIGKILL to the process group.
    let mut child = spawn(&f.policy(Mode::WorkspaceWrite, false));
    assert!(
        eventually(|| process_alive(&marker)),
        "background never started"
    );
    unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    assert!(
        eventually(|| !process_alive(&marker)),
        "a setsid process survived the kill"
    );
    // The masks of the killed run are cleaned up by its janitor.
    for name in [".git", ".wright", ".codex"] {
        assert!(
            eventually(|| !f.root.join(name).exists()),
            "{name} mask left behind after a kill"
        );
    }
    let mut child = spawn(&f.policy(Mode::DangerFullAccess, false));
    assert!(eventually(|| process_alive(&marker)));
    unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let survived = process_alive(&marker);
    kill_marked(&marker);
    assert!(
        survived,
        "control: setsid escaped the group kill unconfined"
    );
}

#[test]
fn host_ipc_is_out_of_reach() {
    let f = Fixture::new();
    // System V shared memory created outside.
    let out = Command::new("ipcmk").args(["-M", "4096"]).output().unwrap();
    let id: String = text(&out.stdout)
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert!(!id.is_empty(), "ipcmk: {}", text(&out.stdout));
    f.assert_blocked("attach SysV shm", &format!("ipcs -m | grep -qw {id}"));
    let _ = Command::new("ipcrm").args(["-m", &id]).status();
    // POSIX shared memory of the host.
    let name = unique("wright-shm-");
    let shm = std::path::Path::new("/dev/shm").join(&name);
    std::fs::write(&shm, "host").unwrap();
    f.assert_blocked(
        "read host POSIX shm",
        &format!("grep -q host /dev/shm/{name}"),
    );
    let _ = f.sandboxed(&format!("echo pwned > /dev/shm/{name}"));
    assert_eq!(
        std::fs::read_to_string(&shm).unwrap(),
        "host",
        "host shm changed"
    );
    std::fs::remove_file(&shm).unwrap();
    // The command's own POSIX semaphores work (multiprocessing).
    f.assert_ok_inside(
        "own semaphores",
        "python3 -c 'import multiprocessing as m; l=m.Lock(); l.acquire(); l.release()'",
    );
}

#[test]
fn the_kernel_keyring_is_denied() {
    let f = Fixture::new();
    // keyctl(KEYCTL_GET_KEYRING_ID = 0, KEY_SPEC_SESSION_KEYRING = -3, create = 1)
    let script = "python3 -c 'import ctypes,sys; l=ctypes.CDLL(None, use_errno=True); r=l.syscall(250, 0, -3, 1); sys.exit(0 if r > 0 else 1)'";
    f.assert_blocked("keyctl", script);
}

/// `marker` written so that the script's own command line does not contain it.
fn split(marker: &str) -> String {
    let (a, b) = marker.split_at(4);
    format!("\"{a}\"\"{b}\"")
}
