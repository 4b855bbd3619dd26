//! Patches planned from a client's buffers (`crate::file_reads`) and commands run by a client
//! (`crate::command_runs`), driven through the tool context as the turn loop drives them.

use std::collections::HashMap;

use super::*;
use crate::command_runs::{RunOutput, RunRequest};
use crate::config::SandboxMode;
use crate::file_reads::ReadRequest;
use crate::file_writes::WriteRequest;
use wright_tools::call::{ShellCall, ShellCommand, ShellStyle};

#[derive(Default)]
struct Seen {
    reads: Vec<PathBuf>,
    writes: Vec<WriteRequest>,
    runs: Vec<RunRequest>,
}

/// A tool context whose client holds `buffers` (path → text, else a read error; `None`: the
/// client reads nothing), writes
/// nothing (when `writes`) and answers every command with `ran`.
fn context(
    root: &Path,
    mode: SandboxMode,
    buffers: Option<HashMap<PathBuf, String>>,
    writes: bool,
) -> (Arc<ToolContext>, Arc<Mutex<Seen>>) {
    let reads = buffers.is_some();
    let buffers = buffers.unwrap_or_default();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let record = Arc::clone(&seen);
    let reader: FileReader = Arc::new(move |request: ReadRequest| {
        record.lock().unwrap().reads.push(request.path.clone());
        let text = buffers
            .get(&request.path)
            .cloned()
            .ok_or_else(|| "no such buffer".to_string());
        Box::pin(async move { text })
    });
    let record = Arc::clone(&seen);
    let writer: FileWriter = Arc::new(move |request| {
        record.lock().unwrap().writes.push(request);
        Box::pin(async { Ok(()) })
    });
    let record = Arc::clone(&seen);
    let runner: CommandRunner = Arc::new(move |request| {
        record.lock().unwrap().runs.push(request);
        Box::pin(async {
            Ok(RunOutput {
                exit_code: 0,
                output: "ran in the editor\n".into(),
                timed_out: false,
            })
        })
    });
    let settings = ToolSettings {
        cwd: root.to_path_buf(),
        shell: "/bin/sh".into(),
        timeout: Duration::from_secs(5),
        output_token_limit: 1000,
        approval_policy: ApprovalPolicy::Never,
        approver: None,
        file_writer: writes.then_some(writer),
        file_reader: reads.then_some(reader),
        command_runner: Some(runner),
        session: Arc::default(),
        turn_cancel: CancellationToken::new(),
        env: Arc::new(vec![("PATH".into(), "/usr/bin:/bin".into())]),
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
            exe: Some(PathBuf::from("/opt/wright/wright")),
            launcher: None,
            protected: Vec::new(),
            announced: Arc::default(),
        }),
    };
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    (Arc::new(ToolContext::new(settings, events)), seen)
}

fn temp_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    (dir, root)
}

#[tokio::test]
async fn a_patch_applies_to_the_editors_buffer_not_the_disk() {
    let (_dir, root) = temp_root();
    std::fs::write(root.join("a.txt"), "saved\n").unwrap();
    let buffers = HashMap::from([(root.join("a.txt"), "unsaved\n".to_string())]);
    let patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-unsaved\n+patched\n*** Add File: b.txt\n+new\n*** End Patch\n";
    let (ctx, seen) = context(
        &root,
        SandboxMode::WorkspaceWrite,
        Some(buffers.clone()),
        true,
    );
    let out = ctx
        .run_patch("c1", patch.into(), None, &CancellationToken::new())
        .await;
    assert!(out.contains("M a.txt"), "{out}");
    {
        let seen = seen.lock().unwrap();
        // Only the updated file was read; the added one was not.
        assert_eq!(seen.reads, vec![root.join("a.txt")]);
        assert!(seen.writes[0]
            .files
            .contains(&(root.join("a.txt"), "patched\n".to_string())));
    }
    // Without the reader the same patch does not even apply (the disk lacks the line).
    let (ctx, seen) = context(&root, SandboxMode::WorkspaceWrite, None, true);
    let out = ctx
        .run_patch("c2", patch.into(), None, &CancellationToken::new())
        .await;
    assert!(seen.lock().unwrap().writes.is_empty());
    assert!(out.starts_with("apply_patch verification failed"), "{out}");
}

