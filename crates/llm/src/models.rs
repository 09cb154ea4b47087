//! `/v1/models` parsing, reading the optional extras servers add: llama-swap `status` and `meta.n_ctx`,
//! vLLM `max_model_len`, generic `context_length`.

use serde::Deserialize;

/// One model as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteModel {
    pub id: String,
    pub loaded: Option<bool>,
    pub context_length: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct ModelList {
    #[serde(default)]
    pub data: Vec<serde_json::Value>,
}

impl RemoteModel {
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<Self> {
        let id = v.get("id")?.as_str()?.to_owned();
        let loaded = v
            .pointer("/status/value")
            .or_else(|| v.get("status"))
            .and_then(|s| s.as_str())
            .map(|s| s == "loaded");
        let context_length = v
            .pointer("/meta/n_ctx")
            .or_else(|| v.get("max_model_len"))
            .or_else(|| v.get("context_length"))
            .and_then(|n| n.as_u64());
        Some(Self {
            id,
            loaded,
            context_length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_llama_swap_and_vllm_extras() {
        let swap =
            serde_json::json!({"id":"qwen","status":{"value":"loaded"},"meta":{"n_ctx":32768}});
        assert_eq!(
            RemoteModel::from_json(&swap),
            Some(RemoteModel {
                id: "qwen".into(),
                loaded: Some(true),
                context_length: Some(32768)
            })
        );
        let vllm = serde_json::json!({"id":"m","max_model_len":8192});
        assert_eq!(
            RemoteModel::from_json(&vllm).and_then(|m| m.context_length),
            Some(8192)
        );
        let plain = serde_json::json!({"id":"m"});
        assert_eq!(
            RemoteModel::from_json(&plain).map(|m| (m.loaded, m.context_length)),
            Some((None, None))
        );
    }
}
