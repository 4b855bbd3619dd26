//! The loopback redirect listener (RFC 8252 §7.3): `http://127.0.0.1:<random port>/callback`,
//! where the browser lands after the user approves (or denies) the login.
//!
//! Only a redirect carrying the `state` this login sent is believed. Anything else a local
//! process or a stale browser tab sends is answered with an error page and ignored, so it can
//! neither complete nor abort the login; the count of such redirects is kept so a login that
//! then times out can say what it saw.

use std::time::Duration;

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The redirect's path.
const CALLBACK_PATH: &str = "/callback";
/// A request head larger than this is not a browser's redirect.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long one connection may take to send its request head (browsers open idle
/// connections ahead of time; they must not hold up the others).
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct CallbackListener {
    listener: TcpListener,
    pub redirect_uri: String,
}

/// A redirect with the expected `state`.
pub(crate) enum Callback {
    /// The user approved: exchange `code`. `issuer` is RFC 9207's `iss`, when sent.
    Code {
        code: String,
        issuer: Option<String>,
    },
    /// The authorization server said no (`error`, e.g. `access_denied`).
    Error {
        error: String,
        description: Option<String>,
    },
}

/// Why no usable redirect arrived.
pub(crate) struct NoCallback {
    /// Redirects that carried another `state` (or none).
    pub wrong_state: usize,
}

impl CallbackListener {
    /// Listens on 127.0.0.1 at a port the kernel picks; never on other interfaces, so only
    /// this machine can reach it.
    pub async fn bind() -> std::io::Result<CallbackListener> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(CallbackListener {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
        })
    }

    /// Serves requests until a redirect with `state` arrives (returned with its connection,
    /// which the caller answers once it knows how the login ended) or `deadline` passes.
    pub async fn wait(
        &self,
        state: &str,
        deadline: Instant,
    ) -> Result<(Callback, TcpStream), NoCallback> {
        let (tx, mut rx) = mpsc::channel::<(TcpStream, String)>(8);
        let mut wrong_state = 0;
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((mut stream, _)) = accepted else { continue };
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        if let Ok(Some(target)) =
                            tokio::time::timeout(HEAD_TIMEOUT, read_target(&mut stream)).await
                        {
                            let _ = tx.send((stream, target)).await;
                        }
                    });
                }
                Some((mut stream, target)) = rx.recv() => {
                    match classify(&target, state) {
                        Request::Callback(callback) => return Ok((callback, stream)),
                        Request::WrongState => {
                            wrong_state += 1;
                            respond(&mut stream, 400, "This login link is stale or was not \
                                started by wright (state mismatch). Nothing was stored.").await;
                        }
                        Request::Malformed => {
                            respond(&mut stream, 400, "Not an OAuth redirect.").await;
                        }
                        Request::NotFound => respond(&mut stream, 404, "Not found.").await,
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return Err(NoCallback { wrong_state }),
            }
        }
    }
}

enum Request {
    Callback(Callback),
    WrongState,
    Malformed,
    NotFound,
}

fn classify(target: &str, expected_state: &str) -> Request {
    // Origin-form targets only (`/callback?...`); the base makes them parseable.
    if !target.starts_with('/') {
        return Request::Malformed;
    }
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Request::Malformed;
    };
    if url.path() != CALLBACK_PATH {
        return Request::NotFound;
    }
    let mut code = None;
    let mut state = None;
    let mut issuer = None;
    let mut error = None;
    let mut description = None;
    for (key, value) in url.query_pairs() {
        let slot = match key.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "iss" => &mut issuer,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    // An error redirect must carry the state too (RFC 6749 §4.1.2.1), or anyone on this
    // machine could abort the user's login.
    if state.as_deref() != Some(expected_state) {
        return Request::WrongState;
    }
    match (code, error) {
        (_, Some(error)) => Request::Callback(Callback::Error { error, description }),
        (Some(code), None) => Request::Callback(Callback::Code { code, issuer }),
        (None, None) => Request::Malformed,
    }
}

/// The request target of a `GET` request, or `None` for anything else.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD_BYTES {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    (method == "GET").then(|| target.to_string())
}

/// Answers the browser with a short page and closes the connection.
pub(crate) async fn respond(stream: &mut TcpStream, status: u16, message: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Error",
    };
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>wright</title><p>{}</p>\n",
        html_escape(message)
    );
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

// The page can quote the authorization server's error text: it must not become markup.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_expected_state_is_believed() {
        assert!(matches!(
            classify("/callback?code=c&state=s1", "s1"),
            Request::Callback(Callback::Code { .. })
        ));
        assert!(matches!(
            classify("/callback?code=c&state=s2", "s1"),
            Request::WrongState
        ));
        assert!(matches!(
            classify("/callback?code=c", "s1"),
            Request::WrongState
        ));
        assert!(matches!(
            classify("/callback?error=access_denied", "s1"),
            Request::WrongState
        ));
        assert!(matches!(
            classify("/callback?error=access_denied&state=s1", "s1"),
            Request::Callback(Callback::Error { .. })
        ));
        assert!(matches!(
            classify("/callback?state=s1", "s1"),
            Request::Malformed
        ));
        assert!(matches!(classify("/favicon.ico", "s1"), Request::NotFound));
        assert!(matches!(
            classify("http://evil/callback?code=c&state=s1", "s1"),
            Request::Malformed
        ));
    }
}
