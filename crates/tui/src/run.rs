//! The terminal side: raw mode, the inline viewport under the scrollback, the event loop, and
//! putting the terminal back however wright leaves (exit, panic, SIGTERM, SIGHUP).

use std::io::{self, Stdout, Write};
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event, EventStream, KeyEventKind,
};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{execute, terminal};
use futures_util::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::widgets::{Paragraph, Widget};
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::mpsc;

use crate::app::{App, StartOptions};
use crate::cells::Level;
use crate::rpc::{self, RpcSender};
use crate::theme::Theme;
use crate::ui::{self, TranscriptCache};
use crate::TuiError;

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Lines to and from an App Server (in process or over a socket).
pub struct Lines {
    pub tx: mpsc::UnboundedSender<String>,
    pub rx: mpsc::UnboundedReceiver<String>,
}

/// How tall the live area is on a terminal `rows` high.
fn live_height(rows: u16) -> u16 {
    (rows / 2).clamp(8, 16).min(rows)
}

/// Puts the terminal back: cooked mode, no bracketed paste, the main screen, a visible cursor.
/// Safe to call more than once, and from a panic hook.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = terminal::disable_raw_mode();
    let _ = out.flush();
}

/// Runs the TUI until the user quits or the server goes away. Returns the process exit code.
pub async fn run(lines: Lines, start: StartOptions) -> Result<i32, TuiError> {
    let Lines { tx, mut rx } = lines;
    let mut app = App::new(RpcSender::new(tx), Theme::from_env(), start);
    crate::highlight::warm_up();

    terminal::enable_raw_mode().map_err(TuiError::Terminal)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    let result = event_loop(&mut app, &mut rx).await;
    restore();
    result
}

async fn event_loop(
    app: &mut App,
    rx: &mut mpsc::UnboundedReceiver<String>,
) -> Result<i32, TuiError> {
    execute!(io::stdout(), EnableBracketedPaste).map_err(TuiError::Terminal)?;
    let (_, rows) = terminal::size().map_err(TuiError::Terminal)?;
    let mut term = Terminal::with_options(
        CrosstermBackend::new(io::stdout()),
        TerminalOptions {
            viewport: Viewport::Inline(live_height(rows)),
        },
    )
    .map_err(TuiError::Terminal)?;
    let mut events = EventStream::new();
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut overlay: Option<Term> = None;
    let mut cache = TranscriptCache::default();
    let mut tick = 0usize;
    // 1 when the session ended because the server went away rather than by the user's choice.
    let mut code = 0;

    app.connect();
    draw(app, &mut term, &mut overlay, &mut cache, tick)?;
    loop {
        // The spinner and the turn's clock move only while a turn runs; idle, nothing wakes.
        let ticking = app.busy();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    if !app.key(key) {
                        continue;
                    }
                }
                Some(Ok(Event::Paste(text))) => app.paste(&text),
                Some(Ok(Event::Resize(_, _))) => {
                    // Scrollback already written keeps its width; what comes next takes the new.
                    term.autoresize().map_err(TuiError::Terminal)?;
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(TuiError::Terminal(e)),
                None => break,
            },
            line = rx.recv() => match line {
                Some(line) => match rpc::parse(&line) {
                    Ok(message) => app.incoming(message),
                    Err(why) => app.notice(Level::Error, why),
                },
                None => {
                    app.notice(Level::Error, "the App Server closed the connection");
                    app.quit = true;
                    code = 1;
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(100)), if ticking => tick += 1,
            // As a shell reports a process those signals end: 128 + the signal's number.
            _ = sigterm.recv() => {
                app.quit = true;
                code = 128 + 15;
            }
            _ = sighup.recv() => {
                app.quit = true;
                code = 128 + 1;
            }
        }
        draw(app, &mut term, &mut overlay, &mut cache, tick)?;
        if app.quit {
            break;
        }
    }
    // Leave the cursor under the transcript, with the live area wiped.
    if overlay.take().is_some() {
        let _ = execute!(io::stdout(), LeaveAlternateScreen);
    }
    let _ = term.clear();
    let top = term.get_frame().area().y;
    let _ = term.set_cursor_position((0, top));
    Ok(code)
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal, TuiError> {
    tokio::signal::unix::signal(kind).map_err(TuiError::Terminal)
}

/// Writes finished cells into the scrollback, then draws the live area (or the transcript).
fn draw(
    app: &mut App,
    term: &mut Term,
    overlay: &mut Option<Term>,
    cache: &mut TranscriptCache,
    tick: usize,
) -> Result<(), TuiError> {
    match (app.overlay.is_some(), overlay.is_some()) {
        (true, false) => {
            execute!(io::stdout(), EnterAlternateScreen).map_err(TuiError::Terminal)?;
            let mut full =
                Terminal::new(CrosstermBackend::new(io::stdout())).map_err(TuiError::Terminal)?;
            full.clear().map_err(TuiError::Terminal)?;
            *overlay = Some(full);
        }
        (false, true) => {
            *overlay = None;
            execute!(io::stdout(), LeaveAlternateScreen).map_err(TuiError::Terminal)?;
            // The main screen's live area is drawn afresh.
            term.clear().map_err(TuiError::Terminal)?;
        }
        _ => {}
    }
    if let (Some(full), Some(mut offset)) = (overlay.as_mut(), app.overlay) {
        full.draw(|f| ui::draw_overlay(f, app, cache, &mut offset))
            .map_err(TuiError::Terminal)?;
        // Scrolling past either end is clamped.
        app.overlay = Some(offset);
        return Ok(());
    }
    let width = term.size().map_err(TuiError::Terminal)?.width;
    for cell in &app.transcript[app.written..] {
        // In pieces, so a cell of any length fits insert_before's u16 height.
        for chunk in cell.lines(width, &app.theme, false).chunks(512) {
            let lines = chunk.to_vec();
            term.insert_before(lines.len() as u16, |buf| {
                Paragraph::new(lines).render(buf.area, buf);
            })
            .map_err(TuiError::Terminal)?;
        }
    }
    app.written = app.transcript.len();
    term.draw(|f| ui::draw_live(f, app, tick))
        .map_err(TuiError::Terminal)?;
    Ok(())
}
