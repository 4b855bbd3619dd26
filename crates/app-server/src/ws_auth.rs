//! Who may use the WebSocket listener. A listener is a door: any local process, and any web
//! page the user has open (browsers connect to localhost and send `Origin`), can reach it. So
//! by default a client must present the per-launch capability token (`Authorization: Bearer`
//! or, for browsers, a `token` query parameter); a request carrying an `Origin` is refused
//! unless that origin is allowed; and on a loopback listener the `Host` header must name
//! loopback too (DNS rebinding). A listener on a non-loopback address without authentication
//! is refused at start.

use std::net::SocketAddr;

/// The checks a WebSocket upgrade must pass.
#[derive(Debug, Clone)]
pub struct WsSecurity {
    /// SHA-256 of the accepted token; `None`: no token needed (loopback listeners only).
    token_sha256: Option<[u8; 32]>,
    allowed_origins: Vec<String>,
    loopback: bool,
}

/// Why an upgrade was refused: an HTTP status and a reason for the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WsAuthError {
    #[error("refusing to listen on {addr} without authentication: any machine that can reach it could run commands as you. Listen on 127.0.0.1, or keep --ws-auth capability-token")]
    OpenNonLoopback { addr: SocketAddr },
    #[error("--ws-token-sha256: expected 64 hexadecimal digits")]
    BadHash,
}

/// A fresh capability token: 32 random bytes, hex.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `token`.
pub fn token_sha256(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// `--ws-token-sha256 HEX`.
pub fn parse_sha256_hex(hex: &str) -> Result<[u8; 32], WsAuthError> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return Err(WsAuthError::BadHash);
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| WsAuthError::BadHash)?;
    }
    Ok(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `localhost`, `127.x.y.z`, `::1` (with or without a port and brackets).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map(|(h, _)| h)
            .unwrap_or(host)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

impl WsSecurity {
    /// `token_sha256: None` means no authentication, which only a loopback listener may use.
    pub fn new(
        addr: SocketAddr,
        token_sha256: Option<[u8; 32]>,
        allowed_origins: Vec<String>,
    ) -> Result<WsSecurity, WsAuthError> {
        let loopback = addr.ip().is_loopback();
        if token_sha256.is_none() && !loopback {
            return Err(WsAuthError::OpenNonLoopback { addr });
        }
        Ok(WsSecurity {
            token_sha256,
            allowed_origins,
            loopback,
        })
    }

    /// Checks one upgrade request: `Host`, `Origin`, then the token.
    pub fn check<B>(
        &self,
        req: &tokio_tungstenite::tungstenite::http::Request<B>,
    ) -> Result<(), Refusal> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if self.loopback {
            match header("host") {
                Some(host) if is_loopback_host(&host) => {}
                Some(host) => {
                    return Err(Refusal {
                        status: 403,
                        reason: format!("Host `{host}` is not loopback"),
                    })
                }
                None => {
                    return Err(Refusal {
                        status: 403,
                        reason: "no Host header".into(),
                    })
                }
            }
        }
        if let Some(origin) = header("origin") {
            if !self.allowed_origins.contains(&origin) {
                return Err(Refusal {
                    status: 403,
                    reason: format!("Origin `{origin}` is not allowed"),
                });
            }
        }
        let Some(expected) = &self.token_sha256 else {
            return Ok(());
        };
        let bearer = header("authorization").and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .map(|t| t.trim().to_string())
        });
        let query = req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token=").map(str::to_string))
        });
        match bearer.or(query) {
            Some(token) if constant_time_eq(&token_sha256(&token), expected) => Ok(()),
            Some(_) => Err(Refusal {
                status: 401,
                reason: "wrong token".into(),
            }),
            None => Err(Refusal {
                status: 401,
                reason:
                    "a capability token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)"
                        .into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::http::Request;

    fn req(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn token_origin_and_host() {
        let token = generate_token();
        assert_eq!(token.len(), 64);
        let addr: SocketAddr = "127.0.0.1:4500".parse().unwrap();
        let sec = WsSecurity::new(
            addr,
            Some(token_sha256(&token)),
            vec!["http://127.0.0.1:4501".into()],
        )
        .unwrap();
        let bearer = format!("Bearer {token}");
        assert!(sec
            .check(&req(
                "/",
                &[("host", "127.0.0.1:4500"), ("authorization", &bearer)]
            ))
            .is_ok());
        assert!(sec
            .check(&req(
                &format!("/?token={token}"),
                &[("host", "localhost:4500")]
            ))
            .is_ok());
        assert_eq!(
            sec.check(&req("/", &[("host", "127.0.0.1:4500")]))
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            sec.check(&req(
                "/",
                &[("host", "127.0.0.1:4500"), ("authorization", "Bearer nope")]
            ))
            .unwrap_err()
            .status,
            401
        );
        // DNS rebinding: a page on evil.example resolving to 127.0.0.1.
        assert_eq!(
            sec.check(&req(
                "/",
                &[("host", "evil.example:4500"), ("authorization", &bearer)]
            ))
            .unwrap_err()
            .status,
            403
        );
        // A web page, even with the token.
        assert_eq!(
            sec.check(&req(
                "/",
                &[
                    ("host", "127.0.0.1:4500"),
                    ("origin", "https://evil.example"),
                    ("authorization", &bearer)
                ]
            ))
            .unwrap_err()
            .status,
            403
        );
        assert!(sec
            .check(&req(
                "/",
                &[
                    ("host", "[::1]:4500"),
                    ("origin", "http://127.0.0.1:4501"),
                    ("authorization", &bearer)
                ]
            ))
            .is_ok());
    }

    #[test]
    fn open_listeners_only_on_loopback() {
        let any: SocketAddr = "0.0.0.0:4500".parse().unwrap();
        assert!(matches!(
            WsSecurity::new(any, None, vec![]),
            Err(WsAuthError::OpenNonLoopback { .. })
        ));
        assert!(WsSecurity::new(any, Some([0; 32]), vec![]).is_ok());
        let lo: SocketAddr = "127.0.0.1:4500".parse().unwrap();
        let open = WsSecurity::new(lo, None, vec![]).unwrap();
        assert!(open.check(&req("/", &[("host", "127.0.0.1:4500")])).is_ok());
        // Even without a token, browsers and rebinding stay out.
        assert!(open
            .check(&req(
                "/",
                &[("host", "127.0.0.1"), ("origin", "https://evil.example")]
            ))
            .is_err());
        assert!(open.check(&req("/", &[("host", "evil.example")])).is_err());
    }

    #[test]
    fn hashes_and_hosts() {
        let h = token_sha256("abc");
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_sha256_hex(&hex).unwrap(), h);
        assert!(parse_sha256_hex("xyz").is_err());
        for ok in [
            "localhost",
            "localhost:1",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:9",
            "::1",
            "a.localhost",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "10.0.0.1:80",
            "localhost.evil.example",
            "[::2]:1",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
