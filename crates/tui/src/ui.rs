//! Drawing: the live area under the scrollback (running items, a prompt or popup, the
//! composer, the status line) and the full-screen transcript view.

use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::app::{App, ApprovalKind, UserInput, APPROVAL_CHOICES};
use crate::cells::display_command;
use crate::slash;
use crate::wrap::wrap_line;

/// The most rows the composer takes before it scrolls.
const COMPOSER_MAX: u16 = 8;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Draws the live area: running items, a prompt or popup, the composer and the status line.
pub fn draw_live(f: &mut Frame, app: &App, tick: usize) {
    let area = f.area();
    let t = &app.theme;
    let placeholder = if app.declining.is_some() {
        "Tell the model why not (Enter sends, Esc goes back)"
    } else if app.busy() {
        "Steer the turn (Enter), queue a message (Tab), interrupt (Esc)"
    } else {
        "Ask wright to do something, / for commands, ! for a shell command"
    };
    let (mut composer, cursor) = app.composer.render(area.width, t, placeholder);
    // Only the rows around the cursor when the text is taller than the composer.
    let rows = composer.len() as u16;
    let composer_h = rows.min(COMPOSER_MAX);
    let skip = (cursor.1 + 1).saturating_sub(composer_h);
    composer.drain(..usize::from(skip));
    let (popup, popup_cursor) = popup_lines(app, area.width);
    let popup_h = popup.len() as u16;
    let [top, pop, input, status] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(popup_h),
        Constraint::Length(composer_h),
        Constraint::Length(1),
    ])
    .areas(area);

    // Running items: their last rows, as much as fits.
    let mut live: Vec<Line<'static>> = Vec::new();
    for (_, cell) in &app.active {
        live.extend(cell.lines(top.width, t, false));
    }
    if app.busy() {
        let secs = app.turn_started.map_or(0, |s| s.elapsed().as_secs());
        let what = app.hint.clone().unwrap_or_else(|| "Working".into());
        live.push(Line::from(vec![
            Span::styled(format!("{} ", SPINNER[tick % SPINNER.len()]), t.accent()),
            Span::styled(what, t.bold()),
            Span::styled(format!(" ({secs}s · esc to interrupt)"), t.dim()),
        ]));
    }
    if !app.queued.is_empty() {
        for q in &app.queued {
            let first = q.lines().next().unwrap_or_default();
            live.push(truncate(
                Line::from(vec![
                    Span::styled("  ↳ queued: ", t.dim()),
                    Span::styled(first.to_string(), t.dim()),
                ]),
                usize::from(top.width),
            ));
        }
    }
    let keep = usize::from(top.height);
    let start = live.len().saturating_sub(keep);
    // Bottom-aligned, so the newest output sits right above the composer.
    let pad = keep.saturating_sub(live.len() - start);
    let mut shown: Vec<Line<'static>> = vec![Line::default(); pad];
    shown.extend(live.into_iter().skip(start));
    f.render_widget(Paragraph::new(shown), top);

    if popup_h > 0 {
        f.render_widget(Clear, pop);
        f.render_widget(Paragraph::new(popup), pop);
    }
    f.render_widget(Paragraph::new(composer), input);
    f.render_widget(Paragraph::new(status_line(app, status.width)), status);
    if let Some((x, y)) = popup_cursor {
        // The answer typed for "Other" has the cursor (kept inside the popup if it is cut).
        let x = (pop.x + x).min(pop.right().saturating_sub(1));
        let y = (pop.y + y).min(pop.bottom().saturating_sub(1));
        f.set_cursor_position((x, y));
    } else if app.approval.is_none() && app.picker.is_none() && app.user_input.is_none() {
        f.set_cursor_position((input.x + cursor.0, input.y + cursor.1.saturating_sub(skip)));
    }
}

/// The approval prompt, the model's questions, a picker or the slash-command list, when one is
/// open; and where the cursor goes when something is typed in it (column, row).
fn popup_lines(app: &App, width: u16) -> (Vec<Line<'static>>, Option<(u16, u16)>) {
    if app.approval.is_none() {
        if let Some(input) = &app.user_input {
            return question_lines(app, input, width);
        }
    }
    (other_popup_lines(app, width), None)
}

