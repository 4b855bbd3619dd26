//! Network off: nothing leaves, Unix sockets included.

use crate::common::*;
use std::io::Write;
use std::net::TcpListener;
#[allow(unused_imports)]
use std::path::Path;
use std::process::Command;
use wright_sandbox::{Mode, SandboxPolicy};

// ---------------------------------------------------------------- network

#[test]
fn host_listeners_are_unreachable() {
    let f = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { break };
            let _ = c.write_all(b"hello\n");
        }
    });
    f.assert_blocked(
        "bash /dev/tcp",
        &format!("exec 3<>/dev/tcp/127.0.0.1/{port}; head -1 <&3 | grep -q hello"),
    );
    f.assert_blocked(
        "python connect",
        &format!("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=5)'"),
    );
    // UDP to a host socket never arrives.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = udp.local_addr().unwrap().port();
    udp.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    let send = format!("python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b\"leak\", (\"127.0.0.1\", {uport}))'");
    let _ = f.sandboxed(&send);
    let mut buf = [0u8; 16];
    assert!(udp.recv(&mut buf).is_err(), "a datagram left the sandbox");
    assert!(f.unconfined(&send).status.success());
    assert_eq!(udp.recv(&mut buf).unwrap(), 4, "control datagram");
    // With the network allowed the same connection works inside the sandbox.
    let out = f.run(
        &f.policy(Mode::WorkspaceWrite, true),
        &format!("exec 3<>/dev/tcp/127.0.0.1/{port}; head -1 <&3"),
    );
    assert!(
        out.status.success() && text(&out.stdout).contains("hello"),
        "network=true: {}",
        text(&out.stderr)
    );
    // read-only never has network, whatever the policy says.
    let out = f.run(
        &SandboxPolicy::new(Mode::ReadOnly, vec![], true),
        &format!("exec 3<>/dev/tcp/127.0.0.1/{port}; head -1 <&3"),
    );
    assert!(!out.status.success(), "read-only reached the network");
}

#[test]
fn own_loopback_server_works() {
    let f = Fixture::new();
    f.assert_ok_inside(
        "loopback server",
        "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(); c=socket.create_connection(s.getsockname()); a,_=s.accept(); c.send(b\"x\"); assert a.recv(1)==b\"x\"'",
    );
}

#[test]
fn unix_sockets_served_from_outside_are_unreachable() {
    let f = Fixture::new();
    // A path socket served by this (unconfined) test process.
    let path = f.outside.join("svc.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { break };
            let _ = c.write_all(b"hello\n");
        }
    });
    let script = format!(
        "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect(\"{}\"); assert s.recv(5)==b\"hello\"'",
        path.display()
    );
    f.assert_blocked("path Unix socket", &script);
    // An abstract one.
    let name = unique("wright-abstract-");
    let py = format!(
        "import socket,time\ns=socket.socket(socket.AF_UNIX); s.bind(\"\\0{name}\"); s.listen()\nwhile True:\n  c,_=s.accept(); c.send(b\"hello\"); c.close()\n"
    );
    let mut server = Command::new("python3").args(["-c", &py]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let script = format!(
        "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect(\"\\0{name}\"); assert s.recv(5)==b\"hello\"'"
    );
    f.assert_blocked("abstract Unix socket", &script);
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn a_terminal_multiplexer_outside_cannot_be_driven() {
    let f = Fixture::new();
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is missing under CI");
        return;
    }
    let sock = f.outside.join("tmux.sock");
    let ok = Command::new("tmux")
        .arg("-S")
        .arg(&sock)
        .args(["new-session", "-d", "-s", "w", "sleep 60"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "cannot start tmux");
    let pwned = f.outside.join("pwned");
    let script = format!(
        "tmux -S {} new-window -d 'touch {}' && sleep 1 && test -e {}",
        sock.display(),
        pwned.display(),
        pwned.display()
    );
    let inside = f.sandboxed(&script);
    assert!(
        !inside.status.success() && !pwned.exists(),
        "tmux ran a command for the sandbox"
    );
    let outside = f.unconfined(&script);
    let _ = Command::new("tmux")
        .arg("-S")
        .arg(&sock)
        .arg("kill-server")
        .status();
    assert!(
        outside.status.success(),
        "control: {}",
        text(&outside.stderr)
    );
}

#[test]
fn ssh_agent_socket_is_not_passed_with_the_network_off() {
    let f = Fixture::new();
    let json = serde_json::to_string(&f.policy(Mode::WorkspaceWrite, false)).unwrap();
    let out = Command::new(EXE)
        .args([&json, "sh", "-c", "echo \"[$SSH_AUTH_SOCK]\""])
        .env("SSH_AUTH_SOCK", "/tmp/agent.sock")
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).trim(), "[]");
    let json = serde_json::to_string(&f.policy(Mode::WorkspaceWrite, true)).unwrap();
    let out = Command::new(EXE)
        .args([&json, "sh", "-c", "echo \"[$SSH_AUTH_SOCK]\""])
        .env("SSH_AUTH_SOCK", "/tmp/agent.sock")
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).trim(), "[/tmp/agent.sock]");
}

/// Name resolution fails inside. (This machine has no internet either, so there is no
/// control run: only the inside failure is asserted.)
#[test]
fn dns_resolution_fails() {
    let f = Fixture::new();
    let out = f.sandboxed("python3 -c 'import socket; socket.getaddrinfo(\"example.com\", 80)'");
    assert!(!out.status.success(), "getaddrinfo worked inside");
}

#[test]
fn unix_sockets_still_work_with_network_off() {
    let f = Fixture::new();
    f.assert_ok_inside(
        "socketpair",
        "python3 -c 'import socket; a, b = socket.socketpair(); a.send(b\"x\"); assert b.recv(1) == b\"x\"'",
    );
}
