//! Settings pages of an installed connector app.

use serde::{Deserialize, Serialize};

use crate::codec::through_serde;
use crate::{Common, Value};

/// Options of `formInit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FormInitOptions {
    /// The resource whose form is opened.
    #[serde(default)]
    pub resource: Value,
    /// Its parent resource.
    #[serde(rename = "parentResource", default)]
    pub parent_resource: Value,
    /// The license.
    #[serde(default)]
    pub license: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// A form: sections of fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// One section of a form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Section title.
    #[serde(default)]
    pub title: String,
    /// Its fields.
    pub fields: Vec<Field>,
}

/// One field of a form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Key under which the value is saved.
    pub id: String,
    /// `text`, `number`, `checkbox`, `select`, `multiselect` or `textarea`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Label shown.
    #[serde(default)]
    pub label: String,
    /// Current value.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
    /// Choices of select fields, `[value, label]` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Value>,
    /// Whether a value is required.
    #[serde(default)]
    pub required: bool,
    /// Help shown next to the field.
    #[serde(rename = "helpText", default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
}

/// Options of `persistSettings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistSettingsOptions {
    /// License editions and options.
    #[serde(default)]
    pub opts: Value,
    /// The changed key/values.
    #[serde(default)]
    pub pending: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Result of `persistSettings`; `pending` is saved to the integration's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistSettingsResponse {
    /// Whether the settings are accepted.
    pub success: bool,
    /// What to save.
    #[serde(default)]
    pub pending: Value,
}

/// Options of `preSave`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreSaveOptions {
    /// The resource as it will be saved.
    #[serde(rename = "newResource", default)]
    pub new_resource: Value,
    /// The resource as it was.
    #[serde(rename = "oldResource", default)]
    pub old_resource: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Options of `refreshMetadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshMetadataOptions {
    /// The field to refresh.
    #[serde(default)]
    pub opts: Value,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Options of `getMappingMetadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MappingMetadataOptions {
    /// The installed version.
    #[serde(default)]
    pub version: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

through_serde! {
    options: FormInitOptions, PersistSettingsOptions, PreSaveOptions, RefreshMetadataOptions, MappingMetadataOptions;
    answers: Form, PersistSettingsResponse;
}
