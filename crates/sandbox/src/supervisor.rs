//! The supervisor: the `wright sandbox` process itself. It stays in the caller's
//! namespaces, unconfined, and never runs model-chosen code. It plans the mount view, creates
//! the masks and the cgroup, clones the sandbox's first process into new namespaces, maps its
//! ids, waits, then reports caps that were hit and cleans up.

use std::ffi::CString;
use std::os::fd::AsRawFd;

use crate::child::{self, wait_set, Action, ChildArgs};
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

    let mut cgroup = None;
    let result = spawn_and_wait(policy, &plan, action, &mut cgroup, &mut notes, network_off);
    if let (Some(cg), Ok(_)) = (&cgroup, &result) {
        for line in cg.report() {
            eprintln!("wright sandbox: {line}");
        }
        // The session's cgroup stays for its next command (swept once the session is gone).
    }
    result.map(|o| (o, notes)).map_err(unenforceable)
}

/// The cgroup for `limits`, or `None` with the gap noted.
fn make_cgroup(limits: &crate::policy::Limits, notes: &mut Vec<String>) -> Option<Cgroup> {
    if limits.processes() == 0 && limits.memory() == 0 {
        return None;
    }
    match Cgroup::create(limits) {
        Ok(cg) => Some(cg),
        Err(why) => {
            notes.push(if unsafe { libc::geteuid() } == 0 {
                format!("{why}: the number of processes and the memory of a command are not capped")
            } else {
                format!("{why}: processes are capped by RLIMIT_NPROC only, memory is not capped")
            });
            None
        }
    }
}

fn spawn_and_wait(
    policy: &SandboxPolicy,
    plan: &Plan,
    action: Action,
    cgroup_out: &mut Option<Cgroup>,
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
    let mut plan = std::borrow::Cow::Borrowed(plan);
    let mut mask_locks = if plan.masks.is_empty() {
        None
    } else {
        let (locks, in_place) = masks::acquire(&plan.masks)?;
        if in_place.len() != plan.masks.len() {
            plan.to_mut().masks = in_place;
        }
        Some(locks)
    };
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
        plan_used = &plan;
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
        });
    }
    drop(go_r);
    drop(rep_w);
    drop(st_w);
    let fail = |why: String,
                mask_locks: Option<masks::MaskLocks>,
                has_janitor: bool|
     -> Result<Outcome, String> {
        // SAFETY: killing and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
        }
        // Without a janitor (it could not be started) we clean up ourselves.
        if !has_janitor {
            if let Some(l) = mask_locks {
                l.release();
            }
        }
        Err(why)
    };
    if namespaces {
        if let Err(e) = ns::write_id_maps(pid) {
            return fail(e, mask_locks, false);
        }
    }
    // The cgroup must hold the sandbox before the command starts (a session's cgroup exists
    // after its first command, so this is a few writes).
    let cgroup = make_cgroup(&policy.limits, notes);
    if let Some(cg) = &cgroup {
        if let Err(e) = cg.add(pid) {
            notes.push(format!(
                "cannot move the command into its cgroup ({e}): processes and memory are not capped"
            ));
        }
    }
    let pids_capped = cgroup.as_ref().is_some_and(Cgroup::has_pids);
    *cgroup_out = cgroup;
    // Go (2: no cgroup caps processes, use RLIMIT_NPROC).
    if !sys::write_all(go_w.as_raw_fd(), &[if pids_capped { 1 } else { 2 }]) {
        return fail(
            "the sandbox process died during setup".into(),
            mask_locks,
            false,
        );
    }
    // While the sandbox builds its view.
    let janitor = Janitor::spawn(mask_locks.as_ref(), pid);
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
        return fail(why, mask_locks, janitor.is_some());
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
        // The warning is out: the command may start.
        sys::write_all(go_w.as_raw_fd(), &[1]);
    }
    // The command's status comes through the pipe the moment it exits; the sandbox's own
    // exit (the kernel tearing down its namespaces) and the cleanup happen off this path.
    let raw = wait_status(pid, st_r.as_raw_fd());
    match (janitor, mask_locks) {
        // The janitor removes the masks and the cgroup once the sandbox is gone.
        (Some(_), Some(l)) => std::mem::forget(l),
        (None, Some(l)) => {
            let mut st = 0;
            // SAFETY: reaping our own child before removing its masks.
            unsafe { libc::waitpid(pid, &mut st, 0) };
            l.release();
        }
        _ => {}
    }
    Ok(decode(raw))
}

