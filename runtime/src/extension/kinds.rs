//! The kinds of extension function, their names in the API, and what a valid result of each
//! looks like.

use serde_json::Value;

use super::bindings::exports::integrator::extension::{hooks, installer, settings, wrapper};
use super::output::{Kind, Shape};

/// The four exported interfaces of the WIT package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interface {
    /// `integrator:extension/hooks`.
    Hooks,
    /// `integrator:extension/wrapper`.
    Wrapper,
    /// `integrator:extension/installer`.
    Installer,
    /// `integrator:extension/settings`.
    Settings,
}

impl Interface {
    /// Every interface.
    pub const ALL: [Interface; 4] = [
        Interface::Hooks,
        Interface::Wrapper,
        Interface::Installer,
        Interface::Settings,
    ];

    /// The interface's name in the package.
    pub fn wit_name(self) -> &'static str {
        match self {
            Interface::Hooks => "hooks",
            Interface::Wrapper => "wrapper",
            Interface::Installer => "installer",
            Interface::Settings => "settings",
        }
    }
}

macro_rules! kinds {
    ($($variant:ident = $api:literal in $iface:ident,)*) => {
        /// One kind of extension function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FunctionKind {
            $(
                #[doc = concat!("`", $api, "`")]
                $variant,
            )*
        }

        impl FunctionKind {
            /// Every kind.
            pub const ALL: &'static [FunctionKind] = &[$(FunctionKind::$variant),*];

            /// The kind's name in the API (`preSavePage`, `ping`, `installer`, …).
            pub fn api_name(self) -> &'static str {
                match self {
                    $(FunctionKind::$variant => $api,)*
                }
            }

            /// The interface that exports functions of this kind.
            pub fn interface(self) -> Interface {
                match self {
                    $(FunctionKind::$variant => Interface::$iface,)*
                }
            }
        }
    };
}

kinds! {
    PreSavePage = "preSavePage" in Hooks,
    PreMap = "preMap" in Hooks,
    PostMap = "postMap" in Hooks,
    PostSubmit = "postSubmit" in Hooks,
    PostResponseMap = "postResponseMap" in Hooks,
    PostAggregate = "postAggregate" in Hooks,
    Ping = "ping" in Wrapper,
    Export = "export" in Wrapper,
    Import = "import" in Wrapper,
    Installer = "installer" in Installer,
    Update = "update" in Installer,
    PreUninstall = "preUninstall" in Installer,
    Uninstaller = "uninstaller" in Installer,
    ChangeEdition = "changeEdition" in Installer,
    InitChild = "initChild" in Installer,
    FormInit = "formInit" in Settings,
    PersistSettings = "persistSettings" in Settings,
    PreSave = "preSave" in Settings,
    RefreshMetadata = "refreshMetadata" in Settings,
    GetMappingMetadata = "getMappingMetadata" in Settings,
}

/// An optional field of a result: its name, the test its value must pass, what it must be.
type FieldCheck = (&'static str, fn(&Kind) -> bool, &'static str);

impl FunctionKind {
    /// The kind named `name` in the API.
    pub fn parse(name: &str) -> Option<FunctionKind> {
        Self::ALL.iter().copied().find(|k| k.api_name() == name)
    }

    /// Every valid name, for error messages.
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|k| k.api_name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(super) fn from_hook(kind: hooks::HookKind) -> Self {
        use hooks::HookKind as K;
        match kind {
            K::PreSavePage => Self::PreSavePage,
            K::PreMap => Self::PreMap,
            K::PostMap => Self::PostMap,
            K::PostSubmit => Self::PostSubmit,
            K::PostResponseMap => Self::PostResponseMap,
            K::PostAggregate => Self::PostAggregate,
        }
    }

    pub(super) fn to_hook(self) -> Option<hooks::HookKind> {
        use hooks::HookKind as K;
        Some(match self {
            Self::PreSavePage => K::PreSavePage,
            Self::PreMap => K::PreMap,
            Self::PostMap => K::PostMap,
            Self::PostSubmit => K::PostSubmit,
            Self::PostResponseMap => K::PostResponseMap,
            Self::PostAggregate => K::PostAggregate,
            _ => return None,
        })
    }

    pub(super) fn from_wrapper(kind: wrapper::WrapperKind) -> Self {
        use wrapper::WrapperKind as K;
        match kind {
            K::Ping => Self::Ping,
            K::Export => Self::Export,
            K::Import => Self::Import,
        }
    }

    pub(super) fn to_wrapper(self) -> Option<wrapper::WrapperKind> {
        use wrapper::WrapperKind as K;
        Some(match self {
            Self::Ping => K::Ping,
            Self::Export => K::Export,
            Self::Import => K::Import,
            _ => return None,
        })
    }

    pub(super) fn from_installer(kind: installer::InstallerKind) -> Self {
        use installer::InstallerKind as K;
        match kind {
            K::Installer => Self::Installer,
            K::Update => Self::Update,
            K::PreUninstall => Self::PreUninstall,
            K::Uninstaller => Self::Uninstaller,
            K::ChangeEdition => Self::ChangeEdition,
            K::InitChild => Self::InitChild,
        }
    }

    pub(super) fn to_installer(self) -> Option<installer::InstallerKind> {
        use installer::InstallerKind as K;
        Some(match self {
            Self::Installer => K::Installer,
            Self::Update => K::Update,
            Self::PreUninstall => K::PreUninstall,
            Self::Uninstaller => K::Uninstaller,
            Self::ChangeEdition => K::ChangeEdition,
            Self::InitChild => K::InitChild,
            _ => return None,
        })
    }

