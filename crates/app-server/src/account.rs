//! `account/read`, `account/login/start` and `account/logout`: wright's account is an OpenAI
//! API key, stored in `$WRIGHT_HOME/auth.json` (mode 0600) and used by the providers that
//! take OpenAI credentials when the environment has none (see `wright_core::auth`). ChatGPT
//! and other login types are refused. The key is never logged or echoed.

use std::sync::Arc;

use wright_core::auth;
use wright_protocol::v2::{
    Account, AccountLoginCompletedNotification, AccountUpdatedNotification, AuthMode,
    GetAccountParams, GetAccountResponse, LoginAccountParams, LoginAccountResponse,
    LogoutAccountResponse, NoParams, ServerNotification,
};

use crate::config_methods::{blocking, load_config, notify};
use crate::conn::ConnHandle;
use crate::rpc::RpcError;
use crate::state::State;

/// `account/read`: whether an OpenAI key is there, and whether the provider in use wants one.
pub(crate) async fn account_read(
    state: &Arc<State>,
    _: GetAccountParams,
) -> Result<GetAccountResponse, RpcError> {
    let config = load_config(state).await?;
    let requires_openai_auth = config
        .providers
        .get(&config.provider_id)
        .is_some_and(|p| p.openai_auth);
    let has_key = current_auth_mode(state).await?.is_some();
    Ok(GetAccountResponse {
        account: has_key.then_some(Account::ApiKey {}),
        requires_openai_auth,
    })
}

/// `account/login/start`: stores an API key. Other login types are refused.
pub(crate) async fn account_login_start(
    state: &Arc<State>,
    params: LoginAccountParams,
) -> Result<LoginAccountResponse, RpcError> {
    let key = match params {
        LoginAccountParams::ApiKey { api_key } => api_key,
        other => {
            return Err(RpcError::invalid_request(format!(
                "wright supports API-key login only ({{\"type\": \"apiKey\", \"apiKey\": …}}); `{}` is not supported",
                other.kind()
            )))
        }
    };
    if !auth::valid_key(&key) {
        return Err(RpcError::invalid_params(
            "`apiKey`: must be 1 to 4096 bytes without spaces or control characters",
        ));
    }
    let home = state.options.wright_home.clone();
    blocking(move || auth::store_api_key(&home, &key))
        .await?
        .map_err(|e| RpcError::internal(format!("failed to save the API key: {e}")))?;
    Ok(LoginAccountResponse::ApiKey {})
}

/// `account/logout`: forgets the stored key (a key in the environment stays in use).
pub(crate) async fn account_logout(
    state: &Arc<State>,
    _: NoParams,
) -> Result<LogoutAccountResponse, RpcError> {
    let home = state.options.wright_home.clone();
    blocking(move || auth::remove_api_key(&home))
        .await?
        .map_err(|e| RpcError::internal(format!("failed to remove the API key: {e}")))?;
    Ok(LogoutAccountResponse {})
}

/// After a login has been answered: `account/login/completed`, then `account/updated`, as
/// Codex sends them.
pub(crate) async fn logged_in(state: &State, conn: &ConnHandle) {
    notify(
        conn,
        ServerNotification::AccountLoginCompleted(AccountLoginCompletedNotification {
            login_id: None,
            success: true,
            error: None,
        }),
    );
    account_updated(state, conn).await;
}

/// After a logout has been answered: `account/updated` (with the key still in use, if the
/// environment has one).
pub(crate) async fn logged_out(state: &State, conn: &ConnHandle) {
    account_updated(state, conn).await;
}

async fn account_updated(state: &State, conn: &ConnHandle) {
    let auth_mode = current_auth_mode(state).await.ok().flatten();
    notify(
        conn,
        ServerNotification::AccountUpdated(AccountUpdatedNotification {
            auth_mode,
            plan_type: None,
        }),
    );
}

/// `apikey` when OpenAI requests would carry a key (environment or stored).
async fn current_auth_mode(state: &State) -> Result<Option<AuthMode>, RpcError> {
    let home = state.options.wright_home.clone();
    let key = blocking(move || wright_core::config::openai_api_key(&home)).await?;
    Ok(key.map(|_| AuthMode::ApiKey))
}
