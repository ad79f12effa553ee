//! Upload fixture: a hooks component built against `integrator:extension@2.0.0` (a made-up
//! future version of the contract); a server serving 1.0.0 must refuse it, naming the version.

wit_bindgen::generate!({
    inline: "
        package integrator:extension@2.0.0;

        interface hooks {
            functions: func() -> list<string>;
            call: func(function: string, options: list<u8>) -> list<u8>;
        }

        world hook-functions {
            export hooks;
        }
    ",
    world: "integrator:extension/hook-functions@2.0.0",
});

use exports::integrator::extension::hooks::Guest;

struct Future;

impl Guest for Future {
    fn functions() -> Vec<String> {
        vec!["tomorrow".to_owned()]
    }

    fn call(_function: String, options: Vec<u8>) -> Vec<u8> {
        options
    }
}

export!(Future);
