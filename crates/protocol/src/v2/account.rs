//! `account/read`, `account/login/start` and `account/logout`, and the notifications they
//! send. wright supports API-key login only.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetAccountParams {
    /// ChatGPT token refresh; API keys have nothing to refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<bool>,
}

/// Result of `account/read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetAccountResponse {
    /// The credentials the OpenAI provider uses, or `null` when there are none.
    pub account: Option<Account>,
    /// Whether the current provider authenticates with OpenAI credentials.
    pub requires_openai_auth: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Account {
    /// An OpenAI API key (stored by `account/login/start` or from the environment).
    ApiKey {},
}

/// Params of `account/login/start`: every login type Codex defines parses, so that the
/// unsupported ones get a clear "API-key login only" error rather than a parse error.
///
/// `Debug` never prints a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LoginAccountParams {
    #[serde(rename_all = "camelCase")]
    ApiKey {
        api_key: String,
    },
    #[serde(rename_all = "camelCase")]
    Chatgpt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        app_brand: Option<LoginAppBrand>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        codex_streamlined_login: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        use_hosted_login_success_page: Option<bool>,
    },
    ChatgptDeviceCode,
    #[serde(rename_all = "camelCase")]
    ChatgptAuthTokens {
        access_token: String,
        chatgpt_account_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chatgpt_plan_type: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    AmazonBedrock {
        api_key: String,
        region: String,
    },
    #[serde(rename_all = "camelCase")]
    AmazonBedrockAccessKeys {
        access_key_id: String,
        secret_access_key: String,
        region: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_token: Option<String>,
    },
}

impl LoginAccountParams {
    /// The wire `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            LoginAccountParams::ApiKey { .. } => "apiKey",
            LoginAccountParams::Chatgpt { .. } => "chatgpt",
            LoginAccountParams::ChatgptDeviceCode => "chatgptDeviceCode",
            LoginAccountParams::ChatgptAuthTokens { .. } => "chatgptAuthTokens",
            LoginAccountParams::AmazonBedrock { .. } => "amazonBedrock",
            LoginAccountParams::AmazonBedrockAccessKeys { .. } => "amazonBedrockAccessKeys",
        }
    }
}

impl fmt::Debug for LoginAccountParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoginAccountParams::{} {{ <redacted> }}", self.kind())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum LoginAppBrand {
    Codex,
    Chatgpt,
}

/// Result of `account/login/start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LoginAccountResponse {
    /// The key is stored; `account/login/completed` and `account/updated` follow.
    ApiKey {},
}

/// Result of `account/logout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct LogoutAccountResponse {}

/// `account/login/completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountLoginCompletedNotification {
    /// `null` for API-key logins (they complete at once).
    pub login_id: Option<String>,
    pub success: bool,
    pub error: Option<String>,
}

/// `account/updated`: the credentials changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountUpdatedNotification {
    /// `null` when there are no credentials any more.
    pub auth_mode: Option<AuthMode>,
    /// ChatGPT plans only; always `null` for API keys.
    pub plan_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AuthMode {
    #[serde(rename = "apikey")]
    ApiKey,
    #[serde(rename = "chatgpt")]
    Chatgpt,
}

#[cfg(test)]
mod tests {
    use super::super::{parse_client_request, ClientRequest, NoParams};
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_never_shows_the_key() {
        let p: LoginAccountParams =
            serde_json::from_value(json!({"type": "apiKey", "apiKey": "sk-secret-123"})).unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("apiKey"), "{shown}");
    }

    #[test]
    fn no_params_methods_take_absent_null_or_empty_params() {
        for params in [None, Some(json!(null)), Some(json!({}))] {
            assert_eq!(
                parse_client_request("account/logout", params.clone()),
                Ok(ClientRequest::AccountLogout(NoParams)),
                "{params:?}"
            );
        }
        let err =
            parse_client_request("configRequirements/read", Some(json!({"x": 1}))).unwrap_err();
        assert!(err.to_string().contains("takes no params"), "{err}");
        // Methods with params still need them.
        assert!(parse_client_request("account/login/start", None).is_err());
    }
}
