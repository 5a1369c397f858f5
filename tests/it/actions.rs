//! Running actions: programs from `tests/fixtures/actions` (shell scripts are
//! the allow-listed programs under test; warroom itself execs them directly)
//! and HTTP requests to a fake target on 127.0.0.1.

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use warroom::actions::{Cancel, RunResult, Runner, resolve};
use warroom::config::{ActionConfig, ActionKind, HttpAction, ParamSpec, ProgramAction};

const TOKEN: &str = "tok-3f9a7c1e";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/actions")
        .join(name)
}

fn param(pattern: Option<&str>) -> ParamSpec {
    ParamSpec {
        description: String::new(),
        required: true,
        default: None,
        pattern: pattern.map(|p| regex::Regex::new(&format!("^(?:{p})$")).unwrap()),
    }
}

fn program(script: &str, args: &[&str], env: &[&str], params: &[&str]) -> ActionConfig {
    ActionConfig {
        name: script.to_owned(),
        description: String::new(),
        kind: ActionKind::Program(ProgramAction {
            program: fixture(script),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: env.iter().map(|e| (*e).to_owned()).collect(),
        }),
        params: params
            .iter()
            .map(|p| ((*p).to_owned(), param(None)))
            .collect(),
        timeout: Duration::from_secs(10),
        retries: 0,
        approval: None,
        approval_expires_after: Duration::from_secs(30 * 60),
        allowed_roles: Vec::new(),
        rerun_on_restart: false,
    }
}

fn http(url: String) -> ActionConfig {
    ActionConfig {
        name: "restart-http".to_owned(),
        description: String::new(),
        kind: ActionKind::Http(HttpAction {
            method: "POST".to_owned(),
            url,
            headers: BTreeMap::from([("x-service".to_owned(), "{service}".to_owned())]),
            header_env: BTreeMap::from([("authorization".to_owned(), "ACTION_TOKEN".to_owned())]),
            body: Some(r#"{"service": "{service}"}"#.to_owned()),
            success_status: Vec::new(),
        }),
        params: BTreeMap::from([("service".to_owned(), param(Some("[a-z-]+")))]),
        timeout: Duration::from_secs(5),
        retries: 0,
        approval: None,
        approval_expires_after: Duration::from_secs(30 * 60),
        allowed_roles: Vec::new(),
        rerun_on_restart: false,
    }
}

/// A runner whose environment holds a token for actions and one of warroom's
/// own secrets; the token is an http action's `header_env`, so it is redacted.
fn runner() -> Runner {
    let env: BTreeMap<&str, &str> = BTreeMap::from([
        ("ACTION_TOKEN", TOKEN),
        ("SLACK_BOT_TOKEN", "xoxb-not-for-actions"),
        ("HOME", "/root"),
    ]);
    let lookup = Arc::new(move |name: &str| env.get(name).map(|v| (*v).to_owned()));
    let uses_token = http("http://127.0.0.1:1/".to_owned());
    Runner::new(lookup, [&uses_token]).with_timings(Duration::from_millis(300), Duration::ZERO)
}

/// A run nobody cancels.
fn never() -> Cancel {
    watch::channel(false).1
}

/// A run cancelled `after` from now.
fn cancel_after(after: Duration) -> Cancel {
    let (stop, cancel) = watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let _ = stop.send(true);
    });
    cancel
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_program_that_exits_zero_succeeds_with_its_output() {
    let action = program("ok.sh", &["{service}"], &[], &["service"]);
    let outcome = runner()
        .run(&action, &params(&[("service", "checkout")]), never())
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Succeeded);
    assert_eq!(outcome.output, "restarted checkout");
    assert_eq!(outcome.output_hash.len(), 64);
}

#[tokio::test]
async fn a_program_that_exits_non_zero_fails_with_both_streams() {
    let mut action = program("fail.sh", &[], &[], &[]);
    action.retries = 2;
    let outcome = runner()
        .run(&action, &BTreeMap::new(), never())
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Failed);
    assert_eq!(outcome.attempts, 3, "retried twice");
    assert!(outcome.detail.contains("3"), "{}", outcome.detail);
    assert!(outcome.output.contains("first line"), "{}", outcome.output);
    assert!(outcome.output.contains("disk full"), "{}", outcome.output);
}

#[tokio::test]
async fn a_hanging_program_is_killed_at_its_timeout() {
    let mut action = program("hang.sh", &[], &[], &[]);
    action.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let outcome = runner()
        .run(&action, &BTreeMap::new(), never())
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(outcome.result, RunResult::TimedOut);
    assert!(outcome.output.contains("started"), "{}", outcome.output);
    assert!(!outcome.output.contains("never"), "{}", outcome.output);
    // Timeout, then the grace after an ignored SIGTERM, then SIGKILL: far from the 60 s sleep.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn ten_megabytes_of_output_are_cut_to_their_ends() {
    let action = program("flood.sh", &[], &[], &[]);
    let outcome = runner()
        .run(&action, &BTreeMap::new(), never())
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Succeeded);
    assert!(
        outcome.output.len() < 5_000,
        "{} bytes",
        outcome.output.len()
    );
    assert!(
        outcome.output.starts_with("000000000"),
        "{}",
        outcome.output
    );
    assert!(outcome.output.ends_with("the end"), "{}", outcome.output);
    assert!(
        outcome.output.contains("10000008 bytes in all"),
        "{}",
        outcome.output
    );
}

