//! User-namespace id maps, written by the supervisor for the sandbox's first process (which
//! was cloned into new user, mount, PID, IPC and network namespaces).

use std::path::PathBuf;

/// Maps ids in `child`'s new user namespace so every file keeps its owner.
///
/// With `CAP_SETUID`/`CAP_SETGID` (root, typically in a container or CI) the identity map of
/// every id this namespace knows is written, so the command works on files of any owner.
/// Otherwise (or if that fails) only our own uid/gid are mapped to themselves, with
/// `setgroups` denied, which is all an unprivileged user may do.
pub(crate) fn write_id_maps(child: libc::pid_t) -> Result<(), String> {
    let proc = PathBuf::from(format!("/proc/{child}"));
    let uid = unsafe { libc::geteuid() };
    let gid = unsafe { libc::getegid() };
    if uid == 0 {
        if let (Some(u), Some(g)) = (
            identity_map("/proc/self/uid_map"),
            identity_map("/proc/self/gid_map"),
        ) {
            let uid_ok = crate::sys::write_file(&proc.join("uid_map"), u.as_bytes()).is_ok();
            if uid_ok && crate::sys::write_file(&proc.join("gid_map"), g.as_bytes()).is_ok() {
                return Ok(());
            }
            if uid_ok {
                // uid_map can only be written once; finish with our own gid.
                return single_gid(&proc, gid);
            }
        }
    }
    crate::sys::write_file(&proc.join("uid_map"), format!("{uid} {uid} 1\n").as_bytes())
        .map_err(|e| format!("cannot write the sandbox's uid_map: {e}"))?;
    single_gid(&proc, gid)
}

fn single_gid(proc: &std::path::Path, gid: libc::gid_t) -> Result<(), String> {
    // An unprivileged gid_map needs setgroups denied first (absent on old kernels).
    let _ = crate::sys::write_file(&proc.join("setgroups"), b"deny");
    crate::sys::write_file(&proc.join("gid_map"), format!("{gid} {gid} 1\n").as_bytes())
        .map_err(|e| format!("cannot write the sandbox's gid_map: {e}"))
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
