use std::collections::BTreeMap;
use std::time::Duration;

/// Which API a provider speaks: one of OpenAI's over HTTP, or none at all for the model that
/// runs inside wright (`Local`; `base_url` is then the GGUF file's path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireApi {
    Responses,
    Chat,
    Local,
}

/// A model provider: where to send requests and how. Mirrors Codex's `model_providers.<id>`.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    /// e.g. `https://api.openai.com/v1`; paths are appended to it.
    pub base_url: String,
    pub wire_api: WireApi,
    /// The environment variable the bearer token came from (for messages).
    pub env_key: Option<String>,
    /// The bearer token, read from `env_key` when the config was loaded.
    pub api_key: Option<String>,
    pub query_params: BTreeMap<String, String>,
    pub http_headers: BTreeMap<String, String>,
    /// Header name -> environment variable holding its value.
    pub env_http_headers: BTreeMap<String, String>,
    pub request_max_retries: u32,
    pub stream_max_retries: u32,
    pub stream_idle_timeout: Duration,
}

impl Provider {
    pub const DEFAULT_REQUEST_MAX_RETRIES: u32 = 4;
    pub const DEFAULT_STREAM_MAX_RETRIES: u32 = 5;
    pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

    /// A provider for the embedded engine ([`WireApi::Local`]): its `base_url` is the GGUF
    /// file's path. Nothing to retry over: a local failure is not transient.
    pub fn local(name: &str, gguf: &std::path::Path) -> Provider {
        Provider {
            name: name.into(),
            base_url: gguf.display().to_string(),
            wire_api: WireApi::Local,
            env_key: None,
            api_key: None,
            query_params: BTreeMap::new(),
            http_headers: BTreeMap::new(),
            env_http_headers: BTreeMap::new(),
            request_max_retries: 0,
            stream_max_retries: 0,
            stream_idle_timeout: Self::DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    pub fn url(&self, path: &str) -> String {
        let mut url = format!("{}/{path}", self.base_url.trim_end_matches('/'));
        let mut sep = '?';
        for (k, v) in &self.query_params {
            url.push(sep);
            url.push_str(&encode(k));
            url.push('=');
            url.push_str(&encode(v));
            sep = '&';
        }
        url
    }

    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .http_headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (header, var) in &self.env_http_headers {
            if let Ok(value) = std::env::var(var) {
                if !value.is_empty() {
                    out.push((header.clone(), value));
                }
            }
        }
        out
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_query_params() {
        let p = Provider {
            name: "x".into(),
            base_url: "http://h/v1/".into(),
            wire_api: WireApi::Responses,
            env_key: None,
            api_key: None,
            query_params: BTreeMap::from([("api-version".into(), "2025 04".into())]),
            http_headers: BTreeMap::new(),
            env_http_headers: BTreeMap::new(),
            request_max_retries: 0,
            stream_max_retries: 0,
            stream_idle_timeout: Duration::from_secs(1),
        };
        assert_eq!(
            p.url("responses"),
            "http://h/v1/responses?api-version=2025%2004"
        );
    }
}
