//! Thin wrappers over the Linux system calls the sandbox needs that `libc` has no function
//! for (the new mount API, `openat2`, `close_range`). Each returns `io::Error` from errno.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// `struct mount_attr` (linux/mount.h).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `struct open_how` (linux/openat2.h); libc's is non-exhaustive.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub(crate) fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: path contains a NUL byte", path.display()),
        )
    })
}

fn fd_result(rc: libc::c_long) -> io::Result<OwnedFd> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: the kernel just returned this descriptor to us; nobody else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(rc as RawFd) })
    }
}

fn unit_result(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `openat2(dir, path, O_PATH|O_CLOEXEC [|O_DIRECTORY], resolve)`: a handle on `path` that
/// was reached without following any symlink (`RESOLVE_NO_SYMLINKS`) and, when `dir` is
/// given, without leaving it (`RESOLVE_BENEATH`). This is what makes mount targets immune to
/// a concurrent process swapping a path component for a symlink.
pub(crate) fn open_path(dir: Option<&OwnedFd>, path: &Path) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    let mut how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    };
    let dirfd = match dir {
        Some(d) => {
            how.resolve |= libc::RESOLVE_BENEATH;
            d.as_raw_fd()
        }
        None => libc::AT_FDCWD,
    };
    // SAFETY: plain system call with valid pointers that outlive it.
    fd_result(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            c.as_ptr(),
            &mut how as *mut OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })
}

/// `open_tree(fd, "", OPEN_TREE_CLONE|AT_RECURSIVE|AT_EMPTY_PATH)`: a detached copy of the
/// mount tree at `fd`.
pub(crate) fn clone_tree(fd: &OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: plain system call.
    fd_result(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd.as_raw_fd(),
            c"".as_ptr(),
            OPEN_TREE_CLONE
                | libc::O_CLOEXEC as libc::c_uint
                | libc::AT_RECURSIVE as libc::c_uint
                | libc::AT_EMPTY_PATH as libc::c_uint,
        )
    })
}

/// `move_mount(from, "", to, "", F_EMPTY_PATH|T_EMPTY_PATH)`: attach the detached tree
/// `from` on top of `to`.
pub(crate) fn attach(from: &OwnedFd, to: &OwnedFd) -> io::Result<()> {
    // SAFETY: plain system call.
    unit_result(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH|AT_RECURSIVE, {attr_set: set})`.
pub(crate) fn set_attr_recursive(fd: &OwnedFd, set: u64) -> io::Result<()> {
    let mut attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: plain system call with a valid pointer.
    unit_result(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
}

/// Marks every descriptor from `first` up close-on-exec (falls back to closing them one by
/// one where `close_range` is missing).
pub(crate) fn cloexec_from(first: RawFd) {
    // SAFETY: plain system call; only sets flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return;
    }
    // Older kernels: walk /proc/self/fd is not async-signal-safe; use the fd limit.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max = if max <= 0 {
        65536
    } else {
        max.min(1 << 20) as RawFd
    };
    for fd in first..max {
        // SAFETY: F_SETFD on a descriptor that may not exist only fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

pub(crate) fn errno() -> io::Error {
    io::Error::last_os_error()
}

/// A pipe with both ends close-on-exec: (read, write).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: valid pointer to two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(errno());
    }
    // SAFETY: fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// write(2) all of `data`, retrying on EINTR. Async-signal-safe.
pub(crate) fn write_all(fd: RawFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: valid buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            if errno().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return false;
        }
        if n == 0 {
            return false;
        }
        data = &data[n as usize..];
    }
    true
}

/// read(2) until EOF (retrying EINTR).
pub(crate) fn read_to_end(fd: RawFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: valid buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            if errno().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break;
        }
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    out
}

/// Writes `data` to an existing file (open O_WRONLY, write, close).
pub(crate) fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: we own fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    if n < 0 {
        return Err(errno());
    }
    if n as usize != data.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
    }
    Ok(())
}
