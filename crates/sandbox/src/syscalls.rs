//! Layer: a seccomp-BPF filter (installed last, right before the command starts). Denied
//! calls fail with EPERM; everything else is allowed.
//!
//! Always denied: `ptrace`, `process_vm_readv`/`process_vm_writev` (other processes'
//! memory), `pidfd_getfd`, the mount family (`mount`, `umount2`, `mount_setattr`,
//! `move_mount`, `open_tree`, `fsopen`, `fsmount`, `fspick`, `fsconfig`, `pivot_root`: the
//! command holds capabilities inside its user namespace and must not undo the read-only
//! mounts), `setns`, the kernel keyring (`keyctl`, `add_key`, `request_key`), `io_uring_*`
//! (bypasses seccomp argument checks), `bpf`, `perf_event_open`, `userfaultfd`,
//! `open_by_handle_at`, module and kexec loading, `acct`, `swapon`/`swapoff`, `reboot`, and the
//! terminal-injection ioctls `TIOCSTI` and `TIOCLINUX`. On x86_64, x32-ABI system calls are
//! denied too (they would bypass the per-number rules).
//!
//! Network off: `socket` only for `AF_INET`/`AF_INET6`/`AF_NETLINK` and only inside a new
//! network namespace (where they reach nothing but the sandbox's own loopback); never for
//! `AF_UNIX`, so no Unix socket served from outside (tmux, docker, D-Bus, an ssh-agent) can be
//! reached, by path or abstract name. `socketpair(AF_UNIX)` keeps working.

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule,
};
use std::collections::BTreeMap;

// `Ioctl` is `c_ulong` with glibc but `c_int` with musl.
#[allow(clippy::unnecessary_cast)]
const TIOCSTI: u64 = libc::TIOCSTI as u64;
#[allow(clippy::unnecessary_cast)]
const TIOCLINUX: u64 = libc::TIOCLINUX as u64;

/// `network_off`: apply the socket rules; `netns`: the command is in a new, empty network
/// namespace.
pub(crate) fn build(network_off: bool, netns: bool) -> Result<BpfProgram, String> {
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| format!("seccomp: unsupported architecture: {e}"))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let always = [
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_mount_setattr,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_fsopen,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_fsconfig,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_pidfd_getfd,
        libc::SYS_setns,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_open_by_handle_at,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_acct,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_reboot,
    ];
    for nr in always {
        rules.insert(nr, vec![]);
    }
    let cond = |arg: u8, op: SeccompCmpOp, value: u64| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
            .map_err(|e| format!("seccomp: {e}"))
    };
    let rule = |c: SeccompCondition| SeccompRule::new(vec![c]).map_err(|e| format!("seccomp: {e}"));
    rules.insert(
        libc::SYS_ioctl,
        vec![
            rule(cond(1, SeccompCmpOp::Eq, TIOCSTI)?)?,
            rule(cond(1, SeccompCmpOp::Eq, TIOCLINUX)?)?,
        ],
    );
    if network_off {
        let socket_rules = if netns {
            // Deny unless the domain is one of the namespaced inet/netlink families.
            vec![SeccompRule::new(vec![
                cond(0, SeccompCmpOp::Ne, libc::AF_INET as u64)?,
                cond(0, SeccompCmpOp::Ne, libc::AF_INET6 as u64)?,
                cond(0, SeccompCmpOp::Ne, libc::AF_NETLINK as u64)?,
            ])
            .map_err(|e| format!("seccomp: {e}"))?]
        } else {
            vec![]
        };
        rules.insert(libc::SYS_socket, socket_rules);
        rules.insert(
            libc::SYS_socketpair,
            vec![rule(cond(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?)?],
        );
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    let mut program: BpfProgram = filter.try_into().map_err(|e| format!("seccomp: {e:?}"))?;
    if cfg!(target_arch = "x86_64") {
        // seccompiler starts with the 3-instruction architecture check; right after it,
        // deny every x32 system call (number with bit 30 set).
        const X32_SYSCALL_BIT: u32 = 0x4000_0000;
        let x32_guard = [
            // A = seccomp_data.nr
            sock_filter {
                code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
                jt: 0,
                jf: 0,
                k: 0,
            },
            // if A >= X32_SYSCALL_BIT: next, else skip the return
            sock_filter {
                code: (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16,
                jt: 0,
                jf: 1,
                k: X32_SYSCALL_BIT,
            },
            sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
            },
        ];
        if program.len() < 3 {
            return Err("seccomp: unexpected filter layout".into());
        }
        program.splice(3..3, x32_guard);
    }
    Ok(program)
}

/// Install `program` on the calling thread (the process is single-threaded when we exec).
pub(crate) fn install(program: &BpfProgram) -> Result<(), String> {
    seccompiler::apply_filter(program).map_err(|e| format!("seccomp: {e}"))
}
