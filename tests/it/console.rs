//! `warroom console`, the real binary: a newcomer runs an incident from a
//! terminal, with no Slack or Discord account, on the shipped config.

use crate::cli::{shipped_config, text, warroom};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a test waits for what it expects the console to print.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `warroom console --config CONFIG ARGS` in `dir` with a clean
/// environment, types `lines`, ends the input once everything in `awaited` has
/// been printed (or after [`PATIENCE`]), and returns all it printed.
fn console(dir: &Path, config: &Path, args: &[&str], lines: &[&str], awaited: &[&str]) -> String {
    let mut child = warroom(dir)
        .arg("console")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the console starts");
    let printed = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().expect("piped");
    let reader = {
        let printed = printed.clone();
        std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(read @ 1..) = stdout.read(&mut chunk) {
                printed
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        })
    };
    let mut stdin = child.stdin.take().expect("piped");
    for line in lines {
        writeln!(stdin, "{line}").expect("the console reads");
    }
    let waited = Instant::now();
    while waited.elapsed() < PATIENCE {
        let so_far = printed.lock().unwrap().clone();
        if awaited.iter().all(|expected| so_far.contains(expected)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let out = child.wait_with_output().expect("the console ends");
    reader.join().expect("stdout is read");
    let printed = printed.lock().unwrap().clone();
    assert!(out.status.success(), "{printed}\n{}", text(&out.stderr));
    printed
}

fn assert_shows(printed: &str, expected: &[&str]) {
    for expected in expected {
        assert!(
            printed.contains(expected),
            "`{expected}` missing from:\n{printed}"
        );
    }
}

#[test]
fn a_newcomer_declares_staffs_updates_resolves_and_reads_the_postmortem() {
    let dir = tempfile::tempdir().unwrap();
    let printed = console(
        dir.path(),
        &shipped_config(),
        &["--dry-run"],
        &[
            "/incident sev3 Checkout is slow service=api",
            "/as nobody",
            "/as carol",
            "/press take comms",
            "/as alice",
            "/incident role technical @bob",
            "/incident status identified a bad deploy",
            "/incident run restart-api",
            "/press approve 1",
            "/incident resolve",
            "/press postmortem",
            "/incident sev9",
        ],
        &[],
    );
    assert_shows(
        &printed,
        &[
            // The prompt, as the first person of the config.
            "alice> ",
            // Declared in #incidents; the war room opens and the prompt moves there.
            "#incidents (only alice sees this) Declaring INC-",
            "#inc-",
            "-checkout-is-slow war room opened",
            "You are now in #inc-",
            "Incident commander: @alice",
            "[Acknowledge] /press ack",
            // The announce channel hears of it.
            "#announce SEV3 declared: Checkout is slow",
            // Staffing: a button pressed by name, and a typed role.
            "`nobody` is not a person of the config",
            "carol> ",
            "Communications lead: @carol",
            "Technical lead: @bob",
            "(edited) INC-",
            // An update, and an action that needs approval, only shown.
            "identified",
            "[Approve] /press approve 1   [Deny] /press deny 1",
            "Run #1 (restart-api) succeeded: dry run, nothing was executed",
            "would execute: POST https://deploy.internal/restart",
            // Resolved, and the postmortem draft read in the terminal.
            "resolved (was identified)",
            "[Draft postmortem] /press postmortem",
            "file postmortem-INC-",
            "# Postmortem: Checkout is slow",
            // A command that does not parse says why.
            "(only alice sees this)",
        ],
    );
    assert!(
        dir.path().join("warroom-console.db").exists(),
        "the console keeps its incidents in its own SQLite file"
    );
}

#[test]
fn speed_brings_reminders_escalations_and_pages_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    // An hour a second: the sev1's 15-minute reminders, its missed response
    // target and both escalation levels come within a few seconds.
    let expected = [
        "pager paged on-call (dry run, not sent): [SEV1] Checkout is down",
        "Status update due",
        "invited @erin",
        "pager paged level2 (dry run, not sent)",
        "Escalated to level2",
        "pager paged level3 (dry run, not sent)",
    ];
    let printed = console(
        dir.path(),
        &shipped_config(),
        &["--dry-run", "--speed", "3600"],
        &["/incident sev1 Checkout is down"],
        &expected,
    );
    assert_shows(&printed, &expected);
}

#[test]
fn without_dry_run_paging_and_actions_run_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    // No PagerDuty routing key in the environment: paging is off, and the room
    // is told; an action is really run.
    let config = std::fs::read_to_string(shipped_config()).unwrap()
        + r#"
[actions.say-hello]
kind = "program"
program = "/bin/echo"
args = ["hello from", "{incident}"]
"#;
    let path = dir.path().join("warroom.toml");
    std::fs::write(&path, config).unwrap();
    let printed = console(
        dir.path(),
        &path,
        &[],
        &["/incident sev1 Checkout is down", "/incident run say-hello"],
        &[],
    );
    assert!(!printed.contains("dry run"), "{printed}");
    assert_shows(
        &printed,
        &[
            "Paging is off (PAGERDUTY_ROUTING_KEY is not set)",
            "succeeded",
            "hello from INC-",
        ],
    );
}
