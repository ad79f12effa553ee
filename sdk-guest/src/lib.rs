//! `integrator-sdk`: write Integrator extension functions in Rust.
//!
//! Hooks, wrappers, connector installers/uninstallers/updates and settings functions are plain
//! Rust functions over typed options and results. Register them by name with [`functions!`];
//! one component carries any number of functions of each kind, and the name a resource
//! references (`hooks.preSavePage.function = "tagOrders"`) selects which one runs.
//!
//! ```no_run
//! use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};
//! use integrator_sdk::Result;
//!
//! fn tag_orders(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
//!     let mut data = options.data;
//!     for record in &mut data {
//!         record["tagged"] = true.into();
//!     }
//!     Ok(PreSavePageResponse { data, ..Default::default() })
//! }
//!
//! integrator_sdk::functions! {
//!     pre_save_page: { "tagOrders" => tag_orders },
//! }
//! ```
//!
//! Records — and every other JSON value in options and results — are [`Value`]s of
//! [`integrator_json`]: the API of `serde_json::Value` (`record["status"]`, `get`, `as_str`,
//! `as_object_mut`, `take`, [`json!`], …), with objects that keep their keys in order (as
//! JavaScript's do) and numbers that keep their text (`1.50` stays `1.50`, big integers stay
//! exact). The SDK reads a page's records and writes them back with integrator-json's own
//! parser and writer, not through serde: that is most of what a hook over a large page costs.
//! For your own types, [`integrator_json::from_value`] and [`integrator_json::to_value`] go
//! through serde; `From` converts to and from `serde_json::Value`.
//!
//! Build with `cargo build --target wasm32-wasip2 --release` and upload the `.wasm` to a stack
//! (`PUT /v1/stacks/{_id}/component`). A function whose signature does not match its kind is a
//! compile error at the registration, pointing at the function:
//!
//! ```compile_fail,E0308
//! use integrator_sdk::hooks::PreMapOptions;
//! use integrator_sdk::Result;
//!
//! // preSavePage functions take PreSavePageOptions: this one takes preMap's options.
//! fn wrong(options: PreMapOptions) -> Result<Vec<integrator_sdk::hooks::RecordResult>> {
//!     Ok(Vec::new())
//! }
//!
//! integrator_sdk::functions! {
//!     pre_save_page: { "wrong" => wrong },
//! }
//! ```

pub mod arena;
mod codec;
pub mod hooks;
pub mod http;
pub mod installer;
pub mod log;
pub mod platform;
pub mod settings;
pub mod wrapper;

mod registry;

pub use integrator_json::{self, Number, Object, Value, json};
pub use registry::Functions;

/// A fatal failure of a function: the platform turns it into a job error (hooks, wrappers) or
/// an API error (installers, settings).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// Machine-readable code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Where it comes from (the platform adds the stack and function when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            source: None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Failure {}

/// Result of every extension function.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Options every call receives, whatever its kind.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Common {
    /// The call's one-time token for the platform API (see [`platform::Platform`]).
    #[serde(rename = "bearerToken", default)]
    pub bearer_token: String,
    /// The integration the call runs for.
    #[serde(
        rename = "_integrationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub integration_id: Option<String>,
    /// The connector whose code this is (connector code only).
    #[serde(
        rename = "_connectorId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connector_id: Option<String>,
    /// The integration's settings (connector apps).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub settings: Value,
    /// Free JSON set on the resource that references the function.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub configuration: Value,
    /// Whether the call is a test run.
    #[serde(rename = "testMode", default)]
    pub test_mode: bool,
}

impl Common {
    /// A client of the platform API authenticated with this call's token.
    pub fn platform(&self) -> platform::Platform {
        platform::Platform::new(&self.bearer_token)
    }
}

/// Register the component's functions by kind and name, and export them.
///
/// Kinds: `pre_save_page`, `pre_map`, `post_map`, `post_submit`, `post_response_map`,
/// `post_aggregate` (hooks); `wrapper_ping`, `wrapper_export`, `wrapper_import` (wrappers);
/// `installer`, `update`, `pre_uninstall`, `uninstaller`, `change_edition`, `init_child`
/// (connector lifecycle); `form_init`, `persist_settings`, `pre_save`, `refresh_metadata`,
/// `get_mapping_metadata` (settings). Use it once per component.
#[macro_export]
macro_rules! functions {
    ($($kind:ident : { $($name:literal => $function:path),* $(,)? }),* $(,)?) => {
        #[doc(hidden)]
        // `..NONE` fills the kinds not named; a component naming every kind makes it redundant.
        #[allow(clippy::needless_update)]
        static __INTEGRATOR_FUNCTIONS: $crate::Functions = $crate::Functions {
            $($kind: &[$(($name, $function)),*],)*
            ..$crate::Functions::NONE
        };

        #[doc(hidden)]
        struct __IntegratorExtension;

        impl $crate::__private::hooks::Guest for __IntegratorExtension {
            fn functions() -> ::std::vec::Vec<($crate::__private::hooks::HookKind, ::std::string::String)> {
                __INTEGRATOR_FUNCTIONS.hook_functions()
            }
            fn call(
                kind: $crate::__private::hooks::HookKind,
                function: ::std::string::String,
                options: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::__private::WitFailure> {
                __INTEGRATOR_FUNCTIONS.call_hook(kind, &function, &options)
            }
        }

        impl $crate::__private::wrapper::Guest for __IntegratorExtension {
            fn functions() -> ::std::vec::Vec<($crate::__private::wrapper::WrapperKind, ::std::string::String)> {
                __INTEGRATOR_FUNCTIONS.wrapper_functions()
            }
            fn call(
                kind: $crate::__private::wrapper::WrapperKind,
                function: ::std::string::String,
                options: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::__private::WitFailure> {
                __INTEGRATOR_FUNCTIONS.call_wrapper(kind, &function, &options)
            }
        }

        impl $crate::__private::installer::Guest for __IntegratorExtension {
            fn functions() -> ::std::vec::Vec<($crate::__private::installer::InstallerKind, ::std::string::String)> {
                __INTEGRATOR_FUNCTIONS.installer_functions()
            }
            fn call(
                kind: $crate::__private::installer::InstallerKind,
                function: ::std::string::String,
                options: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::__private::WitFailure> {
                __INTEGRATOR_FUNCTIONS.call_installer(kind, &function, &options)
            }
        }

        impl $crate::__private::settings::Guest for __IntegratorExtension {
            fn functions() -> ::std::vec::Vec<($crate::__private::settings::SettingsKind, ::std::string::String)> {
                __INTEGRATOR_FUNCTIONS.settings_functions()
            }
            fn call(
                kind: $crate::__private::settings::SettingsKind,
                function: ::std::string::String,
                options: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::__private::WitFailure> {
                __INTEGRATOR_FUNCTIONS.call_settings(kind, &function, &options)
            }
        }

        $crate::__private::bindings::__export_extension!(__IntegratorExtension with_types_in $crate::__private::bindings);
    };
}

/// What [`functions!`] expands to refers to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../wit",
            world: "extension",
            pub_export_macro: true,
            export_macro_name: "__export_extension",
            default_bindings_module: "integrator_sdk::__private::bindings",
        });
    }

    pub use bindings::exports::integrator::extension::{hooks, installer, settings, wrapper};
    pub use bindings::integrator::extension::types::Failure as WitFailure;
}
