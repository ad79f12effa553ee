//! Upload fixture: a component that exports `integrator:extension/hooks@1.0.0` like any
//! extension, but also imports `backdoor`, an interface no Integrator host provides; it cannot
//! be linked in the sandbox and must be refused on upload.

wit_bindgen::generate!({
    path: "../../../wit",
    inline: "
        package fixture:foreign;

        world hooks-with-a-backdoor {
            import backdoor: interface {
                open: func(what: string) -> string;
            }
            export integrator:extension/hooks@1.0.0;
        }
    ",
    world: "fixture:foreign/hooks-with-a-backdoor",
    generate_all,
});

use exports::integrator::extension::hooks::{Guest, HookKind};
use integrator::extension::types::Failure;

struct Foreign;

impl Guest for Foreign {
    fn functions() -> Vec<(HookKind, String)> {
        vec![(HookKind::PreSavePage, "open".to_owned())]
    }

    fn call(_kind: HookKind, function: String, options: Vec<u8>) -> Result<Vec<u8>, Failure> {
        let opened = backdoor::open(&String::from_utf8_lossy(&options));
        Ok(format!("{{\"data\": [{opened:?}], \"function\": {function:?}}}").into_bytes())
    }
}

export!(Foreign);
