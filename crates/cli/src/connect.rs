//! `wright --connect URL`: the TUI attached to a running `wright app-server` instead of one in
//! this process. `unix://PATH` speaks WebSocket frames straight over the (owner-only) socket;
//! `ws://HOST:PORT` does the HTTP upgrade with the server's capability token.

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The environment variable that carries a ws:// server's token (never on the command line,
/// where other users could read it in the process list).
pub const TOKEN_ENV: &str = "WRIGHT_APP_SERVER_TOKEN";

/// Connects to `url`; the token comes from `token_file` or [`TOKEN_ENV`].
pub async fn connect(
    url: &str,
    token_file: Option<&std::path::Path>,
) -> anyhow::Result<wright_tui::Lines> {
    let config =
        WebSocketConfig::default().max_message_size(Some(wright_app_server::MAX_MESSAGE_BYTES));
    if let Some(path) = url.strip_prefix("unix://") {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .with_context(|| format!("cannot connect to the app-server at {url}"))?;
        let ws = WebSocketStream::from_raw_socket(stream, Role::Client, Some(config)).await;
        return Ok(pump(ws));
    }
    if !url.starts_with("ws://") {
        bail!("--connect {url}: expected unix://PATH or ws://HOST:PORT");
    }
    let token = match token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --token-file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty()),
    };
    let mut request = url
        .into_client_request()
        .with_context(|| format!("--connect {url} is not a WebSocket address"))?;
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .context("the token is not usable in an HTTP header")?;
        request.headers_mut().insert("Authorization", value);
    }
    let host = request.uri().host().unwrap_or("127.0.0.1").to_string();
    let port = request.uri().port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("cannot connect to the app-server at {url}"))?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(response)
                if response.status().as_u16() == 401 =>
            {
                anyhow::anyhow!(
                    "the app-server at {url} refused the connection: it needs its token (set {TOKEN_ENV} or pass --token-file)"
                )
            }
            e => anyhow::anyhow!("the WebSocket handshake with {url} failed: {e}"),
        })?;
    Ok(pump(ws))
}

/// Text frames to and from the TUI's line channels, one message each.
fn pump<S>(ws: WebSocketStream<S>) -> wright_tui::Lines
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (to_server, mut from_tui) = mpsc::unbounded_channel::<String>();
    let (to_tui, from_server) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(line) = from_tui.recv().await {
            if sink.send(Message::text(line)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            let line = match message {
                Message::Text(text) => text.to_string(),
                Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Message::Close(_) => break,
                _ => continue,
            };
            if to_tui.send(line).is_err() {
                break;
            }
        }
        // Dropping `to_tui` tells the TUI the server is gone.
    });
    wright_tui::Lines {
        tx: to_server,
        rx: from_server,
    }
}
