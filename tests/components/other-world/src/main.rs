//! Upload fixture: a plain WASI command (it exports `wasi:cli/run`), not an Integrator
//! extension; uploading it must be refused as a component of another world.

fn main() {
    println!("I am a command line program, not an extension");
}
