//! The supervisor: the `wright sandbox` process itself. It stays in the caller's
//! namespaces, unconfined, and never runs model-chosen code. It plans the mount view, creates
//! the masks and the cgroup, clones the sandbox's first process into new namespaces, maps its
//! ids, waits, then reports caps that were hit and cleans up.

use std::ffi::CString;
use std::os::fd::AsRawFd;

use crate::child::{self, Action, ChildArgs, FORWARDED};
use crate::limits::Cgroup;
use crate::masks;
use crate::plan::{self, Plan};
use crate::policy::SandboxPolicy;
use crate::{ns, sys, Outcome, SandboxError};

pub(crate) fn run(policy: &SandboxPolicy, argv: &[CString]) -> Result<Outcome, SandboxError> {
    run_action(policy, Action::Exec(argv)).map(|(outcome, _)| outcome)
}

/// Runs `action` confined; also returns the notes on missing layers.
pub(crate) fn run_action(
    policy: &SandboxPolicy,
    action: Action,
) -> Result<(Outcome, Vec<String>), SandboxError> {
    let unenforceable = |reason: String| SandboxError::Unenforceable {
        mode: policy.mode,
        reason,
    };
    if let Some(n) = thread_count().filter(|n| *n > 1) {
        return Err(unenforceable(format!(
            "the sandboxing process has {n} threads; it must be single-threaded (internal error)"
        )));
    }
    if let Some(bad) = policy
        .effective_writable_roots()
        .iter()
        .find(|r| !r.is_absolute())
    {
        return Err(unenforceable(format!(
            "writable root {} is not an absolute path",
            bad.display()
        )));
    }
    let mut plan = plan::plan(policy).map_err(|reason| SandboxError::Refused { reason })?;
    let network_off = !policy.effective_network();
    if network_off {
        // No way out through an agent socket either (the socket itself is unreachable; the
        // variable would only mislead).
        std::env::remove_var("SSH_AUTH_SOCK");
    }
    let mut notes = std::mem::take(&mut plan.notes);

    // Signals: SIGINT/SIGQUIT reach the command from the terminal directly; the rest is
    // forwarded. Blocked before the clone so nothing is lost in between.
    // SAFETY: signal-mask and disposition changes in a single-threaded process.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        let set = wait_set();
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }

    let limits = &policy.limits;
    let cgroup = if limits.processes() > 0 || limits.memory() > 0 {
        match Cgroup::create(limits) {
            Ok(cg) => Some(cg),
            Err(why) => {
                notes.push(if unsafe { libc::geteuid() } == 0 {
                    format!(
                        "{why}: the number of processes and the memory of a command are not capped"
                    )
                } else {
                    format!(
                        "{why}: processes are capped by RLIMIT_NPROC only, memory is not capped"
                    )
                });
                None
            }
        }
    } else {
        None
    };
    let result = spawn_and_wait(
        policy,
        &plan,
        action,
        cgroup.as_ref(),
        &mut notes,
        network_off,
    );
    if let Some(cg) = &cgroup {
        if result.is_ok() {
            for line in cg.report() {
                eprintln!("wright sandbox: {line}");
            }
        }
        cg.remove();
    }
    result.map(|o| (o, notes)).map_err(unenforceable)
}

