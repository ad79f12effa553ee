//! Upload fixture: claims the contract's name and version — it exports
//! `integrator:extension/hooks@1.0.0` — but its functions have other types than the contract's;
//! the server must refuse it rather than accept a component it cannot call.

wit_bindgen::generate!({
    inline: "
        package integrator:extension@1.0.0;

        interface hooks {
            functions: func() -> list<string>;
            call: func(function: string, options: string) -> string;
        }

        world hook-functions {
            export hooks;
        }
    ",
    world: "integrator:extension/hook-functions@1.0.0",
});

use exports::integrator::extension::hooks::Guest;

struct WrongShape;

impl Guest for WrongShape {
    fn functions() -> Vec<String> {
        vec!["lookalike".to_owned()]
    }

    fn call(_function: String, options: String) -> String {
        options
    }
}

export!(WrongShape);