#[tokio::test]
async fn a_secret_printed_by_a_program_is_redacted() {
    let action = program("secret.sh", &[], &["ACTION_TOKEN"], &[]);
    let outcome = runner()
        .run(&action, &BTreeMap::new(), never())
        .await
        .unwrap();
    assert_eq!(outcome.output, "token is [redacted]");
}

#[tokio::test]
async fn a_program_sees_only_its_allowed_environment() {
    let action = program("env.sh", &[], &["ACTION_TOKEN", "SLACK_BOT_TOKEN"], &[]);
    let outcome = runner()
        .run(&action, &BTreeMap::new(), never())
        .await
        .unwrap();
    assert!(
        outcome.output.contains("ACTION_TOKEN="),
        "{}",
        outcome.output
    );
    assert!(
        !outcome.output.contains("SLACK_BOT_TOKEN"),
        "{}",
        outcome.output
    );
    assert!(!outcome.output.contains("xoxb"), "{}", outcome.output);
    assert!(!outcome.output.contains("HOME="), "{}", outcome.output);
}

#[tokio::test]
async fn a_param_value_is_one_literal_argument_and_no_shell_runs() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("x");
    std::fs::create_dir(&victim).unwrap();
    let pwned = dir.path().join("pwned");
    let remove = format!("; rm -rf {}", victim.display());
    let touch = format!("$(touch {})", pwned.display());
    let action = program("args.sh", &["--first={one}", "{two}"], &[], &["one", "two"]);
    let outcome = runner()
        .run(
            &action,
            &params(&[("one", &remove), ("two", &touch)]),
            never(),
        )
        .await
        .unwrap();
    let expected = format!("2 args\n[--first={remove}]\n[{touch}]");
    assert_eq!(outcome.output, expected);
    assert!(victim.exists(), "nothing was removed");
    assert!(!pwned.exists(), "nothing was touched");
}

#[test]
fn params_are_checked_and_every_problem_is_listed() {
    let action = http("http://127.0.0.1:1/".to_owned());
    let error = resolve(&action, &params(&[("service", "Bad Name"), ("extra", "1")])).unwrap_err();
    assert_eq!(error.invalid, vec!["service"]);
    assert_eq!(error.unknown, vec!["extra"]);
    let error = resolve(&action, &BTreeMap::new()).unwrap_err();
    assert_eq!(error.missing, vec!["service"]);
    let resolved = resolve(&action, &params(&[("service", "checkout")])).unwrap();
    assert_eq!(resolved, params(&[("service", "checkout")]));
}

async fn fake_target() -> String {
    let app = Router::new()
        .route(
            "/restart/{service}",
            post(
                |UrlPath(service): UrlPath<String>, headers: HeaderMap, body: String| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_owned();
                    let named = headers
                        .get("x-service")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_owned();
                    format!("restarting {service} ({named}) with {auth}: {body}")
                },
            ),
        )
        .route(
            "/broken/{service}",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        )
        .route(
            "/slow/{service}",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_http_action_succeeds_on_2xx_with_its_templates_filled_and_secret_redacted() {
    let base = fake_target().await;
    let action = http(format!("{base}/restart/{{service}}"));
    let outcome = runner()
        .run(&action, &params(&[("service", "checkout")]), never())
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Succeeded);
    assert_eq!(outcome.detail, "HTTP 200");
    assert_eq!(
        outcome.output,
        r#"restarting checkout (checkout) with [redacted]: {"service": "checkout"}"#
    );
}

#[tokio::test]
async fn an_http_action_fails_on_other_statuses_and_times_out() {
    let base = fake_target().await;
    let broken = http(format!("{base}/broken/{{service}}"));
    let outcome = runner()
        .run(&broken, &params(&[("service", "checkout")]), never())
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Failed);
    assert_eq!(outcome.detail, "HTTP 503");
    assert_eq!(outcome.output, "try later");

    let mut slow = http(format!("{base}/slow/{{service}}"));
    slow.timeout = Duration::from_millis(300);
    let outcome = runner()
        .run(&slow, &params(&[("service", "checkout")]), never())
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::TimedOut);
}

#[tokio::test]
async fn a_cancelled_program_is_stopped_even_if_it_ignores_sigterm() {
    let action = program("hang.sh", &[], &[], &[]);
    let started = Instant::now();
    let outcome = runner()
        .run(
            &action,
            &BTreeMap::new(),
            cancel_after(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Cancelled);
    assert_eq!(outcome.detail, "stopped on request");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_cancel_during_the_retry_backoff_starts_no_further_attempt() {
    let mut action = program("fail.sh", &[], &[], &[]);
    action.retries = 5;
    let runner = runner().with_timings(Duration::from_millis(300), Duration::from_secs(30));
    let outcome = runner
        .run(
            &action,
            &BTreeMap::new(),
            cancel_after(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Cancelled);
    assert_eq!(outcome.attempts, 1);
}

#[tokio::test]
async fn a_cancelled_request_is_dropped() {
    let base = fake_target().await;
    let slow = http(format!("{base}/slow/{{service}}"));
    let started = Instant::now();
    let outcome = runner()
        .run(
            &slow,
            &params(&[("service", "checkout")]),
            cancel_after(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    assert_eq!(outcome.result, RunResult::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