fn spawn_and_wait(
    policy: &SandboxPolicy,
    plan: &Plan,
    action: Action,
    cgroup: Option<&Cgroup>,
    notes: &mut Vec<String>,
    network_off: bool,
) -> Result<Outcome, String> {
    let (go_r, go_w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let (rep_r, rep_w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let (st_r, st_w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let mut flags =
        libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC;
    if network_off {
        flags |= libc::CLONE_NEWNET;
    }
    // Masks are created (under the roots' shared locks) only when a mount namespace will
    // cover them; without one a missing `.git` cannot be kept from being created.
    let mut mask_locks = if plan.masks.is_empty() {
        None
    } else {
        Some(masks::acquire(&plan.masks)?)
    };
    let janitor = Janitor::spawn(mask_locks.as_ref(), cgroup);
    let mut pid = -1;
    let mut namespaces = false;
    match clone_process(flags) {
        Ok(p) => {
            pid = p;
            namespaces = true;
        }
        Err(e) => {
            let why = format!("no user namespaces (clone: {e})");
            if !plan.protected.is_empty() {
                if let Some(l) = mask_locks.take() {
                    l.release();
                }
                return Err(format!(
                    "{} must stay read-only, which needs a mount namespace, but {why}",
                    plan.protected[0].display()
                ));
            }
            notes.push(format!(
                "{why}: outside the writable roots only file contents are protected (Landlock), not mode, owner, times or extended attributes; a `.git` a command creates is not kept read-only; processes outside are visible; background processes that leave the process group survive a timeout{}",
                if network_off { "; network off is enforced by seccomp and Landlock, so the command's own loopback servers do not work" } else { "" }
            ));
            if let Some(l) = mask_locks.take() {
                l.release();
            }
        }
    }
    let plan_used;
    let empty = Plan {
        roots: plan.roots.clone(),
        ..Plan::default()
    };
    if !namespaces {
        // SAFETY: single-threaded process.
        pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", sys::errno()));
        }
        plan_used = &empty;
    } else {
        plan_used = plan;
    }
    if pid == 0 {
        drop(go_w);
        drop(rep_r);
        drop(st_r);
        child::main(ChildArgs {
            policy,
            plan: plan_used,
            action,
            namespaces,
            netns: namespaces && network_off,
            go: go_r.as_raw_fd(),
            report: rep_w.as_raw_fd(),
            status: st_w.as_raw_fd(),
            cgroup_pids: cgroup.is_some_and(Cgroup::has_pids),
        });
    }
    drop(go_r);
    drop(rep_w);
    drop(st_w);
    if let Some(j) = &janitor {
        j.watch(pid);
    }
    let fail = |why: String, mask_locks: Option<masks::MaskLocks>| -> Result<Outcome, String> {
        // SAFETY: killing and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
        }
        if let Some(l) = mask_locks {
            l.release();
        }
        Err(why)
    };
    if let Some(cg) = cgroup {
        if let Err(e) = cg.add(pid) {
            notes.push(format!(
                "cannot move the command into its cgroup ({e}): processes and memory are not capped"
            ));
        }
    }
    if namespaces {
        if let Err(e) = ns::write_id_maps(pid) {
            return fail(e, mask_locks);
        }
    }
    if !sys::write_all(go_w.as_raw_fd(), &[1]) {
        return fail("the sandbox process died during setup".into(), mask_locks);
    }
    // The child's report: notes, then K (ready) or E<reason>.
    let mut report = Vec::new();
    let mut buf = [0u8; 512];
    let ready = loop {
        // SAFETY: read into a valid buffer.
        let n = unsafe { libc::read(rep_r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && sys::errno().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            break false;
        }
        report.extend_from_slice(&buf[..n as usize]);
        if report.ends_with(b"K\n") {
            break true;
        }
    };
    let report = String::from_utf8_lossy(&report).into_owned();
    if !ready {
        let why = report
            .strip_prefix('E')
            .map(str::to_string)
            .or_else(|| {
                report
                    .lines()
                    .find_map(|l| l.strip_prefix('E').map(str::to_string))
            })
            .unwrap_or_else(|| "the sandbox process died during setup".into());
        return fail(why, mask_locks);
    }
    notes.extend(
        report
            .lines()
            .filter_map(|l| l.strip_prefix('N').map(str::to_string)),
    );
    if policy.announce {
        if !notes.is_empty() {
            eprintln!(
                "wright sandbox: warning: running with reduced confinement: {}",
                notes.join("; ")
            );
        }
        sys::write_all(go_w.as_raw_fd(), &[1]);
    }
    let status = wait_child(pid);
    let reported = sys::read_to_end(st_r.as_raw_fd());
    if let Some(l) = mask_locks {
        l.release();
    }
    if let Some(j) = janitor {
        // The cgroup is removed by our caller right after; the janitor may go.
        j.dismiss();
    }
    let raw = if reported.len() == 4 {
        i32::from_ne_bytes([reported[0], reported[1], reported[2], reported[3]])
    } else {
        status
    };
    Ok(decode(raw))
}

/// A process outside the command's process group (so a timeout's `killpg` misses it) that
/// removes the masks and the cgroup if the supervisor is killed before it could.
struct Janitor {
    pid: libc::pid_t,
    pipe: std::os::fd::OwnedFd,
}

impl Janitor {
    fn spawn(masks: Option<&masks::MaskLocks>, cgroup: Option<&Cgroup>) -> Option<Janitor> {
        if masks.is_none() && cgroup.is_none() {
            return None;
        }
        let (r, w) = sys::pipe().ok()?;
        let mut keep: Vec<i32> = masks.map(|m| m.fds()).unwrap_or_default();
        keep.push(r.as_raw_fd());
        keep.sort_unstable();
        // SAFETY: single-threaded process; the child only makes system calls and exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return None;
        }
        if pid == 0 {
            // SAFETY: detaching from the terminal and the caller's descriptors.
            unsafe {
                libc::setsid();
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
                let mut next = 3;
                for &k in &keep {
                    if k > next {
                        libc::syscall(libc::SYS_close_range, next as u32, (k - 1) as u32, 0u32);
                    }
                    next = k + 1;
                }
                libc::syscall(libc::SYS_close_range, next as u32, u32::MAX, 0u32);
            }
            let mut buf = [0u8; 8];
            let mut got = Vec::new();
            loop {
                // SAFETY: read into a valid buffer.
                let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 && sys::errno().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                if n <= 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n as usize]);
            }
            if got.last() != Some(&b'D') {
                // The supervisor died: wait for the sandbox to be gone, then clean up.
                if got.len() >= 4 {
                    let child = i32::from_ne_bytes([got[0], got[1], got[2], got[3]]);
                    for _ in 0..500 {
                        // SAFETY: existence check only.
                        if unsafe { libc::kill(child, 0) } != 0 {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                }
                if let Some(m) = masks {
                    // SAFETY: the struct was copied by fork; its descriptors are ours.
                    unsafe { std::ptr::read(m) }.release();
                }
                if let Some(cg) = cgroup {
                    cg.remove();
                }
            }
            // SAFETY: leaving the forked child.
            unsafe { libc::_exit(0) }
        }
        drop(r);
        Some(Janitor { pid, pipe: w })
    }

    /// Tells the janitor which process is the sandbox.
    fn watch(&self, child: libc::pid_t) {
        sys::write_all(self.pipe.as_raw_fd(), &child.to_ne_bytes());
    }

    /// Cleanup happened normally: the janitor exits without doing anything.
    fn dismiss(self) {
        sys::write_all(self.pipe.as_raw_fd(), b"D");
        drop(self.pipe);
        let mut st = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(self.pid, &mut st, 0) };
    }
}

