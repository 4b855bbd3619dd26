//! What wright knows about a model: how to declare tools to it and whether it reasons.

use wright_models::WireApi;
use wright_tools::spec::ToolStyle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    pub tool_style: ToolStyle,
    /// Accepts `reasoning: {effort}` and returns reasoning items.
    pub reasoning: bool,
    pub default_effort: Option<&'static str>,
}

pub fn model_info(model: &str, wire: WireApi) -> ModelInfo {
    let m = model.to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    if wire == WireApi::Chat {
        // Chat Completions has neither freeform tools nor a reasoning field we can rely on.
        return ModelInfo {
            tool_style: ToolStyle::Function,
            reasoning: false,
            default_effort: None,
        };
    }
    let codex_trained = m.starts_with("gpt-5") || m.contains("codex");
    let reasoning = codex_trained || m.starts_with("o3") || m.starts_with("o4");
    ModelInfo {
        tool_style: if codex_trained {
            ToolStyle::Freeform
        } else {
            ToolStyle::Function
        },
        reasoning,
        default_effort: reasoning.then_some("medium"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(
            model_info("gpt-5.5", WireApi::Responses).tool_style,
            ToolStyle::Freeform
        );
        assert!(model_info("o3", WireApi::Responses).reasoning);
        assert_eq!(
            model_info("o4-mini", WireApi::Responses).tool_style,
            ToolStyle::Function
        );
        assert!(!model_info("gpt-4.1", WireApi::Responses).reasoning);
        assert_eq!(
            model_info("gpt-5.5", WireApi::Chat).tool_style,
            ToolStyle::Function
        );
    }
}
