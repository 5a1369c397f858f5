//! `warroom simulate`, the real binary: what a severity's process does and when,
//! and proof that it is what the engine posts when driven on the same clock.

use crate::cli::{shipped_config, text, unstaffed_config, warroom};
use crate::common::harness::start;
use crate::common::{app, test_backends};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use warroom::clock::{ManualClock, SharedClock};
use warroom::command;
use warroom::config::Config;
use warroom::console::{ANNOUNCE_CHANNEL, message_lines};
use warroom::domain::{Platform, UserId};
use warroom::engine::{Actor, Context};
use warroom::outbox::testing::{Action, RecordingPager, TestingPlatform};

fn simulate(args: &[&str]) -> Output {
    simulate_with(&shipped_config(), args)
}

fn simulate_with(config: &std::path::Path, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    warroom(dir.path())
        .arg("simulate")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn succeeded(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn an_unacknowledged_sev1_escalates_on_the_configured_clock() {
    let out = simulate(&["sev1", "--for", "1h"]);
    let printed = succeeded(&out);
    for expected in [
        "00:00 #incidents alice: /incident sev1 Simulated sev1 incident",
        "00:00 pager paged on-call (dry run, not sent): [SEV1] Simulated sev1 incident",
        "00:00 #inc-",
        "invited @alice, @bob, @carol, @dave",
        "00:15 pager paged level2 (dry run, not sent)",
        "00:15 #inc-",
        "invited @erin",
        "Status update due",
        "01:00 pager paged level3 (dry run, not sent)",
    ] {
        assert!(
            printed.contains(expected),
            "`{expected}` missing:\n{printed}"
        );
    }
    assert!(
        !printed.contains("01:01"),
        "--for 1h stops at 01:00:\n{printed}"
    );
    // The shipped process gives the lint nothing to say.
    assert!(
        !text(&out.stderr).contains("warning:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_process_lint_speaks_before_the_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let out = simulate_with(&unstaffed_config(dir.path()), &["sev2", "--for", "30m"]);
    succeeded(&out);
    assert!(
        text(&out.stderr).contains("warning: assign.sev2: nobody is assigned scribe"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn scripted_people_ack_update_and_resolve_and_json_says_the_same() {
    let args = [
        "sev1",
        "--ack-after",
        "10m",
        "--updates-every",
        "20m",
        "--resolve-after",
        "2h",
        "--start",
        "2026-11-23T14:00:00Z",
    ];
    let printed = succeeded(&simulate(&args));
    for expected in [
        "00:10 #inc-20261123-001-simulated-sev1-incident alice: /incident ack",
        "00:10 pager page INC-20261123-001 acknowledge (dry run, not sent)",
        "00:15 #inc-20261123-001-simulated-sev1-incident Status update due",
        "00:20 #inc-20261123-001-simulated-sev1-incident carol: /incident update Simulated status update 1",
        "00:30 pager paged level2 (dry run, not sent)",
        "02:00 #inc-20261123-001-simulated-sev1-incident alice: /incident resolve",
        "02:00 pager page INC-20261123-001 resolve (dry run, not sent)",
    ] {
        assert!(
            printed.contains(expected),
            "`{expected}` missing:\n{printed}"
        );
    }
    // Acknowledged in time: no response target is missed.
    assert!(!printed.contains("00:15 pager paged level2"), "{printed}");

    let json = succeeded(&simulate(&[&args[..], &["--json"]].concat()));
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    let as_text: Vec<String> = lines
        .iter()
        .map(|line| {
            format!(
                "{} {} {}",
                line["at"].as_str().unwrap(),
                line["where"].as_str().unwrap(),
                line["what"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(as_text, printed.lines().collect::<Vec<_>>());
    let declared = &lines[0];
    assert_eq!(declared["kind"], "typed");
    assert_eq!(declared["minutes"], 0);
    assert!(
        lines
            .iter()
            .any(|line| line["kind"] == "paged" && line["minutes"] == 30)
    );
}

#[test]
fn an_unknown_severity_is_refused() {
    let out = simulate(&["sev9"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("`sev9` is not a severity of the config"),
        "{}",
        text(&out.stderr)
    );
}

/// One post or page, at whole minutes since the declaration.
type Seen = (u64, String);

/// The simulation's posts and pages, from `simulate --json`.
fn simulated(args: &[&str]) -> (Vec<Seen>, Vec<Seen>) {
    let json = succeeded(&simulate(args));
    let mut posts = Vec::new();
    let mut pages = Vec::new();
    for line in json.lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        let seen = (
            line["minutes"].as_u64().unwrap(),
            line["what"].as_str().unwrap().to_owned(),
        );
        match line["kind"].as_str().unwrap() {
            "posted" | "uploaded" => posts.push(seen),
            "paged" => pages.push(seen),
            _ => {}
        }
    }
    posts.sort();
    pages.sort();
    (posts, pages)
}

#[tokio::test]
async fn simulate_reports_what_the_engine_posts_on_the_same_clock() {
    let (simulated_posts, simulated_pages) = simulated(&[
        "sev1",
        "--for",
        "2h",
        "--ack-after",
        "20m",
        "--updates-every",
        "25m",
        "--resolve-after",
        "90m",
        "--start",
        "2026-11-23T14:00:00Z",
        "--json",
    ]);

    // The same people doing the same things, typed into an engine built as
    // `serve` builds it, its clock moved a minute at a time.
    let backend = test_backends().await.remove(0);
    let config = Config::load(&shipped_config()).unwrap();
    let clock = ManualClock::starting_at(start());
    let shared: SharedClock = Arc::new(clock.clone());
    let platform = Arc::new(TestingPlatform::standing_in_for(
        Platform::Console,
        shared.clone(),
    ));
    let pager = Arc::new(RecordingPager::new(shared.clone()));
    let built = app::builder(&backend, &[], config.clone())
        .clock(shared)
        .platform(platform.clone())
        .pager(pager.clone())
        .announce_channel(Platform::Console, ANNOUNCE_CHANNEL)
        .build()
        .await
        .unwrap();
    let (engine, dispatcher, scheduler) = (built.engine(), built.dispatcher(), built.scheduler());
    let acts: &[(u64, &str, &str)] = &[
        (0, "alice", "sev1 Simulated sev1 incident"),
        (20, "alice", "ack"),
        (25, "carol", "update Simulated status update 1"),
        (50, "carol", "update Simulated status update 2"),
        (75, "carol", "update Simulated status update 3"),
        (90, "alice", "resolve"),
    ];
    for minute in 0..=120 {
        for (_, by, text) in acts.iter().filter(|(at, _, _)| *at == minute) {
            let channel = platform
                .rooms()
                .first()
                .map_or("incidents".to_owned(), |room| room.id.clone());
            let actor = Actor {
                platform: Platform::Console,
                user: UserId::new(*by),
            };
            let context = Context {
                channel,
                request_id: None,
                room_name: None,
            };
            let command = command::parse(text, &config).unwrap();
            engine.handle(&actor, &context, command).await.unwrap();
            while dispatcher.deliver_due().await.unwrap() > 0 {}
        }
        while scheduler.run_due().await.unwrap() > 0 {}
        while dispatcher.deliver_due().await.unwrap() > 0 {}
        clock.advance(Duration::from_secs(60));
    }

    let minutes = |at: chrono::DateTime<chrono::Utc>| ((at - start()).num_seconds() / 60) as u64;
    let first_line = |message| message_lines(message).first().cloned().unwrap_or_default();
    let mut posts: Vec<Seen> = platform
        .operations()
        .iter()
        .filter_map(|done| match &done.action {
            Action::Post { message, .. } => Some((minutes(done.at), first_line(message))),
            Action::Upload { summary, .. } => Some((minutes(done.at), first_line(summary))),
            _ => None,
        })
        .collect();
    posts.sort();
    let mut pages: Vec<Seen> = pager
        .sent()
        .iter()
        .map(|(at, event)| (minutes(*at), event.action.as_str().to_owned()))
        .collect();
    pages.sort();

    assert!(posts.len() > 10, "{posts:#?}");
    assert_eq!(simulated_posts, posts);
    let simulated_actions: Vec<Seen> = simulated_pages
        .iter()
        .map(|(at, what)| {
            let action = if what.starts_with("paged ") {
                "trigger"
            } else {
                what.split_whitespace().nth(2).unwrap_or_default()
            };
            (*at, action.to_owned())
        })
        .collect();
    let mut simulated_actions = simulated_actions;
    simulated_actions.sort();
    assert_eq!(simulated_actions, pages);
}
