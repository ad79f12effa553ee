//! Test fixture: `echo` returns its options (including the call's token) as `data`; `request`
//! sends the platform API request named in `configuration` with the call's token and returns
//! the answer.

use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};
use integrator_sdk::{Result, Value, json};

fn echo(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    integrator_sdk::log::info("echo called");
    let echoed = integrator_sdk::integrator_json::to_value(&options).unwrap_or(Value::Null);
    Ok(PreSavePageResponse {
        data: vec![echoed],
        ..Default::default()
    })
}

fn request(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let config = &options.common.configuration;
    let method = config["method"].as_str().unwrap_or("GET");
    let path = config["path"].as_str().unwrap_or("/v1/tokenInfo");
    let body = config.get("body");
    let answer = options.common.platform().request(method, path, body);
    Ok(PreSavePageResponse {
        data: vec![json!({"status": answer.status, "body": answer.body})],
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "echo" => echo, "request" => request },
}