fn decode(status: i32) -> Outcome {
    if libc::WIFSIGNALED(status) {
        Outcome::Signaled(libc::WTERMSIG(status))
    } else {
        Outcome::Exited(libc::WEXITSTATUS(status))
    }
}

fn wait_set() -> libc::sigset_t {
    // SAFETY: building a signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Waits for the sandbox's first process, forwarding signals to it.
fn wait_child(pid: libc::pid_t) -> i32 {
    let set = wait_set();
    loop {
        let mut st = 0;
        // SAFETY: waiting on our own child.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            return st;
        }
        if r < 0 && sys::errno().raw_os_error() != Some(libc::EINTR) {
            return 0;
        }
        // SAFETY: waiting for a blocked signal.
        let sig = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if sig > 0 && sig != libc::SIGCHLD {
            // SAFETY: forwarding to our own child.
            unsafe { libc::kill(pid, sig) };
        }
    }
}

/// `clone(flags | SIGCHLD)` without a new stack: a fork into new namespaces. Returns 0 in
/// the child.
fn clone_process(flags: libc::c_int) -> std::io::Result<libc::pid_t> {
    // SAFETY: with a NULL stack, clone behaves like fork; the process is single-threaded.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if rc < 0 {
        Err(sys::errno())
    } else {
        Ok(rc as libc::pid_t)
    }
}

/// Threads of this process, from /proc/self/status.
fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}
