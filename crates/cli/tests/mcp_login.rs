//! `wright mcp login|logout` through the real binary, against a real in-test OAuth server
//! (the one wright-mcp's tests use): the test reads the URL the command prints, plays the
//! browser, and checks the exit code and the stored file.

#[path = "../../mcp/tests/support/oauth_server.rs"]
mod oauth_server;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use oauth_server::{approve, param, visit, OAuthServer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const WRIGHT: &str = env!("CARGO_BIN_EXE_wright");

fn command(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(WRIGHT);
    command
        .args(args)
        .env("WRIGHT_HOME", home)
        .env("HOME", home)
        // No browser: the test is the browser.
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn write_config(home: &Path, url: &str) {
    let config = format!(
        "[mcp_servers.docs]\nurl = \"{url}\"\n\n[mcp_servers.local]\ncommand = \"my-server\"\n"
    );
    std::fs::write(home.join("config.toml"), config).unwrap();
}

/// Reads the child's stdout up to the authorization URL; the lines before it are returned too.
async fn printed_url(stdout: &mut BufReader<ChildStdout>) -> (Vec<String>, String) {
    let mut before = Vec::new();
    let read = async {
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).await.unwrap() > 0, "{before:?}");
            let line = line.trim_end().to_string();
            if line.starts_with("http") {
                return line;
            }
            before.push(line);
        }
    };
    let url = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the login URL is printed");
    (before, url)
}

/// Waits for the child: exit code, the rest of stdout, stderr.
async fn finish(mut child: Child, mut stdout: BufReader<ChildStdout>) -> (i32, String, String) {
    let mut rest = String::new();
    let mut stderr = String::new();
    let mut err = child.stderr.take().unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        stdout.read_to_string(&mut rest).await.unwrap();
        err.read_to_string(&mut stderr).await.unwrap();
    })
    .await
    .expect("the login ends");
    let status = child.wait().await.unwrap();
    (status.code().unwrap_or(-1), rest, stderr)
}

async fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = command(home, args).output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn login_stores_the_token_and_logout_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let server = OAuthServer::start().await;
    write_config(home, &server.url());

    let mut child = command(home, &["mcp", "login", "docs"]).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (before, url) = printed_url(&mut stdout).await;
    assert_eq!(
        before,
        ["Authorize `docs` by opening this URL in your browser:"]
    );
    assert!(
        url.starts_with(&format!("{}/authorize?", server.base)),
        "{url}"
    );

    let (status, page) = visit(&approve(&url).await).await;
    assert_eq!(status, 200, "{page}");
    let (code, rest, stderr) = finish(child, stdout).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rest, "\nSuccessfully logged in to MCP server 'docs'.\n");
    assert!(stderr.contains("(Browser launch failed"), "{stderr}");

    let path = home.join(".credentials/mcp/docs.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file["url"], server.url());
    let token = file["access_token"].as_str().unwrap();
    assert_eq!(server.call_mcp(token).await, 200);
    assert!(
        !stderr.contains(token) && !rest.contains(token),
        "tokens are never printed"
    );

    assert_eq!(
        run(home, &["mcp", "logout", "docs"]).await,
        (
            0,
            "Removed OAuth credentials for 'docs'.\n".into(),
            String::new()
        )
    );
    assert!(!path.exists());
    assert_eq!(
        run(home, &["mcp", "logout", "docs"]).await,
        (
            0,
            "No OAuth credentials stored for 'docs'.\n".into(),
            String::new()
        )
    );
}

#[tokio::test]
async fn a_denied_login_fails_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let server = OAuthServer::start().await;
    server.set(|s| s.deny = true);
    write_config(home, &server.url());

    let args = ["mcp", "login", "docs", "--scopes", "read,write"];
    let mut child = command(home, &args).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (_, url) = printed_url(&mut stdout).await;
    assert_eq!(
        param(&url, "scope").as_deref(),
        Some("read write offline_access")
    );
    let (status, _) = visit(&approve(&url).await).await;
    assert_eq!(status, 400);
    let (code, rest, stderr) = finish(child, stdout).await;
    assert_eq!(code, 1);
    assert!(!rest.contains("Successfully"), "{rest}");
    assert!(
        stderr.contains("login to MCP server 'docs' was denied: access_denied (the user said no)"),
        "{stderr}"
    );
    assert!(!home.join(".credentials/mcp/docs.json").exists());
}

#[tokio::test]
async fn login_and_logout_refuse_what_has_no_oauth() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    write_config(home, "http://127.0.0.1:1/mcp");

    let (code, out, err) = run(home, &["mcp", "login", "local"]).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "wright mcp: OAuth login is only supported for streamable HTTP servers; 'local' is a \
         stdio server.\n"
    );
    let (code, _, err) = run(home, &["mcp", "login", "nope"]).await;
    assert_eq!(code, 1);
    assert_eq!(err, "wright mcp: No MCP server named 'nope' found.\n");
    let (code, _, err) = run(home, &["mcp", "logout", "local"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "wright mcp: OAuth logout is only supported for streamable_http transports.\n"
    );
    let (code, _, err) = run(home, &["mcp", "login", "docs"]).await;
    assert_eq!(code, 1);
    assert!(
        err.starts_with("wright mcp: cannot reach MCP server 'docs'"),
        "{err}"
    );
    assert!(!home.join(".credentials").exists());
}
