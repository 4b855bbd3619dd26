//! Layer: the command's view of the file system, built in its own mount namespace.
//!
//! 1. Every mount is made private (nothing propagates back out).
//! 2. Each writable root is cloned (`open_tree`, recursive) while still writable.
//! 3. The whole tree is made read-only in one step (`mount_setattr(/, AT_RECURSIVE,
//!    MOUNT_ATTR_RDONLY)`): outside the roots the kernel answers EROFS to every change of
//!    contents *and* metadata (mode, owner, times, xattrs, links).
//! 4. The root clones are attached back on top of their paths: writable again.
//! 5. Protected paths (`.git`, its gitdir, `.wright`, `.codex`, nested repositories, masks
//!    for missing names) are cloned, made read-only and attached on top.
//! 6. A private tmpfs on `/dev/shm` (POSIX shared memory of the command's own) and, in a new
//!    PID namespace, a fresh `/proc` showing only the sandbox's processes.
//!
//! Every path is opened with `openat2(RESOLVE_NO_SYMLINKS)` and mounts are attached through
//! those descriptors, so a concurrent process swapping a component for a symlink makes the
//! setup fail instead of redirecting it.

use std::path::Path;

use crate::plan::Plan;
use crate::sys;

fn ctx<T>(what: impl FnOnce() -> String, r: std::io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{}: {e}", what()))
}

/// What [`build`] could not do but the sandbox survives without (announced).
#[derive(Debug, Default)]
pub(crate) struct MountNotes {
    pub notes: Vec<String>,
    /// A private `/dev/shm` is mounted (and may be written).
    pub private_shm: bool,
}

pub(crate) fn build(plan: &Plan, new_proc: bool) -> Result<MountNotes, String> {
    let mut out = MountNotes::default();
    // SAFETY: plain mount(2) call with valid C strings.
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
        return Err(format!("mount(/, MS_REC|MS_PRIVATE): {}", sys::errno()));
    }
    let mut clones = Vec::new();
    for root in &plan.roots {
        let fd = ctx(
            || format!("open writable root {}", root.display()),
            sys::open_path(None, root),
        )?;
        let clone = ctx(
            || format!("clone the mount tree at {}", root.display()),
            sys::clone_tree(&fd),
        )?;
        clones.push((root, clone));
    }
    let slash = ctx(|| "open /".into(), sys::open_path(None, Path::new("/")))?;
    ctx(
        || "make the file system read-only (mount_setattr)".into(),
        sys::set_attr_recursive(&slash, sys::MOUNT_ATTR_RDONLY),
    )?;
    for (root, clone) in &clones {
        let target = ctx(
            || format!("reopen writable root {}", root.display()),
            sys::open_path(None, root),
        )?;
        ctx(
            || format!("bind {} writable", root.display()),
            sys::attach(clone, &target),
        )?;
    }
    for path in plan.protected.iter().chain(&plan.masks) {
        let target = match sys::open_path(None, path) {
            Ok(fd) => fd,
            // A nested repository removed since planning: nothing left to protect. A name
            // directly under a root must not vanish (it is masked or bound), so that fails.
            Err(e)
                if e.raw_os_error() == Some(libc::ENOENT)
                    && !path
                        .parent()
                        .is_some_and(|p| plan.roots.iter().any(|r| r == p)) =>
            {
                continue
            }
            Err(e) => return Err(format!("open protected path {}: {e}", path.display())),
        };
        let clone = ctx(
            || format!("clone {}", path.display()),
            sys::clone_tree(&target),
        )?;
        ctx(
            || format!("make {} read-only", path.display()),
            sys::set_attr_recursive(&clone, sys::MOUNT_ATTR_RDONLY),
        )?;
        ctx(
            || format!("bind {} read-only", path.display()),
            sys::attach(&clone, &target),
        )?;
    }
    // Private POSIX shared memory: the command's own, invisible outside, gone afterwards.
    if Path::new("/dev/shm").is_dir() {
        // SAFETY: plain mount(2) call with valid C strings.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                c"/dev/shm".as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=1777".as_ptr().cast(),
            )
        };
        if rc == 0 {
            out.private_shm = true;
        } else {
            out.notes.push(format!(
                "no private /dev/shm ({}): POSIX shared memory and semaphores are unavailable",
                sys::errno()
            ));
        }
    }
    if new_proc {
        // SAFETY: plain mount(2) call with valid C strings.
        let rc = unsafe {
            libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            out.notes.push(format!(
                "no private /proc ({}): the command can list (but not signal or trace) processes outside the sandbox",
                sys::errno()
            ));
        }
    }
    Ok(out)
}

/// Brings up `lo` in a new network namespace, so the command's own loopback servers work.
pub(crate) fn loopback_up() -> Result<(), String> {
    // SAFETY: plain socket/ioctl calls on a zeroed, correctly sized ifreq.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(format!("socket: {}", sys::errno()));
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        let mut rc = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr);
        if rc == 0 {
            ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            rc = libc::ioctl(fd, libc::SIOCSIFFLAGS, &mut ifr);
        }
        let err = sys::errno();
        libc::close(fd);
        if rc != 0 {
            return Err(format!("bring up lo: {err}"));
        }
    }
    Ok(())
}