/// A process outside the command's process group (so a timeout's `killpg` misses it) that
/// removes the masks once the sandbox is gone, however the supervisor ended.
struct Janitor {
    /// Held, never written: its closing (our exit, however it happens) starts the cleanup.
    _pipe: std::os::fd::OwnedFd,
}

impl Janitor {
    fn spawn(masks: Option<&masks::MaskLocks>, child: libc::pid_t) -> Option<Janitor> {
        let masks = masks?;
        let (r, w) = sys::pipe().ok()?;
        let mut keep: Vec<i32> = masks.fds();
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
            // The supervisor is gone (done, or killed): wait for the sandbox to be gone too
            // (its init exits only after every process in it), then clean up.
            if child > 0 {
                wait_gone(child);
            }
            // SAFETY: the struct was copied by fork; its descriptors are ours.
            unsafe { std::ptr::read(masks) }.release();
            // SAFETY: leaving the forked child.
            unsafe { libc::_exit(0) }
        }
        drop(r);
        Some(Janitor { _pipe: w })
    }
}

/// Waits until `pid` has exited: a pidfd becomes readable at exit; without pidfds, poll.
fn wait_gone(pid: libc::pid_t) {
    // SAFETY: plain system calls on a descriptor we own.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if fd >= 0 {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            libc::poll(&mut p, 1, 10_000);
            libc::close(fd);
            return;
        }
        for _ in 0..1000 {
            if libc::kill(pid, 0) != 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

fn decode(status: i32) -> Outcome {
    if libc::WIFSIGNALED(status) {
        Outcome::Signaled(libc::WTERMSIG(status))
    } else {
        Outcome::Exited(libc::WEXITSTATUS(status))
    }
}

/// Waits for the command's wait status (4 bytes on `status_fd`) while forwarding signals to
/// the sandbox; if the sandbox dies without sending one, its own status.
fn wait_status(pid: libc::pid_t, status_fd: i32) -> i32 {
    let set = wait_set();
    // SAFETY: signalfd over signals this process has blocked; poll and reads into valid
    // buffers.
    unsafe {
        let sfd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC);
        let mut got: Vec<u8> = Vec::with_capacity(4);
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: status_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: sfd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let n = if sfd >= 0 { 2 } else { 1 };
            if libc::poll(fds.as_mut_ptr(), n, if sfd >= 0 { -1 } else { 50 }) < 0
                && sys::errno().raw_os_error() != Some(libc::EINTR)
            {
                break;
            }
            if fds[0].revents != 0 {
                let mut buf = [0u8; 4];
                let r = libc::read(status_fd, buf.as_mut_ptr().cast(), 4 - got.len());
                if r > 0 {
                    got.extend_from_slice(&buf[..r as usize]);
                    if got.len() == 4 {
                        if sfd >= 0 {
                            libc::close(sfd);
                        }
                        return i32::from_ne_bytes([got[0], got[1], got[2], got[3]]);
                    }
                    continue;
                }
                if r == 0 {
                    // The sandbox is gone without a status: report its own end.
                    break;
                }
            }
            if sfd >= 0 && fds[1].revents != 0 {
                let mut info: libc::signalfd_siginfo = std::mem::zeroed();
                let r = libc::read(
                    sfd,
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    std::mem::size_of::<libc::signalfd_siginfo>(),
                );
                let sig = info.ssi_signo as i32;
                if r > 0 && sig != libc::SIGCHLD {
                    libc::kill(pid, sig);
                }
            }
        }
        if sfd >= 0 {
            libc::close(sfd);
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        st
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
