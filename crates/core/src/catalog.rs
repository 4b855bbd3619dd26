//! What wright knows about a model: its context window, how to declare tools to it, and
//! whether it reasons. Unknown models get conservative defaults.

use wright_models::WireApi;
use wright_tools::spec::ToolStyle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// Tokens the model accepts (input + output).
    pub context_window: u64,
    pub tool_style: ToolStyle,
    /// Accepts `reasoning: {effort}` and returns reasoning items.
    pub reasoning: bool,
    pub default_effort: Option<&'static str>,
    /// Accepts images in its input (`view_image`, attached images).
    pub images: bool,
}

/// Window assumed for a model the catalog does not know.
pub const UNKNOWN_CONTEXT_WINDOW: u64 = 128_000;

/// The models offered when the provider cannot list its own (`model/list` without a
/// reachable `GET /models`).
pub const KNOWN_MODELS: &[&str] = &["gpt-5.5", "gpt-5-codex", "o3", "o4-mini", "gpt-4.1"];

/// The context window wright gives the embedded model (its KV cache is sized to it).
pub const LOCAL_CONTEXT_WINDOW: u64 = 32_768;

pub fn model_info(model: &str, wire: WireApi) -> ModelInfo {
    if wire == WireApi::Local {
        return ModelInfo {
            context_window: LOCAL_CONTEXT_WINDOW,
            tool_style: ToolStyle::Compact,
            reasoning: false,
            default_effort: None,
            images: false,
        };
    }
    let lower = model.to_ascii_lowercase();
    let m = lower.rsplit('/').next().unwrap_or(&lower);
    // OpenAI's GPT-4o and later, and the o-series, read images.
    let images = ["gpt-5", "gpt-4.1", "gpt-4o", "o3", "o4"]
        .iter()
        .any(|p| m.starts_with(p))
        || m.contains("codex");
    let (context_window, codex_trained, reasoning) =
        if m.starts_with("gpt-5") || m.contains("codex") {
            (272_000, true, true)
        } else if m.starts_with("o3") || m.starts_with("o4") {
            (200_000, false, true)
        } else if m.starts_with("gpt-4.1") {
            (1_047_576, false, false)
        } else if m.starts_with("gpt-4o") {
            (128_000, false, false)
        } else if m.starts_with("qwen") {
            // The local Qwen coder models: 32k native context.
            (32_768, false, false)
        } else {
            (UNKNOWN_CONTEXT_WINDOW, false, false)
        };
    if wire == WireApi::Chat {
        // Chat Completions has neither freeform tools nor a reasoning field we can rely on.
        return ModelInfo {
            context_window,
            tool_style: ToolStyle::Function,
            reasoning: false,
            default_effort: None,
            images,
        };
    }
    ModelInfo {
        context_window,
        tool_style: if codex_trained {
            ToolStyle::Freeform
        } else {
            ToolStyle::Function
        },
        reasoning,
        default_effort: reasoning.then_some("medium"),
        images,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let gpt5 = model_info("gpt-5.5", WireApi::Responses);
        assert_eq!(gpt5.tool_style, ToolStyle::Freeform);
        assert_eq!(gpt5.context_window, 272_000);
        assert_eq!(
            model_info("gpt-5-codex", WireApi::Responses).tool_style,
            ToolStyle::Freeform
        );
        let o3 = model_info("o3", WireApi::Responses);
        assert!(o3.reasoning);
        assert_eq!(o3.tool_style, ToolStyle::Function);
        assert!(model_info("o4-mini", WireApi::Responses).reasoning);
        let gpt41 = model_info("gpt-4.1", WireApi::Responses);
        assert!(!gpt41.reasoning);
        assert_eq!(gpt41.context_window, 1_047_576);
        let qwen = model_info("Qwen/Qwen2.5-Coder-7B-Instruct", WireApi::Chat);
        assert_eq!(qwen.context_window, 32_768);
        assert_eq!(qwen.tool_style, ToolStyle::Function);
        assert_eq!(
            model_info("gpt-5.5", WireApi::Chat).tool_style,
            ToolStyle::Function
        );
        assert_eq!(
            model_info("mystery", WireApi::Responses).context_window,
            UNKNOWN_CONTEXT_WINDOW
        );
    }
}
