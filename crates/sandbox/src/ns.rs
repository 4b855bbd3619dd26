//! Layers 2 and 3: user/mount/network namespaces, and read-only bind mounts over the
//! protected paths (`.git`, `.wright`, `.codex`) of the writable roots.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Which namespaces the process entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entered {
    /// A new user + mount namespace (so bind mounts are possible).
    pub user_and_mount: bool,
    /// A new, empty network namespace.
    pub net: bool,
}

/// Why [`unshare_namespaces`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NsError {
    /// Nothing changed; the sandbox may go on without namespaces.
    Unavailable(String),
    /// The process is in a new user namespace but its ids could not be mapped: it must not
    /// run the command.
    Broken(String),
}

impl NsError {
    pub(crate) fn message(&self) -> &str {
        match self {
            NsError::Unavailable(m) | NsError::Broken(m) => m,
        }
    }
}

fn cpath(path: &Path) -> Result<CString, String> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{}: path contains a NUL byte", path.display()))
}

fn errno_string() -> String {
    io::Error::last_os_error().to_string()
}

/// `unshare(CLONE_NEWUSER | CLONE_NEWNS [| CLONE_NEWNET])`, then map the ids so every file
/// keeps its owner. The calling process must be single-threaded.
///
/// Id mapping: when we hold `CAP_SETUID`/`CAP_SETGID` (typically: root in a container) a
/// short-lived helper forked *before* the unshare, still in the parent namespace, writes an
/// identity map of every id the current namespace knows (so root keeps working on files
/// owned by other users). Otherwise (or if that fails) we map just our own uid/gid to
/// themselves (`setgroups` = deny), which is all an unprivileged user may do.
pub(crate) fn unshare_namespaces(network: bool) -> Result<Entered, NsError> {
    // We must be able to write our id maps after the unshare, or we would be left in a user
    // namespace without ids. Landlock (e.g. inside another wright sandbox) denies that, so
    // find out before changing anything.
    let probe = unsafe {
        libc::open(
            c"/proc/self/uid_map".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    };
    if probe < 0 {
        return Err(NsError::Unavailable(format!(
            "cannot open /proc/self/uid_map for writing: {}",
            errno_string()
        )));
    }
    unsafe { libc::close(probe) };
    let mut flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNS;
    if !network {
        flags |= libc::CLONE_NEWNET;
    }
    let uid = unsafe { libc::geteuid() };
    let gid = unsafe { libc::getegid() };
    let uid_identity = identity_map("/proc/self/uid_map");
    let gid_identity = identity_map("/proc/self/gid_map");
    let me = unsafe { libc::getpid() };
    let uid_map_path = CString::new(format!("/proc/{me}/uid_map")).unwrap();
    let gid_map_path = CString::new(format!("/proc/{me}/gid_map")).unwrap();

    // The helper: waits for "go", writes our maps from the parent namespace, exits with
    // 0 = both written, 1 = nothing written, 2 = uid_map only.
    let mut fds = [0 as libc::c_int; 2];
    let helper = if unsafe { libc::geteuid() } == 0
        && uid_identity.is_some()
        && gid_identity.is_some()
        && unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0
    {
        let uid_lines = uid_identity.as_deref().unwrap().as_bytes();
        let gid_lines = gid_identity.as_deref().unwrap().as_bytes();
        match unsafe { libc::fork() } {
            0 => {
                // Child: only async-signal-safe calls from here on.
                unsafe {
                    libc::close(fds[1]);
                    let mut go = 0u8;
                    let n = libc::read(fds[0], (&mut go as *mut u8).cast(), 1);
                    if n != 1 || go != 1 {
                        libc::_exit(1);
                    }
                    if !write_file(&uid_map_path, uid_lines) {
                        libc::_exit(1);
                    }
                    if !write_file(&gid_map_path, gid_lines) {
                        libc::_exit(2);
                    }
                    libc::_exit(0);
                }
            }
            -1 => {
                unsafe {
                    libc::close(fds[0]);
                    libc::close(fds[1]);
                }
                None
            }
            pid => {
                unsafe { libc::close(fds[0]) };
                Some((pid, fds[1]))
            }
        }
    } else {
        None
    };

    let rc = unsafe { libc::unshare(flags) };
    let unshare_err = errno_string();
    let mut helper_code = 1;
    if let Some((pid, w)) = helper {
        let go: u8 = u8::from(rc == 0);
        unsafe {
            libc::write(w, (&go as *const u8).cast(), 1);
            libc::close(w);
        }
        let mut status = 0;
        let r = loop {
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break r;
        };
        if r == pid && libc::WIFEXITED(status) {
            helper_code = libc::WEXITSTATUS(status);
        }
    }
    if rc != 0 {
        return Err(NsError::Unavailable(format!(
            "unshare(CLONE_NEWUSER|CLONE_NEWNS{}) failed: {unshare_err}",
            if network { "" } else { "|CLONE_NEWNET" }
        )));
    }
    if helper_code == 1 {
        let map = CString::new(format!("{uid} {uid} 1\n")).unwrap();
        if !write_file(c"/proc/self/uid_map", map.as_bytes()) {
            return Err(NsError::Broken(format!(
                "cannot write /proc/self/uid_map: {}",
                errno_string()
            )));
        }
    }
    if helper_code != 0 {
        // An unprivileged gid_map needs setgroups denied first (absent on old kernels).
        let _ = write_file(c"/proc/self/setgroups", b"deny");
        let map = CString::new(format!("{gid} {gid} 1\n")).unwrap();
        if !write_file(c"/proc/self/gid_map", map.as_bytes()) {
            return Err(NsError::Broken(format!(
                "cannot write /proc/self/gid_map: {}",
                errno_string()
            )));
        }
    }
    Ok(Entered {
        user_and_mount: true,
        net: !network,
    })
}

/// The ranges of the current namespace (`/proc/self/uid_map`: "inside outside count") as an
/// identity map for a child namespace ("inside inside count").
fn identity_map(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut out = String::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (inside, _outside, count) = (it.next()?, it.next()?, it.next()?);
        out.push_str(&format!("{inside} {inside} {count}\n"));
    }
    (!out.is_empty()).then_some(out)
}

