//! The HTTP side of `wright serve`: the page, its assets, and the WebSocket upgrade.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use wright_app_server::ws_auth::{is_loopback_host, WsSecurity};
use wright_app_server::{transport, AppServer, MAX_MESSAGE_BYTES};

use crate::assets;

/// What `serve` needs besides the server and the socket.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// SHA-256 of the per-launch capability token.
    pub token_sha256: [u8; 32],
}

/// The page may load its own scripts and styles and talk to its own origin, nothing else; it
/// may not be framed (clickjacking) and sends no referrer.
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; \
style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

type Body = Full<Bytes>;

/// Serves until the listener fails. `listener` must be bound to a loopback address: the
/// origins allowed to open the WebSocket are this listener's own.
pub async fn serve(
    server: AppServer,
    listener: TcpListener,
    options: WebOptions,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("wright serve listens on loopback only, not {addr}"),
        ));
    }
    let port = addr.port();
    let origins = vec![
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ];
    let security = WsSecurity::new(addr, Some(options.token_sha256), origins)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let security = Arc::new(security);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: the server stays up; try again shortly.
            Err(e) => {
                tracing::warn!("wright serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let server = server.clone();
        let security = Arc::clone(&security);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                let security = Arc::clone(&security);
                async move {
                    Ok::<_, Infallible>(with_security_headers(handle(req, &server, &security)))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = connection.await {
                tracing::debug!("wright serve: connection ended: {e}");
            }
        });
    }
}

fn handle(mut req: Request<Incoming>, server: &AppServer, security: &WsSecurity) -> Response<Body> {
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 names its own host.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if !host.is_some_and(is_loopback_host) {
        return plain(
            StatusCode::FORBIDDEN,
            "the Host header must name this machine's loopback address\n",
        );
    }
    if wants_websocket(&req) && req.method() == Method::GET {
        return upgrade(&mut req, server, security);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let head = req.method() == Method::HEAD;
    let path = req.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return plain(StatusCode::OK, "ok\n");
    }
    let Some(asset) = assets::find(path) else {
        if path == "/" || path == "/index.html" {
            return not_built_page();
        }
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    let mut resp = if fresh {
        empty(StatusCode::NOT_MODIFIED)
    } else if head {
        let mut resp = empty(StatusCode::OK);
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(asset.bytes.len()));
        resp
    } else {
        Response::new(Full::new(Bytes::from_static(asset.bytes)))
    };
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    // Vite names bundled files by their hash: they never change under one name.
    let cache = if path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

/// On every answer: the CSP, no MIME sniffing, no framing, no referrer, no cross-origin reads.
fn with_security_headers(mut resp: Response<Body>) -> Response<Body> {
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    resp
}

fn wants_websocket<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The WebSocket handshake: token, `Origin` and `Host` first ([`WsSecurity`]), then RFC 6455.
/// The connection is handed to the App Server once hyper has switched protocols.
fn upgrade(
    req: &mut Request<Incoming>,
    server: &AppServer,
    security: &WsSecurity,
) -> Response<Body> {
    if let Err(refusal) = security.check(req) {
        let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
        return plain(status, &format!("{}\n", refusal.reason));
    }
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let connection_upgrade = req
        .headers()
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let (Some(key), true, true) = (key, version_ok, connection_upgrade) else {
        let mut resp = plain(
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade needs Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key\n",
        );
        resp.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return resp;
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let Ok(accept) = HeaderValue::from_str(&accept) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "handshake failed\n");
    };
    let on_upgrade = hyper::upgrade::on(req);
    let server = server.clone();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!("wright serve: upgrade failed: {e}");
                return;
            }
        };
        let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE_BYTES));
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(config),
        )
        .await;
        transport::serve_ws_connection(&server, ws).await;
    });
    let mut resp = empty(StatusCode::SWITCHING_PROTOCOLS);
    let headers = resp.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    resp
}

fn not_built_page() -> Response<Body> {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>wright</title>\
         <p>wright serve is running, but {}.</p>\n",
        escape(assets::HOW_TO_BUILD)
    );
    let mut resp = Response::new(Full::new(Bytes::from(html)));
    *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(text.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}
