//! Nothing inherited: the command gets stdin, stdout and stderr and nothing else.

use crate::common::*;
use std::os::fd::AsRawFd;

#[test]
fn inherited_descriptors_are_closed() {
    let f = Fixture::new();
    let secret = f.outside.join("secret");
    std::fs::write(&secret, "top secret\n").unwrap();
    // An inheritable descriptor (no O_CLOEXEC), as a careless caller of wright might leave.
    let file = std::fs::File::open(&secret).unwrap();
    let fd = unsafe { libc::dup(file.as_raw_fd()) };
    assert!(fd > 2);
    let script = format!("cat <&{fd} | grep -q 'top secret'");
    f.assert_blocked("read an inherited fd", &script);
    let inside = f.sandboxed("ls /proc/self/fd | sort -n | tr '\\n' ' '");
    // ls itself holds one descriptor for the directory it lists.
    assert_eq!(
        text(&inside.stdout).trim(),
        "0 1 2 3",
        "{}",
        text(&inside.stderr)
    );
    unsafe { libc::close(fd) };
}
