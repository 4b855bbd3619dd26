//! The transcript's cells (a user message, an answer, a command, a patch, the plan, a notice)
//! and how each one looks.

use ratatui::text::{Line, Span};
use wright_protocol::v2::{
    FileUpdateChange, PatchApplyStatus, PatchChangeKind, TurnPlanStepStatus,
};

use crate::markdown;
use crate::theme::Theme;
use crate::wrap::{wrap_line, wrap_lines};

/// Lines of command output shown in the transcript before the rest is folded away (the whole
/// of it is in the transcript view, Ctrl+T).
pub const OUTPUT_HEAD: usize = 2;
pub const OUTPUT_TAIL: usize = 3;
/// Lines of a diff shown before folding.
pub const DIFF_LINES: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandState {
    Running,
    Done,
    Failed,
    Declined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    User {
        text: String,
    },
    Agent {
        text: String,
    },
    Reasoning {
        text: String,
    },
    Command {
        command: String,
        output: String,
        exit_code: Option<i32>,
        state: CommandState,
        duration_ms: Option<i64>,
    },
    Patch {
        changes: Vec<FileUpdateChange>,
        status: Option<PatchApplyStatus>,
    },
    Plan {
        steps: Vec<(String, TurnPlanStepStatus)>,
    },
    Notice {
        text: String,
        level: Level,
    },
}

impl Cell {
    /// The cell at `width` columns; `full` unfolds long output and diffs.
    pub fn lines(&self, width: u16, theme: &Theme, full: bool) -> Vec<Line<'static>> {
        let width = usize::from(width.max(8));
        let t = theme;
        let mut out: Vec<Line<'static>> = match self {
            Cell::User { text } => {
                let mut lines = Vec::new();
                for (i, l) in text.lines().enumerate() {
                    let mark = if i == 0 { "› " } else { "  " };
                    let line =
                        Line::from(vec![Span::styled(mark, t.user()), Span::raw(l.to_string())]);
                    lines.extend(wrap_line(&line, width, &[Span::raw("  ")]));
                }
                if lines.is_empty() {
                    lines.push(Line::from(Span::styled("›", t.user())));
                }
                lines
            }
            Cell::Agent { text } => {
                let body = markdown::render(text, width.saturating_sub(2), t);
                bulleted(body, Span::styled("• ", t.dim()))
            }
            Cell::Reasoning { text } => {
                let body = wrap_lines(
                    &text
                        .lines()
                        .map(|l| Line::styled(l.to_string(), t.dim()))
                        .collect::<Vec<_>>(),
                    width.saturating_sub(2),
                );
                bulleted(body, Span::styled("• ", t.dim()))
            }
            Cell::Command {
                command,
                output,
                exit_code,
                state,
                duration_ms,
                ..
            } => command_lines(
                command,
                output,
                *exit_code,
                *state,
                *duration_ms,
                width,
                t,
                full,
            ),
            Cell::Patch { changes, status } => patch_lines(changes, *status, width, t, full),
            Cell::Plan { steps } => {
                let mut lines = vec![Line::from(vec![
                    Span::styled("• ", t.dim()),
                    Span::styled("Plan", t.bold()),
                ])];
                for (step, status) in steps {
                    let (mark, style) = match status {
                        TurnPlanStepStatus::Completed => ("✔ ", t.dim()),
                        TurnPlanStepStatus::InProgress => ("▶ ", t.bold()),
                        TurnPlanStepStatus::Pending => ("□ ", Default::default()),
                    };
                    let line = Line::from(vec![
                        Span::raw("  "),
                        Span::styled(mark, style),
                        Span::styled(step.clone(), style),
                    ]);
                    lines.extend(wrap_line(&line, width, &[Span::raw("    ")]));
                }
                lines
            }
            Cell::Notice { text, level } => {
                let style = match level {
                    Level::Info => t.dim(),
                    Level::Warning => t.warning(),
                    Level::Error => t.error(),
                };
                let mark = match level {
                    Level::Info => "• ",
                    Level::Warning => "⚠ ",
                    Level::Error => "✗ ",
                };
                let mut lines = Vec::new();
                for (i, l) in text.lines().enumerate() {
                    let mark = if i == 0 { mark } else { "  " };
                    let line = Line::from(vec![
                        Span::styled(mark, style),
                        Span::styled(l.to_string(), style),
                    ]);
                    lines.extend(wrap_line(&line, width, &[Span::raw("  ")]));
                }
                lines
            }
        };
        // One blank line after each cell separates it from the next.
        out.push(Line::default());
        out
    }
}

