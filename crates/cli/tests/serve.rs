//! `wright serve` at the HTTP and WebSocket level: the real binary on a free loopback port.
//! The browser side is tested with Playwright (tests/web).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::Env;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

struct Serve {
    _child: tokio::process::Child,
    addr: String,
    token: String,
    stderr: String,
}

async fn serve(env: &Env) -> Serve {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"))
        .arg("serve")
        .current_dir(env.repo())
        .env("WRIGHT_HOME", env.home.path())
        .env("HOME", env.home.path())
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("wright serve printed no link")
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut err_lines = BufReader::new(stderr).lines();
    let mut stderr = String::new();
    while let Ok(Ok(Some(l))) =
        tokio::time::timeout(Duration::from_millis(300), err_lines.next_line()).await
    {
        stderr.push_str(&l);
        stderr.push('\n');
    }
    let url = line.trim();
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not a link: {url}"));
    let (addr, token) = rest
        .split_once("/#token=")
        .unwrap_or_else(|| panic!("no token in {url}"));
    assert!(addr.starts_with("127.0.0.1:"), "{url}");
    assert_eq!(token.len(), 64, "{url}");
    Serve {
        _child: child,
        addr: addr.into(),
        token: token.into(),
        stderr,
    }
}

/// One raw HTTP/1.1 request; the whole answer as text.
fn http(addr: &str, head: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Whether this wright has the UI compiled in; under CI it must.
fn ui_expected(page: &str) -> bool {
    let built = status(page) == 200;
    if !built {
        assert!(
            std::env::var("CI").is_err(),
            "the web UI is not built into this wright (run npm ci && npm run build in web/ before cargo build):\n{page}"
        );
        assert!(page.contains("npm run build"), "{page}");
    }
    built
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_page_with_a_strict_policy_to_loopback_hosts_only() {
    let env = Env::new(vec![]).await;
    let s = serve(&env).await;
    let page = http(&s.addr, &format!("GET / HTTP/1.1\r\nHost: {}\r\n", s.addr));
    for header in [
        "content-security-policy: default-src 'self'; connect-src 'self';",
        "x-frame-options: DENY",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
    ] {
        assert!(
            page.to_ascii_lowercase()
                .contains(&header.to_ascii_lowercase()),
            "{header} missing:\n{page}"
        );
    }
    if ui_expected(&page) {
        assert!(page.contains("<script"), "{page}");
        // Every script and stylesheet the page names is served from the binary, same origin.
        let body = page.split("\r\n\r\n").nth(1).unwrap_or("");
        for src in body
            .split(['"', '\''])
            .filter(|p| p.starts_with("/assets/"))
        {
            let asset = http(
                &s.addr,
                &format!("GET {src} HTTP/1.1\r\nHost: {}\r\n", s.addr),
            );
            assert_eq!(status(&asset), 200, "{src}");
            assert!(asset.contains("immutable"), "{src}: {asset:.300}");
        }
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no remote resources: {body}"
        );
    } else {
        assert!(s.stderr.contains("npm run build"), "{}", s.stderr);
    }
    // The same request naming another host (a DNS-rebound page) gets nothing.
    let rebound = http(&s.addr, "GET / HTTP/1.1\r\nHost: evil.example\r\n");
    assert_eq!(status(&rebound), 403, "{rebound}");
    let missing = http(&s.addr, "GET /nope.js HTTP/1.1\r\nHost: localhost\r\n");
    assert_eq!(status(&missing), 404, "{missing}");
    let post = http(
        &s.addr,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n",
    );
    assert_eq!(status(&post), 405, "{post}");
}

async fn ws(
    s: &Serve,
    token: Option<&str>,
    origin: Option<&str>,
) -> Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, u16> {
    let url = match token {
        Some(t) => format!("ws://{}/rpc?token={t}", s.addr),
        None => format!("ws://{}/rpc", s.addr),
    };
    let mut req = url.into_client_request().unwrap();
    if let Some(origin) = origin {
        req.headers_mut().insert("origin", origin.parse().unwrap());
    }
    let tcp = tokio::net::TcpStream::connect(&s.addr).await.unwrap();
    match tokio_tungstenite::client_async(req, tcp).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_needs_the_token_and_the_pages_own_origin() {
    let env = Env::new(vec![]).await;
    let s = serve(&env).await;
    let own = format!("http://{}", s.addr);
    let port = s.addr.rsplit(':').next().unwrap();
    let localhost = format!("http://localhost:{port}");

    // With the token and the page's own origin, the App Server answers.
    let mut ok = ws(&s, Some(&s.token), Some(&own))
        .await
        .expect("own origin + token");
    ok.send(Message::text(
        r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"t","version":"1"}}}"#,
    ))
    .await
    .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), ok.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        reply.to_text().unwrap().contains("\"userAgent\""),
        "{reply}"
    );
    assert!(ws(&s, Some(&s.token), Some(&localhost)).await.is_ok());
    // A client that sends no Origin (the TUI, scripts) only needs the token.
    assert!(ws(&s, Some(&s.token), None).await.is_ok());

    // Refused: no token, a wrong one, and another site's page even with the token.
    assert_eq!(ws(&s, None, Some(&own)).await.err(), Some(401));
    let wrong = "0".repeat(64);
    assert_eq!(ws(&s, Some(&wrong), Some(&own)).await.err(), Some(401));
    assert_eq!(
        ws(&s, Some(&s.token), Some("http://evil.example"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        ws(&s, Some(&s.token), Some("http://127.0.0.1:1"))
            .await
            .err(),
        Some(403)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_a_clear_error() {
    let env = Env::new(vec![]).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"))
        .args(["serve", "--port", &port])
        .current_dir(env.repo())
        .env("WRIGHT_HOME", env.home.path())
        .env("HOME", env.home.path())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

/// `--open` hands the desktop's opener a private file that redirects to the link: the token
/// never appears on a command line, where any user of the machine could read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_gives_the_browser_a_private_redirect_not_the_token() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(vec![]).await;
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("opened");
    let opener = bin.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {0}.argv\ncat \"$1\" > {0}.page\nstat -c %a \"$1\" > {0}.mode\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"))
        .args(["serve", "--open"])
        .current_dir(env.repo())
        .env("WRIGHT_HOME", env.home.path())
        .env("HOME", env.home.path())
        .env("PATH", &path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line),
    )
    .await
    .unwrap()
    .unwrap();
    let url = line.trim().to_string();
    let token = url.rsplit("#token=").next().unwrap().to_string();
    let mode = record.with_extension("mode");
    for _ in 0..100 {
        if mode.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let argv = std::fs::read_to_string(record.with_extension("argv")).expect("the opener ran");
    let page = std::fs::read_to_string(record.with_extension("page")).unwrap();
    assert!(
        !argv.contains(&token),
        "the token is on the opener's command line: {argv}"
    );
    assert!(argv.trim().ends_with(".html"), "{argv}");
    assert!(
        page.contains(&url),
        "the page does not lead to the link: {page}"
    );
    assert_eq!(std::fs::read_to_string(mode).unwrap().trim(), "600");
}
