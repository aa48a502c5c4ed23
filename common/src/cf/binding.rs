//! One entry of `VCAP_SERVICES`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceBinding {
    pub name: String,
    /// Filled from the `VCAP_SERVICES` key when the binding itself has no `label`.
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub instance_name: Option<String>,
    #[serde(default)]
    pub credentials: serde_json::Value,
}

impl ServiceBinding {
    pub(super) fn describe(&self) -> String {
        format!("{} ({})", self.name, self.label)
    }

    pub(super) fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}
