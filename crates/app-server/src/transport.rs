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
pub async fn serve_ws(server: &AppServer, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "wright app-server listening on ws://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let conn = server.connect();
        tokio::spawn(async move {
            let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE_BYTES));
            let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
            else {
                return;
            };
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
        });
    }
}
