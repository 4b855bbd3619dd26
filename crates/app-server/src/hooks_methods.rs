//! `hooks/list`: the hooks that apply in each working directory, with their trust. The runs
//! themselves are reported by the turn's event pump (`hook/started`, `hook/completed`).

use std::path::PathBuf;
use std::sync::Arc;

use wright_protocol::v2::{HooksListParams, HooksListResponse};

use crate::config_methods::load_config;
use crate::rpc::RpcResult;
use crate::state::State;

pub(crate) async fn hooks_list(
    state: &Arc<State>,
    p: HooksListParams,
) -> RpcResult<HooksListResponse> {
    let base = load_config(state).await?;
    let mut cwds: Vec<PathBuf> = p
        .cwds
        .unwrap_or_default()
        .into_iter()
        .map(PathBuf::from)
        .collect();
    if let Some(thread) = p.thread_id.as_deref() {
        let loaded = state.loaded_or_err(thread)?;
        let cwd = loaded.config.lock().ok().map(|c| c.cwd.clone());
        cwds.extend(cwd);
    }
    if cwds.is_empty() {
        cwds.push(base.cwd.clone());
    }
    let mut data = Vec::with_capacity(cwds.len());
    for cwd in cwds {
        let mut config = base.clone();
        config.set_cwd(cwd.clone());
        let entry = match wright_core::hooks::load(&config).await {
            Ok(hooks) => hooks.list_entry(&cwd),
            Err(why) => wright_protocol::v2::HooksListEntry {
                cwd: cwd.display().to_string(),
                hooks: Vec::new(),
                warnings: Vec::new(),
                errors: vec![wright_protocol::v2::HookErrorInfo {
                    path: config
                        .wright_home
                        .join("hooks-trust.json")
                        .display()
                        .to_string(),
                    message: why,
                }],
            },
        };
        data.push(entry);
    }
    Ok(HooksListResponse { data })
}
