//! Moving lines between a [`Connection`](crate::Connection) and the outside world.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use crate::{AppServer, MAX_MESSAGE_BYTES};

/// JSONL over stdin/stdout until stdin closes.
pub async fn serve_stdio(server: &AppServer) -> std::io::Result<()> {
    let mut conn = server.connect();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = conn.outgoing.recv().await {
            if stdout.write_all(line.as_bytes()).await.is_err()
                || stdout.write_all(b"\n").await.is_err()
                || stdout.flush().await.is_err()
            {
                break;
            }
        }
    });
    let mut reader = BufReader::new(tokio::io::stdin());
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // Read at most one byte past the limit, so a huge line cannot exhaust memory; the
        // rest of it is skipped.
        let n = (&mut reader)
            .take(MAX_MESSAGE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            break;
        }
        let too_long = buf.len() > MAX_MESSAGE_BYTES && buf.last() != Some(&b'\n');
        if too_long {
            let mut skip = Vec::new();
            reader.read_until(b'\n', &mut skip).await?;
        }
        let line = String::from_utf8_lossy(&buf)
            .trim_end_matches(['\n', '\r'])
            .to_string();
        if conn.incoming.send(line).await.is_err() {
            break;
        }
    }
    drop(conn.incoming);
    // Turns this client started are being stopped; give them a moment to report, then go.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
    Ok(())
}

/// WebSocket on `addr`: one connection per client, text frames carry one message each.
/// Every upgrade must pass `security` (token, `Origin`, `Host`); `GET /readyz` and
/// `GET /healthz` answer 200 without it, as Codex's do.
pub async fn serve_ws(
    server: &AppServer,
    addr: SocketAddr,
    security: crate::ws_auth::WsSecurity,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "wright app-server listening on ws://{}",
        listener.local_addr()?
    );
    let security = std::sync::Arc::new(security);
    loop {
        let (stream, _) = listener.accept().await?;
        let server = server.clone();
        let security = std::sync::Arc::clone(&security);
        tokio::spawn(async move {
            if answer_health_check(&stream).await {
                return;
            }
            let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE_BYTES));
            // The signature is tungstenite's callback type.
            #[allow(clippy::result_large_err)]
            let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                match security.check(req) {
                    Ok(()) => Ok(resp),
                    Err(refusal) => {
                        let mut e = ErrorResponse::new(Some(format!("{}\n", refusal.reason)));
                        *e.status_mut() =
                            tokio_tungstenite::tungstenite::http::StatusCode::from_u16(
                                refusal.status,
                            )
                            .unwrap_or(tokio_tungstenite::tungstenite::http::StatusCode::FORBIDDEN);
                        Err(e)
                    }
                }
            };
            let Ok(ws) =
                tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await
            else {
                return;
            };
            // Only an authorised client gets a connection.
            serve_ws_connection(&server, ws).await;
        });
    }
}

/// One WebSocket client until it leaves: text frames in, one message each; lines out. The
/// caller has authenticated the client (see [`crate::ws_auth`]).
pub async fn serve_ws_connection<S>(server: &AppServer, ws: tokio_tungstenite::WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let conn = server.connect();
    let (mut sink, mut source) = ws.split();
    let crate::Connection {
        incoming,
        mut outgoing,
    } = conn;
    let writer = tokio::spawn(async move {
        while let Some(line) = outgoing.recv().await {
            if sink.send(Message::text(line)).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = source.next().await {
        let text = match message {
            Message::Text(text) => text.to_string(),
            Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Message::Close(_) => break,
            _ => continue,
        };
        if incoming.send(text).await.is_err() {
            break;
        }
    }
    drop(incoming);
    writer.abort();
}

/// The control socket: WebSocket frames straight over a Unix socket (no HTTP handshake), as
/// Codex's `--listen unix://PATH`. The socket is the user's alone: its directory is made 0700
/// and the socket 0600, so no token is asked. A live socket at `path` is an error (another
/// server); a stale one is replaced.
pub async fn serve_unix(server: &AppServer, path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("another app-server is listening on {}", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    eprintln!("wright app-server listening on unix://{}", path.display());
    loop {
        let (stream, _) = listener.accept().await?;
        let server = server.clone();
        tokio::spawn(async move {
            let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE_BYTES));
            let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                stream,
                tokio_tungstenite::tungstenite::protocol::Role::Server,
                Some(config),
            )
            .await;
            serve_ws_connection(&server, ws).await;
        });
    }
}

type Request = tokio_tungstenite::tungstenite::handshake::server::Request;
type Response = tokio_tungstenite::tungstenite::handshake::server::Response;
type ErrorResponse = tokio_tungstenite::tungstenite::handshake::server::ErrorResponse;

/// `GET /readyz` or `GET /healthz` (no upgrade): answered 200 here. Looks at the request
/// without consuming it otherwise.
async fn answer_health_check(stream: &tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 64];
    let mut n = 0;
    for _ in 0..100 {
        n = match stream.peek(&mut buf).await {
            Ok(n) => n,
            Err(_) => return false,
        };
        if n == 0 || buf[..n].contains(&b'\n') || n == buf.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let line = String::from_utf8_lossy(&buf[..n]);
    let health = [
        "GET /readyz ",
        "GET /healthz ",
        "GET /readyz?",
        "GET /healthz?",
    ]
    .iter()
    .any(|p| line.starts_with(p));
    if !health {
        return false;
    }
    // Read the request head, then answer and close.
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.try_read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => {
                head.extend_from_slice(&chunk[..k]);
                if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() > 16 * 1024 {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if stream.readable().await.is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
    let mut written = 0;
    while written < reply.len() {
        match stream.try_write(&reply[written..]) {
            Ok(k) => written += k,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if stream.writable().await.is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    true
}
