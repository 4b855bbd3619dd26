//! Patches handed to a client that writes files itself (`crate::file_writes`), driven through
//! the tool context as the turn loop drives it.

use super::*;
use crate::config::SandboxMode;
use crate::file_writes::WriteRequest;

/// A tool context whose writer records what it is handed and writes nothing.
fn context(
    root: &Path,
    mode: SandboxMode,
    approval_policy: ApprovalPolicy,
) -> (Arc<ToolContext>, Arc<Mutex<Vec<WriteRequest>>>) {
    let seen: Arc<Mutex<Vec<WriteRequest>>> = Arc::default();
    let record = Arc::clone(&seen);
    let writer: FileWriter = Arc::new(move |request| {
        record.lock().unwrap().push(request);
        Box::pin(async { Ok(()) })
    });
    let settings = ToolSettings {
        cwd: root.to_path_buf(),
        shell: "/bin/sh".into(),
        timeout: Duration::from_secs(5),
        output_token_limit: 1000,
        approval_policy,
        approver: None,
        file_writer: Some(writer),
        file_reader: None,
        command_runner: None,
        session: Arc::default(),
        turn_cancel: CancellationToken::new(),
        env: Arc::default(),
        exec_policy: Arc::default(),
        mcp: None,
        mcp_found: Default::default(),
        exec_sessions: Default::default(),
        user_input: None,
        model: "mock-model".into(),
        model_images: true,
        hooks: None,
        turn_id: "turn-1".into(),
        agents: None,
        sandbox: Arc::new(SandboxLaunch {
            mode,
            writable_roots: vec![root.to_path_buf()],
            network: false,
            limits: Default::default(),
            exe: None,
            launcher: None,
            protected: Vec::new(),
            announced: Arc::default(),
        }),
    };
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    (Arc::new(ToolContext::new(settings, events)), seen)
}

#[tokio::test]
async fn an_update_goes_to_the_writer_at_the_checked_path_and_not_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::write(root.join("a.txt"), "old\n").unwrap();
    let (ctx, seen) = context(
        &root,
        SandboxMode::WorkspaceWrite,
        ApprovalPolicy::OnRequest,
    );
    let patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-old\n+new\n*** Add File: b.txt\n+added\n*** End Patch\n";
    let out = ctx
        .run_patch("call_1", patch.into(), None, &CancellationToken::new())
        .await;
    assert!(
        out.contains("Success. Updated the following files:\nA b.txt\nM a.txt\n"),
        "{out}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].item_id, "call_1");
    let mut files = seen[0].files.clone();
    files.sort();
    assert_eq!(
        files,
        vec![
            (root.join("a.txt"), "new\n".to_string()),
            (root.join("b.txt"), "added\n".to_string()),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "old\n"
    );
    assert!(!root.join("b.txt").exists());
}

#[tokio::test]
async fn a_write_outside_the_roots_is_refused_before_anything_is_handed_over() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escape.txt");
    let (ctx, seen) = context(&root, SandboxMode::WorkspaceWrite, ApprovalPolicy::Never);
    let patch = format!(
        "*** Begin Patch\n*** Add File: {}\n+x\n*** End Patch\n",
        target.display()
    );
    let out = ctx
        .run_patch("call_2", patch, None, &CancellationToken::new())
        .await;
    assert!(out.starts_with("patch rejected"), "{out}");
    assert!(seen.lock().unwrap().is_empty());
    // Nobody to approve a write outside the roots under on-request either: still nothing.
    let (ctx, seen) = context(
        &root,
        SandboxMode::WorkspaceWrite,
        ApprovalPolicy::OnRequest,
    );
    let patch = format!(
        "*** Begin Patch\n*** Add File: {}\n+x\n*** End Patch\n",
        target.display()
    );
    let out = ctx
        .run_patch("call_3", patch, None, &CancellationToken::new())
        .await;
    assert!(out.contains("rejected"), "{out}");
    assert!(seen.lock().unwrap().is_empty());
    assert!(!target.exists());
}

#[tokio::test]
async fn a_symlink_is_handed_over_as_the_file_it_points_to() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::create_dir(root.join("real")).unwrap();
    std::fs::write(root.join("real/f.txt"), "a\n").unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
    let (ctx, seen) = context(
        &root,
        SandboxMode::WorkspaceWrite,
        ApprovalPolicy::OnRequest,
    );
    let patch = "*** Begin Patch\n*** Update File: link/f.txt\n@@\n-a\n+b\n*** End Patch\n";
    ctx.run_patch("c", patch.into(), None, &CancellationToken::new())
        .await;
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0].files,
        vec![(root.join("real/f.txt"), "b\n".to_string())]
    );
}

#[tokio::test]
async fn a_delete_is_committed_by_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::write(root.join("gone.txt"), "x\n").unwrap();
    // Full access: the engine's own commit needs no sandbox launcher here.
    let (ctx, seen) = context(&root, SandboxMode::DangerFullAccess, ApprovalPolicy::Never);
    let patch = "*** Begin Patch\n*** Delete File: gone.txt\n*** End Patch\n";
    let out = ctx
        .run_patch("c", patch.into(), None, &CancellationToken::new())
        .await;
    assert!(out.contains("D gone.txt"), "{out}");
    assert!(seen.lock().unwrap().is_empty());
    assert!(!root.join("gone.txt").exists());
}
