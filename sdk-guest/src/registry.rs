//! The table of a component's functions that [`crate::functions!`] fills in, and the dispatch
//! from a WIT call (kind, name, JSON options) to the typed Rust function.

use crate::__private::{WitFailure, hooks, installer, settings, wrapper};
use crate::codec::{Answer, Options};
use crate::{Failure, Result};
use crate::{hooks as h, installer as i, settings as s, wrapper as w};

/// A named function of one kind.
pub type Entry<O, R> = (&'static str, fn(O) -> Result<R>);

/// Every function of a component, by kind. Built by [`crate::functions!`].
pub struct Functions {
    /// `preSavePage` hooks.
    pub pre_save_page: &'static [Entry<h::PreSavePageOptions, h::PreSavePageResponse>],
    /// `preMap` hooks.
    pub pre_map: &'static [Entry<h::PreMapOptions, Vec<h::RecordResult>>],
    /// `postMap` hooks.
    pub post_map: &'static [Entry<h::PostMapOptions, Vec<h::RecordResult>>],
    /// `postSubmit` hooks.
    pub post_submit: &'static [Entry<h::PostSubmitOptions, Vec<h::ResponseData>>],
    /// `postResponseMap` hooks.
    pub post_response_map: &'static [Entry<h::PostResponseMapOptions, Vec<crate::Value>>],
    /// `postAggregate` hooks.
    pub post_aggregate: &'static [Entry<h::PostAggregateOptions, ()>],
    /// Wrapper `ping` functions.
    pub wrapper_ping: &'static [Entry<w::PingOptions, w::PingResponse>],
    /// Wrapper `export` functions.
    pub wrapper_export: &'static [Entry<w::ExportOptions, w::ExportResponse>],
    /// Wrapper `import` functions.
    pub wrapper_import: &'static [Entry<w::ImportOptions, Vec<w::ImportResult>>],
    /// Installer functions (the connector's, and install steps').
    pub installer: &'static [Entry<i::InstallerOptions, i::StepResult>],
    /// `updateFunction`s.
    pub update: &'static [Entry<i::UpdateOptions, ()>],
    /// `preUninstallFunction`s.
    pub pre_uninstall: &'static [Entry<i::UninstallOptions, i::StepResult>],
    /// Uninstaller functions (the connector's, and uninstall steps').
    pub uninstaller: &'static [Entry<i::UninstallOptions, i::StepResult>],
    /// `changeEditionFunction`s.
    pub change_edition: &'static [Entry<i::ChangeEditionOptions, ()>],
    /// `initChild` functions.
    pub init_child: &'static [Entry<i::InitChildOptions, crate::Value>],
    /// `formInit` settings functions.
    pub form_init: &'static [Entry<s::FormInitOptions, s::Form>],
    /// `persistSettings` functions.
    pub persist_settings: &'static [Entry<s::PersistSettingsOptions, s::PersistSettingsResponse>],
    /// `preSave` functions.
    pub pre_save: &'static [Entry<s::PreSaveOptions, crate::Value>],
    /// `refreshMetadata` functions.
    pub refresh_metadata: &'static [Entry<s::RefreshMetadataOptions, crate::Value>],
    /// `getMappingMetadata` functions.
    pub get_mapping_metadata: &'static [Entry<s::MappingMetadataOptions, crate::Value>],
}

impl Functions {
    /// No functions at all.
    pub const NONE: Functions = Functions {
        pre_save_page: &[],
        pre_map: &[],
        post_map: &[],
        post_submit: &[],
        post_response_map: &[],
        post_aggregate: &[],
        wrapper_ping: &[],
        wrapper_export: &[],
        wrapper_import: &[],
        installer: &[],
        update: &[],
        pre_uninstall: &[],
        uninstaller: &[],
        change_edition: &[],
        init_child: &[],
        form_init: &[],
        persist_settings: &[],
        pre_save: &[],
        refresh_metadata: &[],
        get_mapping_metadata: &[],
    };

    #[doc(hidden)]
    pub fn hook_functions(&self) -> Vec<(hooks::HookKind, String)> {
        use hooks::HookKind as K;
        let mut all = Vec::new();
        names(&mut all, K::PreSavePage, self.pre_save_page);
        names(&mut all, K::PreMap, self.pre_map);
        names(&mut all, K::PostMap, self.post_map);
        names(&mut all, K::PostSubmit, self.post_submit);
        names(&mut all, K::PostResponseMap, self.post_response_map);
        names(&mut all, K::PostAggregate, self.post_aggregate);
        all
    }

    #[doc(hidden)]
    pub fn call_hook(
        &self,
        kind: hooks::HookKind,
        function: &str,
        options: &[u8],
    ) -> Result<Vec<u8>, WitFailure> {
        use hooks::HookKind as K;
        match kind {
            K::PreSavePage => dispatch(self.pre_save_page, function, options),
            K::PreMap => dispatch(self.pre_map, function, options),
            K::PostMap => dispatch(self.post_map, function, options),
            K::PostSubmit => dispatch(self.post_submit, function, options),
            K::PostResponseMap => dispatch(self.post_response_map, function, options),
            K::PostAggregate => dispatch(self.post_aggregate, function, options),
        }
    }

    #[doc(hidden)]
    pub fn wrapper_functions(&self) -> Vec<(wrapper::WrapperKind, String)> {
        use wrapper::WrapperKind as K;
        let mut all = Vec::new();
        names(&mut all, K::Ping, self.wrapper_ping);
        names(&mut all, K::Export, self.wrapper_export);
        names(&mut all, K::Import, self.wrapper_import);
        all
    }

    #[doc(hidden)]
    pub fn call_wrapper(
        &self,
        kind: wrapper::WrapperKind,
        function: &str,
        options: &[u8],
    ) -> Result<Vec<u8>, WitFailure> {
        use wrapper::WrapperKind as K;
        match kind {
            K::Ping => dispatch(self.wrapper_ping, function, options),
            K::Export => dispatch(self.wrapper_export, function, options),
            K::Import => dispatch(self.wrapper_import, function, options),
        }
    }

    #[doc(hidden)]
    pub fn installer_functions(&self) -> Vec<(installer::InstallerKind, String)> {
        use installer::InstallerKind as K;
        let mut all = Vec::new();
        names(&mut all, K::Installer, self.installer);
        names(&mut all, K::Update, self.update);
        names(&mut all, K::PreUninstall, self.pre_uninstall);
        names(&mut all, K::Uninstaller, self.uninstaller);
        names(&mut all, K::ChangeEdition, self.change_edition);
        names(&mut all, K::InitChild, self.init_child);
        all
    }

    #[doc(hidden)]
    pub fn call_installer(
        &self,
        kind: installer::InstallerKind,
        function: &str,
        options: &[u8],
    ) -> Result<Vec<u8>, WitFailure> {
        use installer::InstallerKind as K;
        match kind {
            K::Installer => dispatch(self.installer, function, options),
            K::Update => dispatch(self.update, function, options),
            K::PreUninstall => dispatch(self.pre_uninstall, function, options),
            K::Uninstaller => dispatch(self.uninstaller, function, options),
            K::ChangeEdition => dispatch(self.change_edition, function, options),
            K::InitChild => dispatch(self.init_child, function, options),
        }
    }

    #[doc(hidden)]
    pub fn settings_functions(&self) -> Vec<(settings::SettingsKind, String)> {
        use settings::SettingsKind as K;
        let mut all = Vec::new();
        names(&mut all, K::FormInit, self.form_init);
        names(&mut all, K::PersistSettings, self.persist_settings);
        names(&mut all, K::PreSave, self.pre_save);
        names(&mut all, K::RefreshMetadata, self.refresh_metadata);
        names(&mut all, K::GetMappingMetadata, self.get_mapping_metadata);
        all
    }

    #[doc(hidden)]
    pub fn call_settings(
        &self,
        kind: settings::SettingsKind,
        function: &str,
        options: &[u8],
    ) -> Result<Vec<u8>, WitFailure> {
        use settings::SettingsKind as K;
        match kind {
            K::FormInit => dispatch(self.form_init, function, options),
            K::PersistSettings => dispatch(self.persist_settings, function, options),
            K::PreSave => dispatch(self.pre_save, function, options),
            K::RefreshMetadata => dispatch(self.refresh_metadata, function, options),
            K::GetMappingMetadata => dispatch(self.get_mapping_metadata, function, options),
        }
    }
}

fn names<K: Copy, O, R>(all: &mut Vec<(K, String)>, kind: K, entries: &[Entry<O, R>]) {
    all.extend(entries.iter().map(|(name, _)| (kind, (*name).to_owned())));
}

fn wit(failure: Failure) -> WitFailure {
    WitFailure {
        code: failure.code,
        message: failure.message,
        source: failure.source,
    }
}

/// Read the options, run the named function, write its result.
fn dispatch<O: Options, R: Answer>(
    entries: &[Entry<O, R>],
    function: &str,
    options: &[u8],
) -> Result<Vec<u8>, WitFailure> {
    let Some((_, run)) = entries.iter().find(|(name, _)| *name == function) else {
        return Err(wit(Failure::new(
            "function_not_found",
            format!("this component has no function '{function}' of this kind"),
        )));
    };
    let parsed = O::read(options).map_err(|e| {
        wit(Failure::new(
            "invalid_options",
            format!("{function}: the options do not have the expected shape: {e}"),
        ))
    })?;
    let result = run(parsed).map_err(wit)?;
    // A result is usually about as large as the options it came from. Reserved after the run,
    // the buffer is the arena's newest block, so growing it past that extends it in place.
    let mut out = Vec::with_capacity(options.len() + 256);
    result.write(&mut out).map_err(|e| {
        wit(Failure::new(
            "invalid_output",
            format!("{function}: the result cannot be serialized: {e}"),
        ))
    })?;
    // Every call runs in a fresh instance, dropped when the call returns: walking the result
    // (a page of records) to free it piece by piece would be time spent for nothing.
    std::mem::forget(result);
    Ok(out)
}

/// `serde_json::from_slice`, faster: the bytes are checked as UTF-8 once, as a whole, and parsed
/// as a `str` (serde_json otherwise checks each string on its own). Bytes that are not UTF-8 go
/// to `from_slice`, so the error is serde_json's own.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match core::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}
