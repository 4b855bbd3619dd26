//! Reading a model's tool call into a typed [`ToolCall`].
//!
//! Several names reach the same handler because models are trained on different generations of
//! Codex's tools: `exec_command` (`cmd` string), `shell` (`command` argv), `shell_command`
//! (`command` string); `apply_patch` as a freeform tool or as a function with `{"input"}`.

use serde::Deserialize;

use crate::plan::PlanArgs;

/// The raw payload of a call as the model sent it.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// A `function_call`'s `arguments`: a JSON object as a string.
    Function(&'a str),
    /// A `custom_tool_call`'s `input`: free text.
    Custom(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    Shell(ShellCall),
    /// `workdir` (relative to the turn's cwd) is where the patch's paths start; set when the
    /// patch came through the shell as `cd DIR && apply_patch <<'EOF' ...`.
    ApplyPatch {
        input: String,
        workdir: Option<String>,
    },
    UpdatePlan(PlanArgs),
    /// Codex's `write_stdin`: type into (or just poll) a command session still running.
    WriteStdin(WriteStdinArgs),
}

/// `write_stdin`'s arguments.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WriteStdinArgs {
    /// The number `exec_command` returned as `session ID`.
    pub session_id: f64,
    #[serde(default)]
    pub chars: String,
    #[serde(default)]
    pub yield_time_ms: Option<f64>,
    #[serde(default)]
    pub max_output_tokens: Option<f64>,
}