#[tokio::test]
async fn a_file_outside_the_roots_is_never_asked_about() {
    let (_dir, root) = temp_root();
    let (_other, outside) = temp_root();
    std::fs::write(outside.join("x.txt"), "x\n").unwrap();
    let (ctx, seen) = context(
        &root,
        SandboxMode::WorkspaceWrite,
        Some(HashMap::new()),
        true,
    );
    let patch = format!(
        "*** Begin Patch\n*** Update File: {}\n@@\n-x\n+y\n*** End Patch\n",
        outside.join("x.txt").display()
    );
    let out = ctx
        .run_patch("c", patch, None, &CancellationToken::new())
        .await;
    assert!(out.starts_with("patch rejected"), "{out}");
    assert!(seen.lock().unwrap().reads.is_empty());
    // The same patch inside the roots is asked about (and fails here: no such buffer).
    std::fs::write(root.join("x.txt"), "x\n").unwrap();
    let (ctx, seen) = context(
        &root,
        SandboxMode::WorkspaceWrite,
        Some(HashMap::new()),
        true,
    );
    let patch = "*** Begin Patch\n*** Update File: x.txt\n@@\n-x\n+y\n*** End Patch\n";
    let out = ctx
        .run_patch("c", patch.into(), None, &CancellationToken::new())
        .await;
    assert_eq!(seen.lock().unwrap().reads, vec![root.join("x.txt")]);
    assert!(
        out.contains("the editor could not read") && out.contains("no such buffer"),
        "{out}"
    );
    assert!(seen.lock().unwrap().writes.is_empty());
}

#[tokio::test]
async fn the_engine_does_not_commit_over_unsaved_changes() {
    let (_dir, root) = temp_root();
    std::fs::write(root.join("gone.txt"), "saved\n").unwrap();
    let patch = "*** Begin Patch\n*** Delete File: gone.txt\n*** End Patch\n";
    let unsaved = HashMap::from([(root.join("gone.txt"), "typed\n".to_string())]);
    let (ctx, _) = context(&root, SandboxMode::DangerFullAccess, Some(unsaved), true);
    let out = ctx
        .run_patch("c", patch.into(), None, &CancellationToken::new())
        .await;
    assert!(out.contains("unsaved"), "{out}");
    assert!(root.join("gone.txt").exists());
    // Buffer and disk agree: the engine deletes it.
    let saved = HashMap::from([(root.join("gone.txt"), "saved\n".to_string())]);
    let (ctx, _) = context(&root, SandboxMode::DangerFullAccess, Some(saved), true);
    let out = ctx
        .run_patch("c", patch.into(), None, &CancellationToken::new())
        .await;
    assert!(out.contains("D gone.txt"), "{out}");
    assert!(!root.join("gone.txt").exists());
}

#[tokio::test]
async fn a_command_goes_to_the_client_wrapped_in_the_sandbox_with_the_engines_env() {
    let (_dir, root) = temp_root();
    let (ctx, seen) = context(&root, SandboxMode::WorkspaceWrite, None, false);
    let call = ShellCall {
        command: ShellCommand::Script("echo hi".into()),
        workdir: None,
        timeout_ms: Some(1234),
        max_output_tokens: None,
        escalate: false,
        justification: None,
        style: ShellStyle::Shell,
        session: None,
    };
    let argv = ctx.argv(&call);
    let out = ctx
        .run_command("c", call, argv, root.clone(), &CancellationToken::new())
        .await;
    assert!(
        out.contains("Exit code: 0") && out.contains("ran in the editor"),
        "{out}"
    );
    {
        let seen = seen.lock().unwrap();
        let run = &seen.runs[0];
        assert_eq!(run.argv[..3], ["/opt/wright/wright", "sandbox", "--policy"]);
        assert_eq!(
            run.argv[run.argv.len() - 3..],
            ["/bin/sh", "-lc", "echo hi"]
        );
        assert_eq!(run.env, [("PATH".to_string(), "/usr/bin:/bin".to_string())]);
        assert_eq!(run.timeout, Duration::from_millis(1234));
        assert_eq!(run.cwd, root);
    }
    // danger-full-access has no launcher: the client gets the command itself.
    let (ctx, seen) = context(&root, SandboxMode::DangerFullAccess, None, false);
    let call = ShellCall {
        command: ShellCommand::Script("echo hi".into()),
        workdir: None,
        timeout_ms: None,
        max_output_tokens: None,
        escalate: false,
        justification: None,
        style: ShellStyle::Shell,
        session: None,
    };
    let argv = ctx.argv(&call);
    ctx.run_command("c", call, argv, root.clone(), &CancellationToken::new())
        .await;
    assert_eq!(
        seen.lock().unwrap().runs[0].argv,
        ["/bin/sh", "-lc", "echo hi"]
    );
}