    pub(super) fn from_settings(kind: settings::SettingsKind) -> Self {
        use settings::SettingsKind as K;
        match kind {
            K::FormInit => Self::FormInit,
            K::PersistSettings => Self::PersistSettings,
            K::PreSave => Self::PreSave,
            K::RefreshMetadata => Self::RefreshMetadata,
            K::GetMappingMetadata => Self::GetMappingMetadata,
        }
    }

    pub(super) fn to_settings(self) -> Option<settings::SettingsKind> {
        use settings::SettingsKind as K;
        Some(match self {
            Self::FormInit => K::FormInit,
            Self::PersistSettings => K::PersistSettings,
            Self::PreSave => K::PreSave,
            Self::RefreshMetadata => K::RefreshMetadata,
            Self::GetMappingMetadata => K::GetMappingMetadata,
            _ => return None,
        })
    }

    /// The field of the options holding the records a per-record result answers one by one
    /// (`data` for preMap, `postMapData` for postMap and import, …); `None` for other kinds.
    pub fn record_field(self) -> Option<&'static str> {
        match self {
            Self::PreMap => Some("data"),
            Self::PostMap | Self::Import => Some("postMapData"),
            Self::PostSubmit => Some("responseData"),
            Self::PostResponseMap => Some("postResponseMapData"),
            _ => None,
        }
    }

    /// How many records a result of this kind must answer for `options`: the length of its
    /// [`record_field`](Self::record_field) (0 for other kinds).
    pub fn input_records(self, options: &Value) -> usize {
        self.record_field()
            .and_then(|field| options[field].as_array())
            .map_or(0, Vec::len)
    }

    /// Check the shape of a guest's result for this kind (extensions.md): the type, and for
    /// per-record results one entry per input record (`input_records` of them).
    pub fn check_result(self, input_records: usize, result: &Shape) -> Result<(), String> {
        let same_length = |input: &str| -> Result<(), String> {
            let expected = input_records;
            match result {
                Shape::Value(Kind::Array(entries)) if entries.len != expected => Err(format!(
                    "returned {} entries for {expected} records of {input}: it must return exactly one per record",
                    entries.len
                )),
                Shape::Value(Kind::Array(entries)) => match entries.first_non_object {
                    Some(i) => Err(format!("entry {i} of the result must be an object")),
                    None => Ok(()),
                },
                _ => Err(format!(
                    "must return an array (one entry per record of {input})"
                )),
            }
        };
        let object_with = |fields: &[FieldCheck]| -> Result<(), String> {
            if !matches!(result, Shape::Object(_)) {
                return Err("must return an object".into());
            }
            for (field, ok, expected) in fields {
                let kind = result.field(field);
                if *kind != Kind::Null && !ok(kind) {
                    return Err(format!("'{field}' of the result must be {expected}"));
                }
            }
            Ok(())
        };
        if let Some(field) = self.record_field() {
            return same_length(field);
        }
        let array = |kind: &Kind| matches!(kind, Kind::Array(_));
        let boolean = |kind: &Kind| *kind == Kind::Bool;
        match self {
            Self::PreSavePage => {
                if !array(result.field("data")) {
                    return Err("must return an object with a 'data' array".into());
                }
                object_with(&[
                    ("errors", array, "an array"),
                    ("abort", boolean, "a boolean"),
                    ("newErrorsAndRetryData", array, "an array"),
                ])
            }
            Self::Ping => {
                if *result.field("statusCode") != Kind::Unsigned {
                    return Err("must return an object with a numeric 'statusCode'".into());
                }
                object_with(&[("errors", array, "an array")])
            }
            Self::Export => {
                if !array(result.field("data")) {
                    return Err("must return an object with a 'data' array".into());
                }
                object_with(&[
                    ("errors", array, "an array"),
                    ("lastPage", boolean, "a boolean"),
                    ("connectionOffline", boolean, "a boolean"),
                ])
            }
            Self::Installer | Self::PreUninstall | Self::Uninstaller => object_with(&[
                ("success", boolean, "a boolean"),
                ("stepsToUpdate", array, "an array"),
            ]),
            Self::PersistSettings => object_with(&[("success", boolean, "a boolean")]),
            Self::FormInit | Self::PreSave | Self::InitChild => object_with(&[]),
            // Per-record kinds were checked above.
            Self::PreMap
            | Self::PostMap
            | Self::PostSubmit
            | Self::PostResponseMap
            | Self::Import
            | Self::PostAggregate
            | Self::Update
            | Self::ChangeEdition
            | Self::RefreshMetadata
            | Self::GetMappingMetadata => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_round_trips_through_its_api_name() {
        for kind in FunctionKind::ALL {
            assert_eq!(FunctionKind::parse(kind.api_name()), Some(*kind));
        }
        assert_eq!(FunctionKind::parse("nope"), None);
    }

    #[test]
    fn per_record_results_must_have_one_entry_per_record() {
        let options = json!({"data": [{}, {}]});
        let options = FunctionKind::PreMap.input_records(&options);
        assert_eq!(options, 2);
        assert!(
            FunctionKind::PreMap
                .check_result(options, &Shape::of(&json!([{}, {"data": {}}])))
                .is_ok()
        );
        let err = FunctionKind::PreMap
            .check_result(options, &Shape::of(&json!([{}])))
            .expect_err("short");
        assert!(err.contains("1 entries for 2 records"), "{err}");
        assert!(
            FunctionKind::PreSavePage
                .check_result(0, &Shape::of(&json!({"abort": true})))
                .is_err()
        );
        assert!(
            FunctionKind::PreSavePage
                .check_result(0, &Shape::of(&json!({"data": [], "abort": true})))
                .is_ok()
        );
    }
}
