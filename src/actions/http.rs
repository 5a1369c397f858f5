//! The `http` kind: one request built from the action's templates; success is a
//! configured status, or any 2xx.

use super::output::Capture;
use super::{Cancel, EnvLookup, RunResult, cancelled};
use crate::config::{HttpAction, render};
use reqwest::Method;
use std::collections::BTreeMap;
use std::time::Duration;

/// Sends one attempt; the response body goes into `capture`.
pub(super) async fn run(
    client: &reqwest::Client,
    http: &HttpAction,
    params: &BTreeMap<String, String>,
    env: &EnvLookup,
    timeout: Duration,
    cancel: &mut Cancel,
    capture: &mut Capture,
) -> (RunResult, String) {
    let fill = |text: &str| {
        render(text, |name| {
            Some(params.get(name).cloned().unwrap_or_default())
        })
    };
    let method = match Method::from_bytes(http.method.as_bytes()) {
        Ok(method) => method,
        Err(_) => return (RunResult::Failed, format!("bad method {}", http.method)),
    };
    let mut request = client.request(method, fill(&http.url)).timeout(timeout);
    for (name, value) in &http.headers {
        request = request.header(name, fill(value));
    }
    for (name, var) in &http.header_env {
        match env(var) {
            Some(value) => request = request.header(name, value),
            None => return (RunResult::Failed, format!("{var} is not set")),
        }
    }
    if let Some(body) = &http.body {
        request = request.body(fill(body));
    }
    let exchange = async {
        let mut response = request.send().await?;
        let status = response.status();
        while let Some(chunk) = response.chunk().await? {
            capture.push(&chunk);
        }
        Ok::<_, reqwest::Error>(status)
    };
    let answered = tokio::select! {
        answered = tokio::time::timeout(timeout, exchange) => answered,
        () = cancelled(cancel) => return (RunResult::Cancelled, "stopped on request".to_owned()),
    };
    match answered {
        Err(_) => (
            RunResult::TimedOut,
            format!("no answer within {}", humantime::format_duration(timeout)),
        ),
        Ok(Err(error)) if error.is_timeout() => (RunResult::TimedOut, error.to_string()),
        Ok(Err(error)) => (RunResult::Failed, error.to_string()),
        Ok(Ok(status)) => {
            let success = if http.success_status.is_empty() {
                status.is_success()
            } else {
                http.success_status.contains(&status.as_u16())
            };
            let result = if success {
                RunResult::Succeeded
            } else {
                RunResult::Failed
            };
            (result, format!("HTTP {}", status.as_u16()))
        }
    }
}