impl WriteStdinArgs {
    pub fn max_output_tokens(&self) -> Option<usize> {
        tokens(self.max_output_tokens)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShellCall {
    pub command: ShellCommand,
    pub workdir: Option<String>,
    pub timeout_ms: Option<u64>,
    /// Cap on the output the model sees, in tokens (about 4 bytes each).
    pub max_output_tokens: Option<usize>,
    /// Which tool was called; it decides the shape of the result text.
    pub style: ShellStyle,
    /// The model asks to run this outside the sandbox (`sandbox_permissions:
    /// "require_escalated"`), which needs the user's approval.
    pub escalate: bool,
    /// Why, in the model's words; shown to the user with the approval request.
    pub justification: Option<String>,
    /// `exec_command`'s session options: the command may outlive the call.
    pub session: Option<SessionOptions>,
}

/// How an `exec_command` runs: on a terminal or pipes, how long the call waits before it
/// returns with the command still running, and which shell.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOptions {
    pub tty: bool,
    pub yield_time_ms: Option<u64>,
    /// `-lc` (login shell) when true, `-c` otherwise.
    pub login: bool,
    /// The shell binary; the user's shell when absent.
    pub shell: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ShellCommand {
    /// A script run by the user's shell as `<shell> -lc <script>`.
    Script(String),
    /// A program and its arguments, run as is.
    Argv(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellStyle {
    ExecCommand,
    Shell,
}

/// Why a call could not be read; the text goes back to the model as the call's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("failed to parse function arguments: {0}")]
    BadArguments(String),
    #[error("unsupported call: {0}")]
    UnknownTool(String),
    #[error("{0}")]
    Invalid(String),
}

/// Codex's `exec_command`. `prefix_rule` is accepted and ignored (wright's approvals remember
/// exact commands, see the approval module); `timeout_ms` is wright's own: a hard limit.
#[derive(Deserialize)]
struct ExecCommandArgs {
    cmd: String,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    max_output_tokens: Option<f64>,
    #[serde(default)]
    sandbox_permissions: Option<String>,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    tty: Option<bool>,
    #[serde(default)]
    yield_time_ms: Option<f64>,
    #[serde(default)]
    login: Option<bool>,
    #[serde(default)]
    shell: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CommandField {
    Argv(Vec<String>),
    Script(String),
}

#[derive(Deserialize)]
struct ShellArgs {
    command: CommandField,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default, alias = "timeout")]
    timeout_ms: Option<u64>,
    #[serde(default)]
    max_output_tokens: Option<f64>,
    #[serde(default)]
    with_escalated_permissions: Option<bool>,
    #[serde(default)]
    sandbox_permissions: Option<String>,
    #[serde(default)]
    justification: Option<String>,
}

#[derive(Deserialize)]
struct PatchArgs {
    #[serde(alias = "patch")]
    input: String,
}

fn args<T: for<'de> Deserialize<'de>>(payload: Payload<'_>) -> Result<T, CallError> {
    match payload {
        Payload::Function(text) => {
            serde_json::from_str(text).map_err(|e| CallError::BadArguments(e.to_string()))
        }
        Payload::Custom(_) => Err(CallError::Invalid(
            "this tool takes JSON arguments, not freeform input".into(),
        )),
    }
}

pub fn parse(name: &str, payload: Payload<'_>) -> Result<ToolCall, CallError> {
    match name {
        "exec_command" => {
            let a: ExecCommandArgs = args(payload)?;
            Ok(shell_or_patch(ShellCall {
                command: ShellCommand::Script(a.cmd),
                workdir: a.workdir,
                timeout_ms: a.timeout_ms,
                max_output_tokens: tokens(a.max_output_tokens),
                style: ShellStyle::ExecCommand,
                escalate: a.sandbox_permissions.as_deref() == Some("require_escalated"),
                justification: a.justification,
                session: Some(SessionOptions {
                    tty: a.tty.unwrap_or(false),
                    yield_time_ms: a
                        .yield_time_ms
                        .filter(|n| n.is_finite() && *n >= 0.0)
                        .map(|n| n as u64),
                    login: a.login.unwrap_or(true),
                    shell: a.shell.filter(|s| !s.trim().is_empty()),
                }),
            }))
        }
        "shell" | "shell_command" | "container.exec" => {
            let a: ShellArgs = args(payload)?;
            let command = match a.command {
                CommandField::Argv(argv) if argv.is_empty() => {
                    return Err(CallError::Invalid("command must not be empty".into()))
                }
                CommandField::Argv(argv) => ShellCommand::Argv(argv),
                CommandField::Script(s) => ShellCommand::Script(s),
            };
            Ok(shell_or_patch(ShellCall {
                command,
                workdir: a.workdir,
                timeout_ms: a.timeout_ms,
                max_output_tokens: tokens(a.max_output_tokens),
                style: ShellStyle::Shell,
                escalate: a.with_escalated_permissions == Some(true)
                    || a.sandbox_permissions.as_deref() == Some("require_escalated"),
                justification: a.justification,
                session: None,
            }))
        }
        "apply_patch" => match payload {
            Payload::Custom(input) => Ok(ToolCall::ApplyPatch {
                input: input.to_string(),
                workdir: None,
            }),
            Payload::Function(_) => {
                let a: PatchArgs = args(payload)?;
                Ok(ToolCall::ApplyPatch {
                    input: a.input,
                    workdir: None,
                })
            }
        },
        "update_plan" => Ok(ToolCall::UpdatePlan(args(payload)?)),
        "write_stdin" => {
            let a: WriteStdinArgs = args(payload)?;
            if !(a.session_id.is_finite() && a.session_id >= 0.0) {
                return Err(CallError::Invalid(format!(
                    "Unknown process id {}",
                    a.session_id
                )));
            }
            Ok(ToolCall::WriteStdin(a))
        }
        "write_file" => {
            let a: WriteFileArgs = args(payload)?;
            Ok(ToolCall::ApplyPatch {
                input: whole_file_patch(&a.path, &a.content)?,
                workdir: None,
            })
        }
        other => Err(CallError::UnknownTool(other.to_string())),
    }
}

#[derive(Deserialize)]
struct WriteFileArgs {
    path: String,
    content: String,
}

/// `write_file` as the patch that adds the file with this content (an Add replaces a file
/// that exists), so it gets the patch's approval, sandboxed write and `fileChange` item.
fn whole_file_patch(path: &str, content: &str) -> Result<String, CallError> {
    if path.trim().is_empty() || path.contains('\n') || path.contains('\r') {
        return Err(CallError::Invalid(
            "write_file: `path` must be one non-empty line".into(),
        ));
    }
    let mut patch = format!("*** Begin Patch\n*** Add File: {path}\n");
    for line in content.lines() {
        patch.push('+');
        patch.push_str(line);
        patch.push('\n');
    }
    patch.push_str("*** End Patch\n");
    Ok(patch)
}

fn tokens(v: Option<f64>) -> Option<usize> {
    v.filter(|n| n.is_finite() && *n > 0.0).map(|n| n as usize)
}

/// Models often send a patch through the shell (`apply_patch <<'EOF' ...`, possibly after
/// `cd DIR &&`); run it as a patch so it gets the same verification and the same file_change
/// item. Only a script that is nothing but the patch is taken: anything after the heredoc
/// would otherwise be silently dropped, so such a script runs in the shell as written.
fn shell_or_patch(call: ShellCall) -> ToolCall {
    let script = match &call.command {
        ShellCommand::Argv(argv) if argv.len() == 2 && argv[0] == "apply_patch" => {
            return ToolCall::ApplyPatch {
                input: argv[1].clone(),
                workdir: call.workdir,
            };
        }
        ShellCommand::Argv(argv) if argv.len() == 3 && argv[1] == "-lc" => argv[2].as_str(),
        ShellCommand::Script(s) => s.as_str(),
        ShellCommand::Argv(_) => return ToolCall::Shell(call),
    };
    match patch_script(script) {
        Some((cd, input)) => ToolCall::ApplyPatch {
            workdir: match (call.workdir, cd) {
                (Some(base), Some(cd)) => Some(format!("{base}/{cd}")),
                (base, cd) => cd.or(base),
            },
            input,
        },
        None => ToolCall::Shell(call),
    }
}

/// `[cd DIR &&] apply_patch <<'EOF'\n*** Begin Patch ... *** End Patch\nEOF` → (DIR, patch).
fn patch_script(script: &str) -> Option<(Option<String>, String)> {
    let mut rest = script.trim_start();
    let mut cd = None;
    if let Some(after) = rest.strip_prefix("cd ") {
        let (dir, tail) = after.split_once("&&")?;
        let dir = dir.trim().trim_matches(|c| c == '\'' || c == '"');
        if dir.is_empty() || dir.contains(char::is_whitespace) {
            return None;
        }
        cd = Some(dir.to_string());
        rest = tail.trim_start();
    }
    let rest = rest
        .strip_prefix("apply_patch")
        .or_else(|| rest.strip_prefix("applypatch"))?;
    let start = rest.find("*** Begin Patch")?;
    // Between the command and the patch only a heredoc opener may stand.
    let opener = rest[..start].trim();
    if !(opener.is_empty() || opener.starts_with("<<")) {
        return None;
    }
    let body = &rest[start..];
    let end = body.find("*** End Patch")? + "*** End Patch".len();
    // After the patch only the heredoc terminator (one word) may follow.
    let after = body[end..].trim();
    if after.split_whitespace().count() > 1 {
        return None;
    }
    Some((cd, format!("{}\n", &body[..end])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_file_is_a_patch_that_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "old\n").unwrap();
        let call = parse(
            "write_file",
            Payload::Function(r#"{"path":"a.py","content":"print(1)\nprint(2)\n"}"#),
        )
        .unwrap();
        let ToolCall::ApplyPatch { input, workdir } = call else {
            panic!("{call:?}")
        };
        assert_eq!(workdir, None);
        crate::apply_patch::apply_patch(&input, dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.py")).unwrap(),
            "print(1)\nprint(2)\n"
        );
        // A new file in a new directory, content without a final newline.
        let call = parse(
            "write_file",
            Payload::Function(r#"{"path":"pkg/b.txt","content":"x"}"#),
        )
        .unwrap();
        let ToolCall::ApplyPatch { input, .. } = call else {
            panic!()
        };
        crate::apply_patch::apply_patch(&input, dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("pkg/b.txt")).unwrap(),
            "x\n"
        );
        for bad in [
            r#"{"path":"","content":"x"}"#,
            r#"{"path":"a\nb","content":"x"}"#,
            r#"{"path":"a"}"#,
        ] {
            assert!(
                parse("write_file", Payload::Function(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn exec_command() {
        let c = parse(
            "exec_command",
            Payload::Function(
                r#"{"cmd":"ls","workdir":"src","yield_time_ms":1000,"tty":true,"login":false,"shell":"/bin/sh"}"#,
            ),
        )
        .unwrap();
        assert_eq!(
            c,
            ToolCall::Shell(ShellCall {
                command: ShellCommand::Script("ls".into()),
                workdir: Some("src".into()),
                timeout_ms: None,
                max_output_tokens: None,
                style: ShellStyle::ExecCommand,
                escalate: false,
                justification: None,
                session: Some(SessionOptions {
                    tty: true,
                    yield_time_ms: Some(1000),
                    login: false,
                    shell: Some("/bin/sh".into()),
                }),
            })
        );
        // Codex's defaults: pipes, a login shell.
        let ToolCall::Shell(c) =
            parse("exec_command", Payload::Function(r#"{"cmd":"ls"}"#)).unwrap()
        else {
            panic!()
        };
        let session = c.session.unwrap();
        assert!(!session.tty && session.login && session.yield_time_ms.is_none());
    }

    #[test]
    fn write_stdin() {
        let c = parse(
            "write_stdin",
            Payload::Function(r#"{"session_id":15286,"chars":"1+1\n","yield_time_ms":500}"#),
        )
        .unwrap();
        let ToolCall::WriteStdin(a) = c else { panic!() };
        assert_eq!((a.session_id, a.chars.as_str()), (15286.0, "1+1\n"));
        assert_eq!(a.yield_time_ms, Some(500.0));
        // `chars` may be left out: a poll.
        let ToolCall::WriteStdin(a) =
            parse("write_stdin", Payload::Function(r#"{"session_id":7}"#)).unwrap()
        else {
            panic!()
        };
        assert!(a.chars.is_empty());
        assert!(parse("write_stdin", Payload::Function(r#"{"chars":"x"}"#)).is_err());
        assert!(parse("write_stdin", Payload::Function(r#"{"session_id":-1}"#)).is_err());
    }

    #[test]
    fn shell_argv_and_string() {
        let c = parse(
            "shell",
            Payload::Function(r#"{"command":["bash","-lc","make test"],"timeout_ms":5000}"#),
        )
        .unwrap();
        let ToolCall::Shell(s) = c else { panic!() };
        assert_eq!(
            s.command,
            ShellCommand::Argv(vec!["bash".into(), "-lc".into(), "make test".into()])
        );
        assert_eq!(s.timeout_ms, Some(5000));
        let c = parse("shell_command", Payload::Function(r#"{"command":"ls"}"#)).unwrap();
        let ToolCall::Shell(s) = c else { panic!() };
        assert_eq!(s.command, ShellCommand::Script("ls".into()));
    }

    #[test]
    fn bad_json_names_the_problem() {
        let err = parse("exec_command", Payload::Function(r#"{"cmd": "ls"#)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to parse function arguments: EOF while parsing a string at line 1 column 11"
        );
        let err = parse("exec_command", Payload::Function(r#"{"command":"ls"}"#)).unwrap_err();
        assert!(err.to_string().contains("missing field `cmd`"), "{err}");
    }

    #[test]
    fn patch_forms() {
        let p = "*** Begin Patch\n*** Add File: a\n+x\n*** End Patch\n";
        let patch = |workdir: Option<&str>| ToolCall::ApplyPatch {
            input: p.into(),
            workdir: workdir.map(String::from),
        };
        assert_eq!(
            parse("apply_patch", Payload::Custom(p)).unwrap(),
            patch(None)
        );
        let args = serde_json::json!({ "input": p }).to_string();
        assert_eq!(
            parse("apply_patch", Payload::Function(&args)).unwrap(),
            patch(None)
        );
        let exec = |script: String, workdir: Option<&str>| {
            let args = serde_json::json!({ "cmd": script, "workdir": workdir }).to_string();
            parse("exec_command", Payload::Function(&args)).unwrap()
        };
        assert_eq!(
            exec(format!("apply_patch <<'EOF'\n{p}EOF\n"), None),
            patch(None)
        );
        assert_eq!(
            exec(format!("apply_patch <<'EOF'\n{p}EOF\n"), Some("sub")),
            patch(Some("sub"))
        );
        assert_eq!(
            exec(format!("cd pkg && apply_patch <<'EOF'\n{p}EOF"), None),
            patch(Some("pkg"))
        );
        // Something after the patch: it must run as written, not be dropped.
        assert!(matches!(
            exec(format!("apply_patch <<'EOF'\n{p}EOF\ncargo test\n"), None),
            ToolCall::Shell(_)
        ));
        let argv = serde_json::json!({ "command": ["apply_patch", p] }).to_string();
        assert_eq!(
            parse("shell", Payload::Function(&argv)).unwrap(),
            patch(None)
        );
    }

    #[test]
    fn unknown_tool() {
        assert_eq!(
            parse("nope", Payload::Function("{}")).unwrap_err(),
            CallError::UnknownTool("nope".into())
        );
    }
}
