//! Masks for protected names that do not exist yet (`<root>/.git` in a directory that is not
//! a repository): an empty directory is created there for the command's lifetime and bound
//! read-only, so the command can neither create the name nor plant hooks under it. Git skips
//! an empty `.git` directory when it looks for a repository, so nothing else changes.
//!
//! Several sandboxes may share a root. Each holds a shared `flock` on the root directory for
//! its whole life; the last one out (the one that can upgrade to an exclusive lock) removes
//! the masks that are still empty. A new sandbox's shared lock waits for such a cleanup, so a
//! mask is never removed under a running command. A killed supervisor's lock goes with it; its
//! mask stays behind as an empty directory, harmless to git and removed by the next cleanup.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sys;

#[derive(Debug, Default)]
pub(crate) struct MaskLocks {
    held: Vec<(OwnedFd, Vec<CString>)>,
}

fn flock(fd: &OwnedFd, op: libc::c_int) -> bool {
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(fd.as_raw_fd(), op) } == 0 {
            return true;
        }
        if sys::errno().raw_os_error() != Some(libc::EINTR) {
            return false;
        }
    }
}

/// Creates the masks (under the roots' shared locks). Returns the locks and the masks in
/// place: a name this user cannot create here (a root it may not write, a read-only file
/// system) needs no mask, since the command cannot create it either.
pub(crate) fn acquire(masks: &[PathBuf]) -> Result<(MaskLocks, Vec<PathBuf>), String> {
    let mut by_parent: Vec<(PathBuf, Vec<CString>)> = Vec::new();
    for mask in masks {
        let (Some(parent), Some(name)) = (mask.parent(), mask.file_name()) else {
            continue;
        };
        let name = CString::new(name.as_bytes()).map_err(|_| "NUL in a path".to_string())?;
        match by_parent.iter_mut().find(|(p, _)| p == parent) {
            Some((_, names)) => names.push(name),
            None => by_parent.push((parent.to_path_buf(), vec![name])),
        }
    }
    by_parent.sort_by(|a, b| a.0.cmp(&b.0));
    let mut locks = MaskLocks::default();
    let mut in_place = Vec::new();
    for (parent, names) in by_parent {
        let dir = open_dir(&parent)?;
        if !flock(&dir, libc::LOCK_SH) {
            return Err(format!("flock {}: {}", parent.display(), sys::errno()));
        }
        for name in &names {
            // SAFETY: mkdirat relative to a directory we hold open.
            // Mode 000 marks it as a mask (see `plan`), should a killed run leave it behind.
            let rc = unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0) };
            let err = sys::errno().raw_os_error();
            match (rc, err) {
                (0, _) | (_, Some(libc::EEXIST)) => {}
                (_, Some(libc::EACCES | libc::EPERM | libc::EROFS)) => continue,
                _ => {
                    return Err(format!(
                        "cannot create {}/{}: {}",
                        parent.display(),
                        name.to_string_lossy(),
                        sys::errno()
                    ))
                }
            }
            in_place.push(parent.join(std::ffi::OsStr::from_bytes(name.as_bytes())));
        }
        locks.held.push((dir, names));
    }
    Ok((locks, in_place))
}

fn open_dir(path: &Path) -> Result<OwnedFd, String> {
    let c = sys::cstr(path).map_err(|e| e.to_string())?;
    // SAFETY: valid C string.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    if fd < 0 {
        return Err(format!("open {}: {}", path.display(), sys::errno()));
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl MaskLocks {
    /// The descriptors this holds (a janitor process must keep them open).
    pub(crate) fn fds(&self) -> Vec<i32> {
        self.held.iter().map(|(d, _)| d.as_raw_fd()).collect()
    }

    /// Removes the masks no other running sandbox uses (only empty directories go), then
    /// drops the locks.
    pub(crate) fn release(self) {
        for (dir, names) in self.held {
            if flock(&dir, libc::LOCK_EX | libc::LOCK_NB) {
                for name in names {
                    // SAFETY: unlinkat relative to a directory we hold open; fails harmlessly
                    // when the directory is not empty or is gone.
                    unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) };
                }
            }
        }
    }
}
