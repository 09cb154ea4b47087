//! An agent session's configurable options: `configOptions` (model, mode, thought level…), the older
//! `modes` block, and the legacy `models` block some agents still send. The task's choices are applied
//! through `session/set_config_option`, else `session/set_mode`, else the legacy `session/set_model` —
//! and only when the agent offers that value.

use serde_json::Value;

/// One select option of the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOption {
    pub id: String,
    pub category: String,
    pub current: String,
    pub values: Vec<String>,
}

/// Everything the agent said it lets us choose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionConfig {
    pub options: Vec<ConfigOption>,
    pub modes: Vec<String>,
    pub current_mode: Option<String>,
    pub legacy_models: Vec<String>,
    pub current_model: Option<String>,
}

fn strings(list: Option<&Value>, key: &str) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.get(key).and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `configOptions` (flattening grouped selects).
pub fn parse_options(v: &Value) -> Vec<ConfigOption> {
    v.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|o| {
                    let mut values = Vec::new();
                    for entry in o
                        .get("options")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        match entry.get("value").and_then(Value::as_str) {
                            Some(value) => values.push(value.to_owned()),
                            None => values.extend(strings(entry.get("options"), "value")),
                        }
                    }
                    Some(ConfigOption {
                        id: o.get("id")?.as_str()?.to_owned(),
                        category: o
                            .get("category")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        current: o
                            .get("currentValue")
                            .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
                            .unwrap_or_default(),
                        values,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

impl SessionConfig {
    /// From a `session/new` (or `session/load`) result.
    pub fn from_session(result: &Value) -> Self {
        Self {
            options: result
                .get("configOptions")
                .map(parse_options)
                .unwrap_or_default(),
            modes: strings(result.pointer("/modes/availableModes"), "id"),
            current_mode: result
                .pointer("/modes/currentModeId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            legacy_models: strings(result.pointer("/models/availableModels"), "modelId"),
            current_model: result
                .pointer("/models/currentModelId")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    /// The option of `category` that offers `value`, and the exact value to send: `value` itself, or a
    /// `provider/value` the agent lists (opencode names models `boocode/<model>`).
    pub fn option_for(&self, category: &str, value: &str) -> Option<(&ConfigOption, String)> {
        let suffix = format!("/{value}");
        self.options
            .iter()
            .filter(|o| o.category == category)
            .find_map(|o| {
                if o.values.is_empty() || o.values.iter().any(|v| v == value) {
                    Some((o, value.to_owned()))
                } else {
                    o.values
                        .iter()
                        .find(|v| v.ends_with(&suffix))
                        .map(|v| (o, v.clone()))
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_modes_and_legacy_models() {
        let result = serde_json::json!({
            "sessionId": "s",
            "configOptions": [
                {"id": "model", "name": "Model", "category": "model", "type": "select", "currentValue": "a",
                 "options": [{"value": "a", "name": "A"}, {"group": "more", "name": "More", "options": [{"value": "b", "name": "B"}]}]},
                {"id": "effort", "name": "Effort", "category": "thought_level", "type": "select", "currentValue": "low",
                 "options": [{"value": "low", "name": "Low"}, {"value": "high", "name": "High"}]}
            ],
            "modes": {"currentModeId": "default", "availableModes": [{"id": "default", "name": "D"}, {"id": "plan", "name": "P"}]},
            "models": {"currentModelId": "m1", "availableModels": [{"modelId": "m1", "name": "M1"}]}
        });
        let c = SessionConfig::from_session(&result);
        assert_eq!(c.options[0].values, ["a", "b"]);
        assert_eq!(
            c.option_for("model", "b").map(|(o, _)| o.id.as_str()),
            Some("model")
        );
        assert!(c.option_for("model", "zzz").is_none());
        assert_eq!(
            c.option_for("thought_level", "high")
                .map(|(o, _)| o)
                .map(|o| o.current.as_str()),
            Some("low")
        );
        assert_eq!(
            (c.modes.len(), c.current_mode.as_deref()),
            (2, Some("default"))
        );
        assert_eq!(c.legacy_models, ["m1"]);
        let opencode =
            SessionConfig::from_session(&serde_json::json!({"configOptions": [{"id": "model",
            "category": "model", "currentValue": "opencode/big",
            "options": [{"value": "opencode/big"}, {"value": "boocode/fake-model"}]}]}));
        assert_eq!(
            opencode.option_for("model", "fake-model").map(|(_, v)| v),
            Some("boocode/fake-model".to_owned())
        );
    }
}