/// `body` with `bullet` before its first line and the continuation lines indented to match.
fn bulleted(body: Vec<Line<'static>>, bullet: Span<'static>) -> Vec<Line<'static>> {
    let pad = " ".repeat(bullet.width());
    body.into_iter()
        .enumerate()
        .map(|(i, mut line)| {
            let lead = if i == 0 {
                bullet.clone()
            } else {
                Span::raw(pad.clone())
            };
            line.spans.insert(0, lead);
            line
        })
        .collect()
}

/// The command as the user would type it: `bash -lc 'python3 x.py'` shows as `python3 x.py`.
pub fn display_command(command: &str) -> String {
    for shell in ["bash", "zsh", "sh"] {
        for flag in [" -lc ", " -c "] {
            let marker = format!("{shell}{flag}");
            if let Some(pos) = command.find(&marker) {
                let before = &command[..pos];
                if before.is_empty() || before.ends_with('/') && !before.contains(' ') {
                    return unquote(&command[pos + marker.len()..]);
                }
            }
        }
    }
    command.to_string()
}

/// One layer of shell quoting removed (`'it'\''s'` → `it's`, `"say \"hi\""` → `say "hi"`),
/// when the whole string is one quoted word.
fn unquote(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        let inner = &s[1..s.len() - 1];
        if inner.replace("'\\''", "").contains('\'') {
            // Not one quoted word after all.
            return s.to_string();
        }
        return inner.replace("'\\''", "'");
    }
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        let mut out = String::new();
        let mut chars = s[1..s.len() - 1].chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e @ ('"' | '\\' | '$' | '`')) => out.push(e),
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                },
                // An unescaped quote ends the word early: several words, shown as they are.
                '"' => return s.to_string(),
                c => out.push(c),
            }
        }
        return out;
    }
    s.to_string()
}

#[allow(clippy::too_many_arguments)]
fn command_lines(
    command: &str,
    output: &str,
    exit_code: Option<i32>,
    state: CommandState,
    duration_ms: Option<i64>,
    width: usize,
    t: &Theme,
    full: bool,
) -> Vec<Line<'static>> {
    let (verb, verb_style) = match state {
        CommandState::Running => ("Running ", t.bold()),
        CommandState::Done => ("Ran ", t.bold()),
        CommandState::Failed => ("Ran ", t.error()),
        CommandState::Declined => ("Declined ", t.warning()),
    };
    let mut header = vec![
        Span::styled("• ", t.dim()),
        Span::styled(verb, verb_style),
        Span::styled(display_command(command), t.code()),
    ];
    let mut facts = Vec::new();
    if let (Some(code), CommandState::Failed) = (exit_code, state) {
        facts.push(format!("exit {code}"));
    }
    if let (Some(ms), false) = (duration_ms, state == CommandState::Running) {
        facts.push(format_duration(ms));
    }
    if !facts.is_empty() {
        header.push(Span::styled(format!(" ({})", facts.join(", ")), t.dim()));
    }
    let mut lines = wrap_line(&Line::from(header), width, &[Span::raw("    ")]);
    let out_lines: Vec<&str> = output.lines().collect();
    if out_lines.is_empty() {
        if state != CommandState::Running && state != CommandState::Declined {
            lines.push(Line::from(vec![
                Span::styled("  └ ", t.dim()),
                Span::styled("(no output)", t.dim()),
            ]));
        }
        return lines;
    }
    let fold = !full && out_lines.len() > OUTPUT_HEAD + OUTPUT_TAIL + 1;
    let shown: Vec<(usize, &str)> = if fold {
        out_lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < OUTPUT_HEAD || *i >= out_lines.len() - OUTPUT_TAIL)
            .map(|(i, l)| (i, *l))
            .collect()
    } else {
        out_lines.iter().copied().enumerate().collect()
    };
    let hidden = out_lines.len() - shown.len();
    let mut first = true;
    for (i, text) in shown {
        if fold && i == out_lines.len() - OUTPUT_TAIL {
            lines.push(Line::from(vec![
                Span::raw("    "),
                Span::styled(format!("… +{hidden} lines (ctrl+t to view)"), t.dim()),
            ]));
        }
        let lead = if first { "  └ " } else { "    " };
        first = false;
        let line = Line::from(vec![
            Span::styled(lead, t.dim()),
            Span::styled(text.to_string(), t.dim()),
        ]);
        lines.extend(wrap_line(&line, width, &[Span::raw("    ")]));
    }
    lines
}