/// The question on screen: its header, the question, the options numbered with their
/// descriptions, "Other" when offered, and the keys.
fn question_lines(
    app: &App,
    input: &UserInput,
    width: u16,
) -> (Vec<Line<'static>>, Option<(u16, u16)>) {
    let t = &app.theme;
    let w = usize::from(width.max(10));
    let mut lines = Vec::new();
    let mut cursor = None;
    let Some(q) = input.question() else {
        return (lines, None);
    };
    let mut title = Line::from(Span::styled(q.header.clone(), t.bold()));
    if input.questions.len() > 1 {
        title.spans.push(Span::styled(
            format!(
                "  question {} of {}",
                input.current + 1,
                input.questions.len()
            ),
            t.dim(),
        ));
    }
    lines.push(truncate(title, w));
    let question = Line::from(Span::raw(format!("  {}", q.question)));
    lines.extend(wrap_line(&question, w, &[Span::raw("  ")]));
    let options = input.options();
    let indent = [Span::raw("     ")];
    for (i, option) in options.iter().enumerate() {
        let chosen = i == input.selected && input.typing.is_none();
        let style = if chosen {
            t.selected()
        } else {
            Default::default()
        };
        let mark = if chosen { "› " } else { "  " };
        let mut l = Line::from(Span::styled(
            format!("{mark}{}. {}", i + 1, option.label),
            style,
        ));
        if !option.description.is_empty() {
            l.spans
                .push(Span::styled(format!("  {}", option.description), t.dim()));
        }
        lines.extend(wrap_line(&l, w, &indent));
    }
    if input.offers_other() {
        let n = options.len() + 1;
        match &input.typing {
            Some(text) => {
                // A secret is not echoed, only counted.
                let shown = if q.is_secret {
                    "•".repeat(text.chars().count())
                } else {
                    text.clone()
                };
                let l = Line::from(vec![
                    Span::styled(format!("› {n}. Other: "), t.bold()),
                    Span::raw(shown),
                ]);
                let wrapped = wrap_line(&l, w, &indent);
                let col = wrapped.last().map_or(0, |l| l.width());
                lines.extend(wrapped);
                let row = lines.len().saturating_sub(1);
                cursor = Some((
                    u16::try_from(col).unwrap_or(u16::MAX),
                    u16::try_from(row).unwrap_or(u16::MAX),
                ));
            }
            None => {
                let chosen = input.selected == options.len();
                let style = if chosen {
                    t.selected()
                } else {
                    Default::default()
                };
                let mark = if chosen { "› " } else { "  " };
                lines.push(truncate(
                    Line::from(vec![
                        Span::styled(format!("{mark}{n}. Other"), style),
                        Span::styled("  type your own answer", t.dim()),
                    ]),
                    w,
                ));
            }
        }
    }
    let keys = match (&input.typing, options.is_empty()) {
        (Some(_), true) => "  enter send · esc dismiss".to_string(),
        (Some(_), false) => "  enter send · esc back to the choices".to_string(),
        (None, _) => format!(
            "  ↑/↓ choose · enter or 1-{} pick · esc dismiss",
            input.rows().min(9)
        ),
    };
    lines.push(truncate(Line::from(Span::styled(keys, t.dim())), w));
    (lines, cursor)
}

/// The approval prompt, a picker or the slash-command list, when one is open.
fn other_popup_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let t = &app.theme;
    let w = usize::from(width.max(10));
    let mut lines = Vec::new();
    if let Some(a) = &app.approval {
        let (title, body) = match &a.kind {
            ApprovalKind::Command { command, cwd } => (
                "Run this command?",
                vec![
                    Line::from(vec![
                        Span::styled("  $ ", t.dim()),
                        Span::styled(display_command(command), t.code()),
                    ]),
                    Line::from(vec![Span::styled("  in ", t.dim()), Span::raw(cwd.clone())]),
                ],
            ),
            ApprovalKind::Patch { files } => (
                "Apply these changes?",
                vec![Line::from(vec![
                    Span::styled("  files ", t.dim()),
                    Span::raw(files.join(", ")),
                ])],
            ),
            ApprovalKind::McpTool { question, .. } => (
                "Approve app tool call?",
                vec![Line::from(vec![Span::raw(format!("  {question}"))])],
            ),
        };
        lines.push(Line::from(Span::styled(title, t.bold())));
        for l in body {
            lines.extend(wrap_line(&l, w, &[Span::raw("    ")]));
        }
        if let Some(reason) = &a.reason {
            let l = Line::from(vec![
                Span::styled("  why ", t.dim()),
                Span::raw(reason.clone()),
            ]);
            lines.extend(wrap_line(&l, w, &[Span::raw("      ")]));
        }
        for (i, (label, key, _)) in APPROVAL_CHOICES.iter().enumerate() {
            let style = if i == a.selected {
                t.selected()
            } else {
                Default::default()
            };
            let mark = if i == a.selected { "› " } else { "  " };
            lines.push(Line::from(vec![
                Span::styled(format!("{mark}{label}"), style),
                Span::styled(format!(" ({key})"), t.dim()),
            ]));
        }
        return lines;
    }
    if let Some(p) = &app.picker {
        let filter = if p.filter.is_empty() {
            "type to filter".to_string()
        } else {
            format!("filter: {}", p.filter)
        };
        lines.push(truncate(
            Line::from(vec![
                Span::styled(p.title.clone(), t.bold()),
                Span::styled(
                    format!("  {filter} · ↑/↓ choose · enter select · esc cancel"),
                    t.dim(),
                ),
            ]),
            w,
        ));
        let visible = p.visible();
        if visible.is_empty() {
            lines.push(Line::from(Span::styled("  nothing matches", t.dim())));
        }
        // A window of the list around the selection.
        const ROWS: usize = 8;
        let first = p.selected.saturating_sub(ROWS - 1);
        for (i, (name, about)) in visible.iter().enumerate().skip(first).take(ROWS) {
            let style = if i == p.selected {
                t.selected()
            } else {
                Default::default()
            };
            let mark = if i == p.selected { "› " } else { "  " };
            // Threads are known by their first message; models by their name.
            let (label, rest) = if p.action == crate::app::PickerAction::Resume {
                (about.clone(), String::new())
            } else {
                (name.clone(), about.clone())
            };
            let mut l = Line::from(vec![Span::styled(format!("{mark}{label}"), style)]);
            if !rest.is_empty() {
                l.spans.push(Span::styled(format!("  {rest}"), t.dim()));
            }
            lines.push(truncate(l, w));
        }
        return lines;
    }
    if app.composer.mention().is_some() && !app.files.is_empty() {
        for (i, path) in app.files.iter().enumerate() {
            let style = if i == app.file_selected {
                t.selected()
            } else {
                Default::default()
            };
            let mark = if i == app.file_selected { "› " } else { "  " };
            lines.push(truncate(
                Line::from(Span::styled(format!("{mark}{path}"), style)),
                w,
            ));
        }
        return lines;
    }
    let text = app.composer.text();
    if text.starts_with('/') {
        for cmd in slash::matches(text) {
            let l = Line::from(vec![
                Span::styled(format!("/{:<10}", cmd.name()), t.accent()),
                Span::styled(cmd.about(), t.dim()),
            ]);
            lines.push(truncate(l, w));
        }
    }
    lines
}

