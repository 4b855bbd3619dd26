//! The sandbox's first process (PID 1 of its PID namespace when namespaces are available)
//! and the command it starts.
//!
//! It waits for the supervisor to map its ids, builds the mount view, confines itself
//! (no_new_privs, Landlock, resource limits, seccomp), reports to the supervisor, then forks
//! the command and stays behind as its init: it forwards signals to the command, reaps
//! orphans, and when the command exits it passes on the wait status and exits too, which
//! makes the kernel kill every process left in the namespace.

use std::ffi::CString;
use std::os::fd::RawFd;

use crate::plan::Plan;
use crate::policy::SandboxPolicy;
use crate::{fs_rules, limits, mounts, sys, syscalls};

/// What the sandbox runs once it is in place.
#[derive(Clone, Copy)]
pub(crate) enum Action<'a> {
    /// Exec this argv (the normal case).
    Exec(&'a [CString]),
    /// Run this function in the confined process and exit with its result (the probe).
    Probe(&'a dyn Fn() -> i32),
}

pub(crate) struct ChildArgs<'a> {
    pub policy: &'a SandboxPolicy,
    pub plan: &'a Plan,
    pub action: Action<'a>,
    /// New user, mount, PID and IPC namespaces (and network, when `netns`).
    pub namespaces: bool,
    pub netns: bool,
    /// The supervisor's "go" (ids mapped; and, when announcing, warnings printed).
    pub go: RawFd,
    /// `N<note>\n`... then `K\n`, or `E<reason>` and exit.
    pub report: RawFd,
    /// The command's wait status, 4 bytes, native endian.
    pub status: RawFd,
}

/// Signals forwarded to the command (the rest of the set the supervisor blocked is SIGCHLD).
pub(crate) const FORWARDED: [libc::c_int; 4] =
    [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2];

pub(crate) fn main(a: ChildArgs) -> ! {
    match setup(&a) {
        Err(reason) => {
            sys::write_all(a.report, format!("E{reason}").as_bytes());
            // SAFETY: leaving the forked child without running the parent's destructors.
            unsafe { libc::_exit(1) }
        }
        Ok(notes) => {
            let mut msg = String::new();
            for n in notes {
                msg.push('N');
                msg.push_str(&n.replace('\n', " "));
                msg.push('\n');
            }
            msg.push_str("K\n");
            sys::write_all(a.report, msg.as_bytes());
            if a.policy.announce {
                // Wait until the supervisor has printed its warning, so it precedes the
                // command's own output.
                let mut b = 0u8;
                // SAFETY: one-byte read into a valid buffer.
                if unsafe { libc::read(a.go, (&mut b as *mut u8).cast(), 1) } != 1 {
                    // SAFETY: the supervisor is gone; leave.
                    unsafe { libc::_exit(crate::EXIT_CANNOT_ENFORCE) }
                }
            }
        }
    }
    // SAFETY: the process is single-threaded.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        eprintln!("wright sandbox: fork: {}", sys::errno());
        unsafe { libc::_exit(crate::EXIT_CANNOT_RUN) }
    }
    if pid == 0 {
        match a.action {
            Action::Exec(argv) => exec_command(argv),
            Action::Probe(f) => {
                let code = f();
                // SAFETY: leaving the forked child.
                unsafe { libc::_exit(code) }
            }
        }
    }
    supervise(pid, a.status)
}

fn setup(a: &ChildArgs) -> Result<Vec<String>, String> {
    // Die with the supervisor.
    // SAFETY: plain prctl calls.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    let mut go = 0u8;
    // SAFETY: one-byte read into a valid buffer.
    let n = unsafe { libc::read(a.go, (&mut go as *mut u8).cast(), 1) };
    if n != 1 || !(go == 1 || go == 2) {
        return Err("the supervisor did not finish setting up the sandbox".into());
    }
    // 2: no cgroup caps the number of processes; RLIMIT_NPROC does where it can.
    if go == 2 {
        limits::set_nproc_rlimit(a.policy.limits.processes());
    }
    let network_off = !a.policy.effective_network();
    let mut notes = Vec::new();
    let mut extra_writable: Vec<&str> = Vec::new();
    if a.namespaces {
        let m = mounts::build(a.plan, true)?;
        notes.extend(m.notes);
        if m.private_shm {
            extra_writable.push("/dev/shm");
        }
        // Our cwd still points into the mount the roots now cover: step onto the new view.
        if let Ok(cwd) = std::env::current_dir() {
            let _ = std::env::set_current_dir(&cwd);
        }
        if a.netns {
            if let Err(e) = mounts::loopback_up() {
                notes.push(format!(
                    "{e}: servers the command starts on 127.0.0.1 will not be reachable"
                ));
            }
        }
    }
    // SAFETY: plain prctl call.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!("prctl(PR_SET_NO_NEW_PRIVS): {}", sys::errno()));
    }
    let deny_tcp = network_off && !a.netns;
    notes.extend(fs_rules::apply(a.policy, &extra_writable, deny_tcp)?);
    let program = syscalls::build(network_off, a.netns)?;
    syscalls::install(&program)?;
    Ok(notes)
}

/// In the forked command process: restore what the sandbox changed, close every inherited
/// descriptor but 0, 1 and 2, and exec.
fn exec_command(argv: &[CString]) -> ! {
    // SAFETY: async-signal-safe calls in a freshly forked single-threaded child.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGPIPE] {
            libc::signal(sig, libc::SIG_DFL);
        }
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
    }
    sys::cloexec_from(3);
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: NUL-terminated argv of valid C strings.
    unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
    let err = sys::errno();
    eprintln!(
        "wright sandbox: cannot run {}: {err}",
        argv[0].to_string_lossy()
    );
    // SAFETY: leaving the forked child.
    unsafe { libc::_exit(crate::EXIT_CANNOT_RUN) }
}

/// SIGCHLD and the [`FORWARDED`] signals: what the supervisor and the sandbox's init block
/// and wait for.
pub(crate) fn wait_set() -> libc::sigset_t {
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

/// Init duty until the command exits: forward signals, reap everything.
fn supervise(command: libc::pid_t, status_fd: RawFd) -> ! {
    let set = wait_set();
    // SAFETY: waits on our own children and signals to the command.
    unsafe {
        loop {
            let sig = libc::sigwaitinfo(&set, std::ptr::null_mut());
            if sig == libc::SIGCHLD {
                loop {
                    let mut st = 0;
                    let r = libc::waitpid(-1, &mut st, libc::WNOHANG);
                    if r <= 0 {
                        break;
                    }
                    if r == command {
                        sys::write_all(status_fd, &st.to_ne_bytes());
                        libc::_exit(0);
                    }
                }
            } else if sig > 0 {
                libc::kill(command, sig);
            }
        }
    }
}
