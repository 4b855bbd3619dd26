//! `GET {base_url}/models`: the model ids a provider serves, in OpenAI's list shape
//! (`{"object": "list", "data": [{"id": …, "object": "model", …}]}`).

use std::time::Duration;

use crate::{error_chain, ApiError, ModelClient};

/// A model list bigger than this is not a model list.
const MAX_BODY_BYTES: usize = 4 << 20;

impl ModelClient {
    /// The ids the provider lists, in its order, without duplicates. One attempt, bounded by
    /// `timeout` as a whole: callers that have a fallback should not wait on a slow server.
    pub async fn list_models(&self, timeout: Duration) -> Result<Vec<String>, ApiError> {
        let url = self.provider.url("models");
        match tokio::time::timeout(timeout, self.fetch_models(&url)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::retryable(format!(
                "no model list from {url} within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    async fn fetch_models(&self, url: &str) -> Result<Vec<String>, ApiError> {
        let mut req = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::USER_AGENT,
                concat!("wright/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(key) = &self.provider.api_key {
            req = req.bearer_auth(key);
        }
        for (name, value) in self.provider.headers() {
            req = req.header(name, value);
        }
        let mut response = req.send().await.map_err(|e| {
            ApiError::retryable(format!(
                "error sending request to {url}: {}",
                error_chain(&e)
            ))
        })?;
        if !response.status().is_success() {
            return Err(ApiError::from_status(response, url).await);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ApiError::retryable(format!("error reading {url}: {}", error_chain(&e))))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY_BYTES {
                return Err(ApiError::fatal(format!(
                    "the model list from {url} is over {MAX_BODY_BYTES} bytes"
                )));
            }
        }
        parse_model_list(&body)
            .ok_or_else(|| ApiError::fatal(format!("{url} did not answer with a model list")))
    }
}

/// The ids of an OpenAI model list; `None` when the body is not one.
fn parse_model_list(body: &[u8]) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let data = value.get("data")?.as_array()?;
    let mut ids: Vec<String> = Vec::with_capacity(data.len());
    for entry in data {
        if let Some(id) = entry.get("id").and_then(|v| v.as_str()) {
            let id = id.trim();
            if !id.is_empty() && !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
    }
    Some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Provider, WireApi};
    use wright_mock_model::{MockModel, Script, ServeOptions};

    fn provider(base_url: String, key: Option<&str>) -> Provider {
        Provider {
            name: "mock".into(),
            base_url,
            wire_api: WireApi::Chat,
            env_key: None,
            api_key: key.map(String::from),
            query_params: Default::default(),
            http_headers: [("x-extra".to_string(), "1".to_string())].into(),
            env_http_headers: Default::default(),
            request_max_retries: 0,
            stream_max_retries: 0,
            stream_idle_timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn lists_with_the_providers_credentials() {
        let options = ServeOptions {
            models: Some(vec!["a".into(), "b".into()]),
            ..Default::default()
        };
        let mock = MockModel::start_with(Script::Steps(vec![]), options)
            .await
            .unwrap();
        let client = ModelClient::new(provider(mock.base_url(), Some("sk-list"))).unwrap();
        let ids = client.list_models(Duration::from_secs(5)).await.unwrap();
        assert_eq!(ids, ["a", "b"]);
        let req = &mock.requests()[0];
        assert_eq!(req.path, "/v1/models");
        assert_eq!(req.header("authorization"), Some("Bearer sk-list"));
        assert_eq!(req.header("x-extra"), Some("1"));
    }

    #[tokio::test]
    async fn an_unreachable_provider_fails_fast() {
        // Bound and dropped at once: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client =
            ModelClient::new(provider(format!("http://127.0.0.1:{port}/v1"), None)).unwrap();
        let started = std::time::Instant::now();
        assert!(client.list_models(Duration::from_secs(5)).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn openai_list_shape() {
        let body = br#"{"object":"list","data":[
            {"id":"gpt-5.5","object":"model","created":1,"owned_by":"openai"},
            {"id":"o3","object":"model"},{"id":"o3"},{"object":"model"},{"id":" "}]}"#;
        assert_eq!(
            parse_model_list(body),
            Some(vec!["gpt-5.5".into(), "o3".into()])
        );
        assert_eq!(parse_model_list(br#"{"models":[]}"#), None);
        assert_eq!(parse_model_list(b"<html>"), None);
    }
}
