//! Layer: resource caps. Every process a command starts lives in a cgroup with `pids.max`
//! and a memory limit (cgroup v2, or the v1 `pids` and `memory` hierarchies). The cgroup is
//! the session's: one per process that starts sandboxes (the agent), named after it, shared
//! by its commands (so parallel commands share the caps) and swept once that process is gone.
//! Creating and destroying a memory cgroup per command would cost about a millisecond each. Where no cgroup can be made
//! (an unprivileged user without a delegated subtree), `RLIMIT_NPROC` caps processes for
//! non-root users, and the gap is announced.
//!
//! After the command the supervisor reads the cgroup's event counters, so hitting a cap is
//! reported to the model as such rather than as an unexplained failure.

use std::path::{Path, PathBuf};

use crate::policy::Limits;

#[derive(Debug)]
pub(crate) struct Cgroup {
    /// v2: the one directory; v1: (pids dir, memory dir), either may be missing.
    pids_dir: Option<PathBuf>,
    memory_dir: Option<PathBuf>,
    v2: bool,
    processes: u64,
    memory: u64,
    /// Event counters when this command started (the cgroup is shared and long-lived).
    start: (u64, u64),
}

/// Mounted cgroup hierarchies: (mount point, mount root, fs type, super options).
fn cgroup_mounts() -> Vec<(PathBuf, String, String, String)> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 {
            continue;
        }
        if r[0] == "cgroup2" || r[0] == "cgroup" {
            out.push((
                PathBuf::from(unescape(l[4])),
                unescape(l[3]),
                r[0].to_string(),
                r[2].to_string(),
            ));
        }
    }
    out
}

/// mountinfo escapes spaces and a few other bytes as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's cgroup path in the hierarchy that has `controller` (`""` = v2).
fn own_path(controller: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_id, ctls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if controller.is_empty() {
            ctls.is_empty()
        } else {
            ctls.split(',').any(|c| c == controller)
        };
        matches.then(|| path.to_string())
    })
}

fn join_hierarchy(mount: &Path, mount_root: &str, path: &str) -> PathBuf {
    let rel = path
        .strip_prefix(mount_root.trim_end_matches('/'))
        .unwrap_or(path);
    mount.join(rel.trim_start_matches('/'))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    crate::sys::write_file(path, value.as_bytes())
}

