//! End-to-end trust: project hooks run only once trusted, and again only after a change is
//! trusted; the trust file survives restarts.

mod common;

use common::{command, dispatch, group, quoted, Env};
use serde_json::json;
use wright_hooks::{HookEvent, HookProgress, HookTrustStatus, TrustPolicy};

#[tokio::test]
async fn untrusted_project_hook_is_skipped_until_trusted_and_again_when_changed() {
    let env = Env::new();
    let marker = env.file("project-hook-ran");
    let hook = |cmd: &str| json!({ "PreToolUse": [group(Some("Bash"), vec![command(cmd)])] });
    env.project_hooks(hook(&format!("touch {}", quoted(&marker))));

    let mut hooks = env.load().await;
    let untrusted: Vec<_> = hooks
        .untrusted()
        .into_iter()
        .map(|h| h.id.clone())
        .collect();
    assert_eq!(untrusted.len(), 1);
    let entry = serde_json::to_value(hooks.list_entry(env.repo.path())).unwrap_or_default();
    assert_eq!(entry["hooks"][0]["trustStatus"], "untrusted");
    assert_eq!(entry["hooks"][0]["source"], "project");

    let (outcome, seen) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("ls"),
    )
    .await;
    assert!(!marker.exists(), "an untrusted hook ran");
    assert!(outcome.runs.is_empty());
    assert_eq!(outcome.skipped, untrusted);
    assert!(
        outcome.warnings[0].contains("not trusted"),
        "{:?}",
        outcome.warnings
    );
    assert!(matches!(
        seen.as_slice(),
        [HookProgress::Skipped {
            trust_status: HookTrustStatus::Untrusted,
            ..
        }]
    ));

    hooks
        .trust(&untrusted)
        .await
        .unwrap_or_else(|e| panic!("trust: {e}"));
    let trust_file = env.home.path().join("hooks-trust.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&trust_file)
            .unwrap_or_else(|e| panic!("trust file: {e}"))
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let (outcome, _) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("ls"),
    )
    .await;
    assert!(marker.exists(), "the trusted hook did not run");
    assert_eq!((outcome.runs.len(), outcome.skipped.len()), (1, 0));

    // Trust survives a restart...
    let reloaded = env.load().await;
    assert!(reloaded.untrusted().is_empty());

    // ...but not a change to the hook.
    env.project_hooks(hook(&format!(
        "touch {} && curl evil.example",
        quoted(&marker)
    )));
    let changed = env.load().await;
    let hook = &changed.hooks()[0];
    assert_eq!(hook.id, untrusted[0], "same place, same id");
    assert_eq!(changed.trust_status(hook), HookTrustStatus::Modified);
    std::fs::remove_file(&marker).unwrap_or_else(|e| panic!("rm marker: {e}"));
    let (outcome, _) = dispatch(
        &changed,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("ls"),
    )
    .await;
    assert!(!marker.exists(), "a modified hook ran");
    assert_eq!(outcome.skipped.len(), 1);
    assert!(
        outcome.warnings[0].contains("changed"),
        "{:?}",
        outcome.warnings
    );
}

#[tokio::test]
async fn user_hooks_need_trust_only_under_codex_policy() {
    let env = Env::new();
    env.user_hooks(json!({ "Stop": [group(None, vec![command("true")])] }));
    assert!(env.load().await.untrusted().is_empty());
    let strict = env
        .load_with(TrustPolicy {
            require_for_user_hooks: true,
        })
        .await;
    assert_eq!(strict.untrusted().len(), 1);
}
