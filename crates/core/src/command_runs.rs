//! Handing a command the engine decided to run to a client that runs it in a terminal of its
//! own (an editor, which shows it live).
//!
//! The engine keeps every decision and the confinement: the command is handed over only after
//! its approval and policy checks, as exactly the argv the engine would spawn. Under a sandbox
//! that is the sandbox launcher with its policy wrapping the command, so the kernel confines
//! it in whichever process tree it runs; in `danger-full-access` there is no launcher and the
//! command runs as unconfined as the engine would run it. The environment is the engine's
//! sanitised one and nothing else: the client is told to give the command exactly that.
//! What comes back is treated like a local run's result (bounded, exit code, timeout text).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wright_tools::shell::{self, ExecError, ExecOutput, ExecRequest};

/// A command for the client to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// The `commandExecution` item it belongs to.
    pub item_id: String,
    /// Exactly what to execute (the sandbox launcher first, when confined).
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The command's whole environment.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// How much output to keep.
    pub output_byte_limit: usize,
}

/// How the command ended, as the client reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub exit_code: i32,
    pub output: String,
    pub timed_out: bool,
}

/// Resolves once the command ended, or to why the client could not run it (shown to the
/// model). Dropping it withdraws the request; the client kills the command when the turn is
/// interrupted.
pub type RunFuture = Pin<Box<dyn Future<Output = Result<RunOutput, String>> + Send>>;

/// Runs a command through the client. Set per turn by whoever serves the client.
pub type CommandRunner = Arc<dyn Fn(RunRequest) -> RunFuture + Send + Sync>;

/// How long past the command's own timeout the engine waits for the client's answer before it
/// stops waiting (the client kills the command at the timeout itself).
const ANSWER_GRACE: Duration = Duration::from_secs(10);

/// Runs `request` through `runner`, with the result shaped as [`shell::run_streaming`]'s: the
/// output bounded as a local run's is, handed to `on_output` once, the timeout reported with
/// [`shell::TIMEOUT_EXIT_CODE`] and the same text.
pub(crate) async fn run(
    runner: &CommandRunner,
    item_id: &str,
    request: &ExecRequest,
    cancel: &CancellationToken,
    on_output: &(dyn Fn(&[u8]) + Sync),
) -> Result<ExecOutput, ExecError> {
    let started = Instant::now();
    let run = runner(RunRequest {
        item_id: item_id.to_string(),
        argv: shareable(&request.argv),
        cwd: request.cwd.clone(),
        env: request.env.clone().unwrap_or_default(),
        timeout: request.timeout,
        output_byte_limit: shell::OUTPUT_CAPTURE_LIMIT,
    });
    let answered = tokio::select! {
        answered = tokio::time::timeout(request.timeout + ANSWER_GRACE, run) => answered,
        _ = cancel.cancelled() => return Err(ExecError::Cancelled { output: String::new() }),
    };
    let out = match answered {
        Ok(Ok(out)) => out,
        Ok(Err(why)) => return Err(ExecError::Client(why)),
        Err(_) => RunOutput {
            exit_code: shell::TIMEOUT_EXIT_CODE,
            output: String::new(),
            timed_out: true,
        },
    };
    // The client is not trusted to keep to the limit.
    let mut output = shell::bound_output(out.output.as_bytes());
    if !output.is_empty() {
        on_output(output.as_bytes());
    }
    let exit_code = if out.timed_out {
        output.push_str(&shell::timeout_note(request.timeout));
        shell::TIMEOUT_EXIT_CODE
    } else {
        out.exit_code
    };
    Ok(ExecOutput {
        exit_code,
        output,
        duration: started.elapsed(),
        timed_out: out.timed_out,
    })
}

/// `argv` for another process to execute. The sealed sandbox launcher is reached through this
/// process's descriptor (`/proc/self/fd/N`), which names nothing in another process; the same
/// descriptor is reachable from it as `/proc/<this pid>/fd/N` for as long as this process
/// lives, still sealed.
pub fn shareable(argv: &[String]) -> Vec<String> {
    let mut out = argv.to_vec();
    if let Some(first) = out.first_mut() {
        if let Some(rest) = first.strip_prefix("/proc/self/") {
            *first = format!("/proc/{}/{rest}", std::process::id());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn request(argv: &[&str], timeout: Duration) -> ExecRequest {
        ExecRequest {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: PathBuf::from("/w"),
            timeout,
            env: Some(vec![("PATH".into(), "/bin".into())]),
        }
    }

    fn answering(
        answer: Result<RunOutput, String>,
    ) -> (CommandRunner, Arc<Mutex<Vec<RunRequest>>>) {
        let seen: Arc<Mutex<Vec<RunRequest>>> = Arc::default();
        let record = Arc::clone(&seen);
        let runner: CommandRunner = Arc::new(move |r| {
            record.lock().unwrap().push(r);
            let answer = answer.clone();
            Box::pin(async move { answer })
        });
        (runner, seen)
    }

    #[tokio::test]
    async fn the_client_gets_the_exact_argv_env_and_its_output_is_the_result() {
        let (runner, seen) = answering(Ok(RunOutput {
            exit_code: 3,
            output: "hi\n".into(),
            timed_out: false,
        }));
        let streamed = Mutex::new(Vec::new());
        let out = run(
            &runner,
            "call_1",
            &request(&["/bin/sh", "-lc", "echo hi"], Duration::from_secs(5)),
            &CancellationToken::new(),
            &|b| streamed.lock().unwrap().extend_from_slice(b),
        )
        .await
        .unwrap();
        assert_eq!((out.exit_code, out.output.as_str()), (3, "hi\n"));
        assert_eq!(streamed.into_inner().unwrap(), b"hi\n");
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].argv, ["/bin/sh", "-lc", "echo hi"]);
        assert_eq!(seen[0].env, [("PATH".to_string(), "/bin".to_string())]);
        assert_eq!(seen[0].item_id, "call_1");
    }

    #[tokio::test]
    async fn a_timeout_reads_as_a_local_one() {
        let (runner, _) = answering(Ok(RunOutput {
            exit_code: 137,
            output: "partial".into(),
            timed_out: true,
        }));
        let out = run(
            &runner,
            "c",
            &request(&["x"], Duration::from_millis(200)),
            &CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(out.exit_code, shell::TIMEOUT_EXIT_CODE);
        assert_eq!(out.output, "partial\ncommand timed out after 200 ms");
    }

    #[tokio::test]
    async fn a_client_that_never_answers_is_given_up_on_and_cancel_stops_waiting() {
        let runner: CommandRunner = Arc::new(|_| Box::pin(std::future::pending()));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = run(
            &runner,
            "c",
            &request(&["x"], Duration::from_secs(60)),
            &cancel,
            &|_| {},
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ExecError::Cancelled { .. }));
        let (runner, _) = answering(Err("no terminal".into()));
        let err = run(
            &runner,
            "c",
            &request(&["x"], Duration::from_secs(1)),
            &CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("no terminal"), "{err}");
    }

    #[test]
    fn the_sealed_launcher_is_named_through_this_process() {
        let argv = vec!["/proc/self/fd/7".to_string(), "--policy".into()];
        let shared = shareable(&argv);
        assert_eq!(shared[0], format!("/proc/{}/fd/7", std::process::id()));
        assert_eq!(shared[1], "--policy");
        assert_eq!(shareable(&["/bin/sh".to_string()]), ["/bin/sh"]);
    }
}