/// open + write + close with raw syscalls (safe to call in a forked child).
fn write_file(path: &std::ffi::CStr, data: &[u8]) -> bool {
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let ok = n == data.len() as isize;
        libc::close(fd);
        ok
    }
}

/// Make every mount of our (new) mount namespace private, so nothing we mount propagates
/// back to the parent namespace.
pub(crate) fn make_mounts_private() -> Result<(), String> {
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "mount(/, MS_REC|MS_PRIVATE) failed: {}",
            errno_string()
        ));
    }
    Ok(())
}

/// Bind-mount `path` onto itself and remount it read-only; verify the result.
pub(crate) fn bind_readonly(path: &Path) -> Result<(), String> {
    let c = cpath(path)?;
    let rc = unsafe {
        libc::mount(
            c.as_ptr(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "bind mount of {} failed: {}",
            path.display(),
            errno_string()
        ));
    }
    // A remount must repeat the flags the kernel locked on the underlying mount (nosuid,
    // nodev, noexec, atime), or it fails with EPERM inside a user namespace.
    let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC;
    let st = statvfs_flags(&c).map_err(|e| format!("statvfs({}): {e}", path.display()))?;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    let rc = unsafe {
        libc::mount(
            c.as_ptr(),
            c.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "read-only remount of {} failed: {}",
            path.display(),
            errno_string()
        ));
    }
    match statvfs_flags(&c) {
        Ok(f) if f & libc::ST_RDONLY != 0 => Ok(()),
        Ok(_) => Err(format!(
            "{} is still writable after the read-only remount",
            path.display()
        )),
        Err(e) => Err(format!("statvfs({}): {e}", path.display())),
    }
}

fn statvfs_flags(c: &CString) -> Result<libc::c_ulong, io::Error> {
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_flag)
}