fn format_duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

fn patch_lines(
    changes: &[FileUpdateChange],
    status: Option<PatchApplyStatus>,
    width: usize,
    t: &Theme,
    full: bool,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let failed = matches!(
        status,
        Some(PatchApplyStatus::Failed) | Some(PatchApplyStatus::Declined)
    );
    for (n, change) in changes.iter().enumerate() {
        let (added, removed) = count_changes(&change.diff);
        let verb = match (&change.kind, status) {
            (_, Some(PatchApplyStatus::Declined)) => "Declined edit of ",
            (_, Some(PatchApplyStatus::Failed)) => "Failed to edit ",
            (PatchChangeKind::Add, _) => "Added ",
            (PatchChangeKind::Delete, _) => "Deleted ",
            (PatchChangeKind::Update { .. }, _) => "Edited ",
        };
        let mut path = change.path.clone();
        if let PatchChangeKind::Update {
            move_path: Some(to),
        } = &change.kind
        {
            path = format!("{path} → {to}");
        }
        let bullet = if n == 0 { "• " } else { "  " };
        let header = Line::from(vec![
            Span::styled(bullet, t.dim()),
            Span::styled(verb, if failed { t.error() } else { t.bold() }),
            Span::raw(path),
            Span::raw(" ("),
            Span::styled(format!("+{added}"), t.added()),
            Span::raw(" "),
            Span::styled(format!("-{removed}"), t.removed()),
            Span::raw(")"),
        ]);
        lines.extend(wrap_line(&header, width, &[Span::raw("    ")]));
        let body: Vec<&str> = change
            .diff
            .lines()
            .filter(|l| !l.starts_with("+++") && !l.starts_with("---") && !l.starts_with("diff "))
            .collect();
        let limit = if full { body.len() } else { DIFF_LINES };
        for l in body.iter().take(limit) {
            let style = if l.starts_with('+') {
                t.added()
            } else if l.starts_with('-') {
                t.removed()
            } else if l.starts_with("@@") {
                t.dim()
            } else {
                Default::default()
            };
            let line = Line::from(vec![Span::raw("    "), Span::styled(l.to_string(), style)]);
            lines.extend(wrap_line(&line, width, &[Span::raw("    ")]));
        }
        if body.len() > limit {
            lines.push(Line::from(vec![
                Span::raw("    "),
                Span::styled(
                    format!("… +{} lines (ctrl+t to view)", body.len() - limit),
                    t.dim(),
                ),
            ]));
        }
    }
    lines
}

/// Lines added and removed by a unified diff (or, for a new file, its content).
fn count_changes(diff: &str) -> (usize, usize) {
    let mut added = 0;
    let mut removed = 0;
    for l in diff.lines() {
        if l.starts_with('+') && !l.starts_with("+++") {
            added += 1;
        } else if l.starts_with('-') && !l.starts_with("---") {
            removed += 1;
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_wrapper_is_not_shown() {
        assert_eq!(
            display_command("/bin/bash -lc 'python3 x.py'"),
            "python3 x.py"
        );
        assert_eq!(display_command("bash -lc 'echo it'\\''s'"), "echo it's");
        assert_eq!(display_command("/usr/bin/zsh -lc ls"), "ls");
        assert_eq!(
            display_command(r#"/bin/bash -lc "python3 -c 'print(\"x\")'""#),
            r#"python3 -c 'print("x")'"#
        );
        assert_eq!(display_command(r#"bash -lc "a" "b""#), r#""a" "b""#);
        // Not a wrapper: left alone.
        assert_eq!(display_command("echo bash -lc x"), "echo bash -lc x");
        // Two quoted words are shown as the shell would see them.
        assert_eq!(display_command("bash -lc 'a' && 'b'"), "'a' && 'b'");
    }
}