fn counter(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

/// Removes leftover `wright-<pid>` cgroups of supervisors that were killed.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("wright-"))
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks existence.
        let dead = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if dead {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// The session's cgroup under `parent` for these caps (created, and stale ones swept, on
/// first use). Commands of one session with other caps get a cgroup of their own.
fn make_child(parent: &Path, processes: u64, memory: u64) -> Option<PathBuf> {
    // SAFETY: getppid cannot fail.
    let owner = unsafe { libc::getppid() };
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = parent.join(format!("wright-{owner}-u{uid}-{processes}-{memory}"));
    if dir.is_dir() {
        return Some(dir);
    }
    sweep(parent);
    match std::fs::create_dir(&dir) {
        Ok(()) => Some(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Some(dir),
        Err(_) => None,
    }
}

impl Cgroup {
    /// A cgroup carrying `limits`, or `None` with the reason.
    pub(crate) fn create(limits: &Limits) -> Result<Cgroup, String> {
        let processes = limits.processes();
        let memory = limits.memory();
        let mounts = cgroup_mounts();
        // cgroup v2 with both controllers available.
        if let Some((mount, root, _, _)) = mounts.iter().find(|m| {
            m.2 == "cgroup2" && {
                let c = read(&m.0.join("cgroup.controllers"));
                c.split_whitespace().any(|w| w == "pids")
                    && c.split_whitespace().any(|w| w == "memory")
            }
        }) {
            if let Some(cg) = Self::create_v2(mount, root, processes, memory) {
                return Ok(cg);
            }
        }
        // cgroup v1 hierarchies.
        let v1 = |ctl: &str| -> Option<PathBuf> {
            let (mount, root, _, _) = mounts
                .iter()
                .find(|m| m.2 == "cgroup" && m.3.split(',').any(|o| o == ctl))?;
            let own = own_path(ctl)?;
            make_child(&join_hierarchy(mount, root, &own), processes, memory)
        };
        let pids_dir = if processes > 0 { v1("pids") } else { None };
        let memory_dir = if memory > 0 { v1("memory") } else { None };
        if pids_dir.is_none() && memory_dir.is_none() && (processes > 0 || memory > 0) {
            return Err("no writable cgroup (v2 with pids and memory delegated, or v1 pids/memory hierarchies)".into());
        }
        let mut cg = Cgroup {
            pids_dir,
            memory_dir,
            v2: false,
            processes,
            memory,
            start: (0, 0),
        };
        if let Some(d) = &cg.pids_dir {
            write(&d.join("pids.max"), &processes.to_string())
                .map_err(|e| format!("cannot set pids.max in cgroup {}: {e}", d.display()))?;
        }
        if let Some(d) = &cg.memory_dir {
            write(&d.join("memory.limit_in_bytes"), &memory.to_string()).map_err(|e| {
                format!(
                    "cannot set memory.limit_in_bytes in cgroup {}: {e}",
                    d.display()
                )
            })?;
        }
        cg.start = cg.counters();
        Ok(cg)
    }

    fn create_v2(mount: &Path, root: &str, processes: u64, memory: u64) -> Option<Cgroup> {
        let enable = |dir: &Path| -> bool {
            let have = read(&dir.join("cgroup.subtree_control"));
            let has = |c: &str| have.split_whitespace().any(|w| w == c);
            (has("pids") && has("memory"))
                || write(&dir.join("cgroup.subtree_control"), "+pids +memory").is_ok()
        };
        let own = join_hierarchy(mount, root, &own_path("")?);
        let parent = if enable(&own) {
            own
        } else if unsafe { libc::geteuid() } == 0 {
            // Our own cgroup holds processes (so it cannot hand controllers down); root may
            // use a sibling tree at the top of the hierarchy instead.
            let top = mount.join("wright.sandbox");
            let _ = std::fs::create_dir(&top);
            if !(enable(mount) && enable(&top)) {
                return None;
            }
            top
        } else {
            return None;
        };
        let dir = make_child(&parent, processes, memory)?;
        if processes > 0 && write(&dir.join("pids.max"), &processes.to_string()).is_err() {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        if memory > 0 && write(&dir.join("memory.max"), &memory.to_string()).is_err() {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        let mut cg = Cgroup {
            pids_dir: Some(dir.clone()),
            memory_dir: Some(dir),
            v2: true,
            processes,
            memory,
            start: (0, 0),
        };
        cg.start = cg.counters();
        Some(cg)
    }

    pub(crate) fn has_pids(&self) -> bool {
        self.pids_dir.is_some()
    }

    /// Moves `pid` (and so everything it will start) into the cgroup.
    pub(crate) fn add(&self, pid: libc::pid_t) -> std::io::Result<()> {
        for dir in [&self.pids_dir, &self.memory_dir].into_iter().flatten() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
            if self.v2 {
                break;
            }
        }
        Ok(())
    }

    /// (times a fork failed at pids.max, processes the OOM killer ended)
    fn counters(&self) -> (u64, u64) {
        let pids = self
            .pids_dir
            .as_ref()
            .map(|d| counter(&read(&d.join("pids.events")), "max "))
            .unwrap_or(0);
        let oom = self
            .memory_dir
            .as_ref()
            .map(|d| {
                if self.v2 {
                    counter(&read(&d.join("memory.events")), "oom_kill ")
                } else {
                    counter(&read(&d.join("memory.oom_control")), "oom_kill ")
                }
            })
            .unwrap_or(0);
        (pids, oom)
    }

    /// Which caps were hit while the command ran, as sentences for its output.
    pub(crate) fn report(&self) -> Vec<String> {
        let (pids, oom) = self.counters();
        let mut out = Vec::new();
        if pids > self.start.0 {
            out.push(format!(
                "the command hit the sandbox's process limit ({} processes and threads): creating another one failed (EAGAIN). Raise sandbox_limits.max_processes if this is expected",
                self.processes
            ));
        }
        if oom > self.start.1 {
            out.push(format!(
                "the command hit the sandbox's memory limit ({} MiB): the kernel killed {} process(es) to stay under it. Raise sandbox_limits.max_memory if this is expected",
                self.memory >> 20,
                oom - self.start.1
            ));
        }
        out
    }
}

/// Fallback process cap for non-root users (root is exempt from `RLIMIT_NPROC`). Called in
/// the sandbox after the user namespace exists, where the count is per namespace.
pub(crate) fn set_nproc_rlimit(processes: u64) -> bool {
    if processes == 0 || unsafe { libc::geteuid() } == 0 {
        return false;
    }
    let lim = libc::rlimit {
        rlim_cur: processes,
        rlim_max: processes,
    };
    // SAFETY: valid pointer.
    unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &lim) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_unescape_and_join() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(
            join_hierarchy(Path::new("/sys/fs/cgroup/pids"), "/", "/x/y"),
            PathBuf::from("/sys/fs/cgroup/pids/x/y")
        );
        assert_eq!(
            join_hierarchy(Path::new("/sys/fs/cgroup"), "/ctr", "/ctr/x"),
            PathBuf::from("/sys/fs/cgroup/x")
        );
        assert_eq!(counter("max 3\n", "max "), 3);
        assert_eq!(counter("low 0\noom_kill 2\n", "oom_kill "), 2);
    }
}
