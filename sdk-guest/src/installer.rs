//! Connector lifecycle: install, install steps, update, uninstall, edition changes.

use serde::{Deserialize, Serialize};

use crate::codec::through_serde;
use crate::{Common, Value};

/// Options of an installer function (the connector's, or an install step's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstallerOptions {
    /// License editions and options.
    #[serde(default)]
    pub opts: Value,
    /// The connection a connection step was completed with.
    #[serde(rename = "_connectionId", default)]
    pub connection_id: Option<String>,
    /// What the user submitted on a form step.
    #[serde(rename = "formSubmission", default)]
    pub form_submission: Option<Value>,
    /// Options every call receives (`_integrationId`, `_connectorId`, token).
    #[serde(flatten)]
    pub common: Common,
}

/// Result of a step function: `{success, stepsToUpdate}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Whether the step succeeded.
    pub success: bool,
    /// Install steps to replace (matched by `name`).
    #[serde(rename = "stepsToUpdate", default)]
    pub steps_to_update: Vec<Value>,
}

impl Default for StepResult {
    fn default() -> Self {
        Self {
            success: true,
            steps_to_update: Vec::new(),
        }
    }
}

/// Options of `updateFunction`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateOptions {
    /// License editions and options.
    #[serde(default)]
    pub opts: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Options of `preUninstallFunction` and uninstaller functions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UninstallOptions {
    /// License editions and options.
    #[serde(default)]
    pub opts: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Options of `changeEditionFunction`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeEditionOptions {
    /// Edition before.
    #[serde(rename = "fromEdition", default)]
    pub from_edition: Option<String>,
    /// Edition after.
    #[serde(rename = "toEdition", default)]
    pub to_edition: Option<String>,
    /// The installed integration.
    #[serde(default)]
    pub integration: Value,
    /// The license.
    #[serde(default)]
    pub license: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Options of `initChild`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InitChildOptions {
    /// The parent integration.
    #[serde(rename = "parentIntegration", default)]
    pub parent_integration: Value,
    /// The parent's license.
    #[serde(rename = "parentLicense", default)]
    pub parent_license: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

through_serde! {
    options: InstallerOptions, UpdateOptions, UninstallOptions, ChangeEditionOptions, InitChildOptions;
    answers: StepResult;
}
