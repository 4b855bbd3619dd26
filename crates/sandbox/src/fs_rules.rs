//! Layer 4: Landlock (filesystem writes, TCP when the network is off, signal and abstract
//! Unix socket scoping).

use crate::policy::SandboxPolicy;
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// The newest ABI this code was written and tested against; newer kernels are used at this
/// level, older ones best-effort (see [`kernel_abi`] for what is actually enforced).
const TARGET_ABI: ABI = ABI::V7;

/// Character devices any command may open for writing (and ioctl, e.g. a terminal).
const WRITABLE_DEVICES: [&str; 8] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

/// The Landlock ABI version of the running kernel, or why there is none.
pub(crate) fn kernel_abi() -> Result<u32, String> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if rc >= 1 {
        return Ok(rc as u32);
    }
    let err = std::io::Error::last_os_error();
    Err(match err.raw_os_error() {
        Some(libc::ENOSYS) => "the kernel is built without Landlock (ENOSYS)".to_string(),
        Some(libc::EOPNOTSUPP) => {
            "Landlock is disabled at boot (EOPNOTSUPP; add `landlock` to the lsm= kernel parameter)"
                .to_string()
        }
        _ => format!("landlock_create_ruleset: {err}"),
    })
}

/// Restrict the calling thread (and what it execs). `extra_writable`: directories private to
/// the sandbox (its own `/dev/shm`). `deny_tcp`: no TCP bind/connect (when the network is off
/// and there is no network namespace to contain it). Returns notes on what this kernel does
/// not enforce (empty when everything is).
pub(crate) fn apply(
    policy: &SandboxPolicy,
    extra_writable: &[&str],
    deny_tcp: bool,
) -> Result<Vec<String>, String> {
    let abi = kernel_abi()?;
    let all = AccessFs::from_all(TARGET_ABI);
    let read = AccessFs::from_read(TARGET_ABI);
    let device: BitFlags<AccessFs> =
        AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;
    let err = |e: landlock::RulesetError| format!("Landlock: {e}");

    let mut ruleset = Ruleset::default().handle_access(all).map_err(err)?;
    if deny_tcp {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(TARGET_ABI))
            .map_err(err)?;
    }
    ruleset = ruleset.scope(Scope::from_all(TARGET_ABI)).map_err(err)?;
    let mut created = ruleset.create().map_err(err)?;
    let root = PathFd::new("/").map_err(|e| format!("Landlock: open /: {e}"))?;
    created = created
        .add_rule(PathBeneath::new(root, read))
        .map_err(err)?;
    for dev in WRITABLE_DEVICES {
        // Missing devices are skipped.
        if let Ok(fd) = PathFd::new(dev) {
            created = created
                .add_rule(PathBeneath::new(fd, device))
                .map_err(err)?;
        }
    }
    for dir in extra_writable {
        if let Ok(fd) = PathFd::new(dir) {
            created = created.add_rule(PathBeneath::new(fd, all)).map_err(err)?;
        }
    }
    for dir in policy.effective_writable_roots() {
        // Roots that do not exist are skipped (nothing to write to).
        if let Ok(fd) = PathFd::new(dir) {
            let access = if std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
                all
            } else {
                AccessFs::from_file(TARGET_ABI)
            };
            created = created
                .add_rule(PathBeneath::new(fd, access))
                .map_err(err)?;
        }
    }
    let status = created.restrict_self().map_err(err)?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(format!(
            "Landlock ruleset not enforced (kernel Landlock ABI {abi}, status {:?})",
            status.landlock
        ));
    }
    Ok(missing_features(abi, !deny_tcp))
}

/// What a kernel with Landlock ABI `abi` does not enforce.
pub(crate) fn missing_features(abi: u32, network: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if abi < 2 {
        notes.push("Landlock ABI < 2: files cannot be linked or renamed across directories even inside the writable roots".into());
    }
    if abi < 3 {
        notes.push(
            "Landlock ABI < 3: truncate(2) outside the writable roots is not restricted".into(),
        );
    }
    if abi < 4 && !network {
        notes.push(
            "Landlock ABI < 4: no Landlock TCP rules (seccomp still blocks the network)".into(),
        );
    }
    if abi < 5 {
        notes.push("Landlock ABI < 5: device ioctls are not restricted".into());
    }
    if abi < 6 {
        notes.push("Landlock ABI < 6: without a PID namespace the command could signal processes outside the sandbox".into());
    }
    notes
}