/// `line` cut to `width` columns.
fn truncate(line: Line<'static>, width: usize) -> Line<'static> {
    let mut wrapped = wrap_line(&line, width, &[]);
    if wrapped.is_empty() {
        Line::default()
    } else {
        wrapped.swap_remove(0)
    }
}

/// `model · cwd · sandbox · approvals · tokens`.
fn status_line(app: &App, width: u16) -> Line<'static> {
    let t = &app.theme;
    let s = &app.status;
    let cwd = shorten_home(&s.cwd);
    // Before a thread is open, only what is known.
    let labelled = |label: &str, value: &str| {
        if value.is_empty() {
            String::new()
        } else {
            format!("{label} {value}")
        }
    };
    let parts = [
        s.model.clone(),
        cwd,
        labelled("sandbox", &s.sandbox),
        labelled("approvals", &s.approval),
        app.usage_line(),
    ];
    let text = parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" · ");
    truncate(Line::from(Span::styled(text, t.dim())), usize::from(width))
}

fn shorten_home(path: &str) -> String {
    match std::env::var("HOME") {
        Ok(home) if !home.is_empty() && path.starts_with(&home) => {
            format!("~{}", &path[home.len()..])
        }
        _ => path.to_string(),
    }
}

/// The transcript, unfolded, rendered once per width and reused while scrolling.
#[derive(Default)]
pub struct TranscriptCache {
    width: u16,
    cells: usize,
    lines: Vec<Line<'static>>,
}

impl TranscriptCache {
    fn update(&mut self, app: &App, width: u16) {
        let cells = &app.transcript;
        if self.width != width || self.cells > cells.len() {
            self.width = width;
            self.cells = 0;
            self.lines.clear();
        }
        for cell in &cells[self.cells..] {
            self.lines.extend(cell.lines(width, &app.theme, true));
        }
        self.cells = cells.len();
    }
}

/// The full-screen transcript view (Ctrl+T). `offset` counts rows up from the bottom.
pub fn draw_overlay(f: &mut Frame, app: &App, cache: &mut TranscriptCache, offset: &mut usize) {
    let t = &app.theme;
    let [title, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(f.area());
    cache.update(app, body.width);
    // Running items are drawn fresh; finished ones come from the cache.
    let running: Vec<Line<'static>> = app
        .active
        .iter()
        .flat_map(|(_, c)| c.lines(body.width, t, true))
        .collect();
    let total = cache.lines.len() + running.len();
    let rows = usize::from(body.height);
    let max_offset = total.saturating_sub(rows);
    *offset = (*offset).min(max_offset);
    let end = total - *offset;
    let start = end.saturating_sub(rows);
    let shown: Vec<Line<'static>> = cache
        .lines
        .iter()
        .chain(running.iter())
        .skip(start)
        .take(end - start)
        .cloned()
        .collect();
    f.render_widget(
        Paragraph::new(Line::from(Span::styled("Transcript", t.bold()))),
        title,
    );
    f.render_widget(Paragraph::new(shown), body);
    let pct = ((max_offset - *offset) * 100)
        .checked_div(max_offset)
        .unwrap_or(100);
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!("↑/↓ scroll · PgUp/PgDn page · Home/End · q or esc close · {pct}%"),
            t.dim(),
        ))),
        foot,
    );
}
