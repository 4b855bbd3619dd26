//! `skills/list`, `skills/config/write`, `skills/extraRoots/set`, and `skills/changed` when
//! skill files change. Discovery reads a few bytes per `SKILL.md` and runs off the async
//! threads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wright_core::config::Config;
use wright_core::config_edit::{self, Edit, Strategy};
use wright_protocol::v2::{
    ServerNotification, SkillErrorInfo, SkillMetadata, SkillScope, SkillsChangedNotification,
    SkillsConfigWriteParams, SkillsConfigWriteResponse, SkillsExtraRootsSetParams,
    SkillsExtraRootsSetResponse, SkillsListEntry, SkillsListParams, SkillsListResponse,
};
use wright_skills::{Discovery, SkillConfigEntry};

use crate::config_methods::{blocking, home_and_overrides, load_config};
use crate::rpc::{RpcError, RpcResult};
use crate::state::State;

/// How often skill folders are checked for changes (a stat per `SKILL.md`).
const WATCH_EVERY: Duration = Duration::from_secs(2);

fn scope(scope: wright_skills::SkillScope) -> SkillScope {
    match scope {
        wright_skills::SkillScope::User => SkillScope::User,
        wright_skills::SkillScope::Repo => SkillScope::Repo,
        wright_skills::SkillScope::System => SkillScope::System,
        wright_skills::SkillScope::Admin => SkillScope::Admin,
    }
}

fn entry(cwd: &std::path::Path, found: Discovery) -> SkillsListEntry {
    SkillsListEntry {
        cwd: cwd.display().to_string(),
        skills: found
            .skills
            .into_iter()
            .map(|s| SkillMetadata {
                name: s.name,
                description: s.description,
                short_description: s.short_description,
                path: s.path.display().to_string(),
                scope: scope(s.scope),
                enabled: s.enabled,
            })
            .collect(),
        errors: found
            .errors
            .into_iter()
            .map(|e| SkillErrorInfo {
                path: e.path.display().to_string(),
                message: e.message,
            })
            .collect(),
    }
}

/// The server's config as a thread in `cwd` would see its skills.
fn config_in(base: &Config, cwd: PathBuf, extra: &[PathBuf]) -> Config {
    let mut config = base.clone();
    config.set_cwd(cwd);
    config.skills_extra_roots = extra.to_vec();
    config
}

pub(crate) async fn skills_list(
    state: &Arc<State>,
    p: SkillsListParams,
) -> RpcResult<SkillsListResponse> {
    let base = load_config(state).await?;
    let extra = state.skills_extra_roots();
    let cwds: Vec<PathBuf> = match p.cwds {
        Some(cwds) if !cwds.is_empty() => cwds.into_iter().map(PathBuf::from).collect(),
        _ => vec![base.cwd.clone()],
    };
    let data = blocking(move || {
        cwds.into_iter()
            .map(|cwd| {
                let config = config_in(&base, cwd.clone(), &extra);
                entry(&cwd, wright_core::skills::discover(&config))
            })
            .collect()
    })
    .await?;
    Ok(SkillsListResponse { data })
}

pub(crate) async fn skills_config_write(
    state: &Arc<State>,
    p: SkillsConfigWriteParams,
) -> RpcResult<SkillsConfigWriteResponse> {
    let selector = match (&p.path, &p.name) {
        (Some(path), None) => SkillConfigEntry {
            path: Some(PathBuf::from(path)),
            name: None,
            enabled: p.enabled,
        },
        (None, Some(name)) => SkillConfigEntry {
            path: None,
            name: Some(name.clone()),
            enabled: p.enabled,
        },
        _ => {
            return Err(RpcError::invalid_params(
                "give exactly one of `path` (a skill's SKILL.md) and `name`",
            ))
        }
    };
    let base = load_config(state).await?;
    // The user's switches, this skill's replaced by the new one (last entry wins).
    let mut entries: Vec<SkillConfigEntry> = base
        .skills
        .config
        .iter()
        .filter(|e| !(e.path == selector.path && e.name == selector.name))
        .cloned()
        .collect();
    entries.push(selector.clone());
    let value = serde_json::to_value(&entries).map_err(|e| RpcError::internal(e.to_string()))?;
    let (home, overrides) = home_and_overrides(state);
    let edit = Edit {
        key_path: "skills.config".into(),
        value,
        strategy: Strategy::Replace,
    };
    let outcome =
        blocking(move || config_edit::write_user_config(&home, &overrides, None, None, &[edit]))
            .await?
            .map_err(|e| RpcError::invalid_request(format!("config: {e}")))?;
    let config = outcome.config;
    let extra = state.skills_extra_roots();
    let effective = blocking(move || {
        let config = config_in(&config, config.cwd.clone(), &extra);
        let found = wright_core::skills::discover(&config);
        let picked = found
            .skills
            .iter()
            .find(|s| match (&selector.path, &selector.name) {
                (Some(path), _) => same_file(&s.path, path),
                (_, Some(name)) => &s.name == name,
                _ => false,
            });
        picked.map(|s| s.enabled)
    })
    .await?;
    Ok(SkillsConfigWriteResponse {
        effective_enabled: effective.unwrap_or(p.enabled),
    })
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

pub(crate) async fn skills_extra_roots_set(
    state: &Arc<State>,
    p: SkillsExtraRootsSetParams,
) -> RpcResult<SkillsExtraRootsSetResponse> {
    let roots: Vec<PathBuf> = p.extra_roots.into_iter().map(PathBuf::from).collect();
    if let Some(bad) = roots.iter().find(|r| !r.is_absolute()) {
        return Err(RpcError::invalid_params(format!(
            "`extraRoots` must be absolute paths: {}",
            bad.display()
        )));
    }
    state.set_skills_extra_roots(roots);
    Ok(SkillsExtraRootsSetResponse {})
}

/// Watches the skill folders of the server's cwd and of every loaded thread, and tells every
/// connection `skills/changed` when a `SKILL.md` appears, goes or changes. Polls the
/// folders' fingerprint (a stat per file): it sees new folders without a watch per folder.
pub(crate) fn watch(state: &Arc<State>) {
    use std::sync::atomic::Ordering;
    if state.skills_watch.swap(true, Ordering::AcqRel) {
        return;
    }
    // Weak: the watch ends with the server.
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut last: Option<u64> = None;
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            let Some(state) = weak.upgrade() else {
                return;
            };
            let Ok(base) = load_config(&state).await else {
                continue;
            };
            let mut cwds: Vec<PathBuf> = vec![base.cwd.clone()];
            cwds.extend(state.loaded_cwds());
            cwds.sort();
            cwds.dedup();
            let extra = state.skills_extra_roots();
            let Ok(print) = blocking(move || {
                cwds.iter().fold(0u64, |acc, cwd| {
                    let config = config_in(&base, cwd.clone(), &extra);
                    let options = wright_core::skills::options(&config);
                    acc.rotate_left(7) ^ wright_skills::fingerprint(&options)
                })
            })
            .await
            else {
                continue;
            };
            if last.is_some_and(|l| l != print) {
                state.broadcast_all(&ServerNotification::SkillsChanged(
                    SkillsChangedNotification {},
                ));
            }
            last = Some(print);
        }
    });
}
