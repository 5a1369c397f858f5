//! warroom when its database fails under it: the real `warroom serve` binary,
//! against the fake Slack, while Postgres restarts in the middle of a burst of
//! commands, and while SQLite's disk (a small tmpfs) is full.
//!
//! What must hold: every command is answered within Slack's 3 s, with its result
//! or with "nothing was changed, try again" (never a false "done"); every change
//! answered as done is in the database exactly once; the workers and the process
//! carry on without a restart; and `/readyz` says not ready while the database
//! cannot take a change, and ready again once it can.
//!
//! Postgres runs in a cluster of the test's own (`.ci/postgres.sh`), so stopping
//! it disturbs no other test. Both tests skip, saying why, where they cannot run
//! (no Postgres server installed; not allowed to mount a tmpfs), except under CI.

use crate::common::served::Served;
use crate::outage::{
    Setup, click_take_scribe, declare, post_signed_with, scribe_taken, war_room_complete,
};
use crate::slack::{OPS, slash_form};
use crate::slack_fake::FakeSlack;
use serde_json::Value;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warroom::domain::{EventKind, IncidentId};
use warroom::store::Store;

const POSTGRES_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/postgres.sh");

/// Slack shows the user an error when a slash command is not answered within 3 s.
const SLACK_ANSWER_LIMIT: Duration = Duration::from_secs(3);

/// A readiness probe that takes longer than this is as bad as a wrong answer.
const READINESS_ANSWER_LIMIT: Duration = Duration::from_secs(2);

/// How long a late answer (after "Working on it…") may take.
const LATE_ANSWER_LIMIT: Duration = Duration::from_secs(60);

/// How long after the database is back commands must work again.
const RECOVERED_WITHIN: Duration = Duration::from_secs(10);

/// How the user was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The change was made, and the answer says so.
    Saved,
    /// The answer says nothing was changed and to try again.
    NotSaved,
    /// The database went away during the commit itself, and the answer says the
    /// change may or may not have been saved.
    Unsure,
}

/// One command of a burst: its note, how it was answered, how long the first
/// HTTP answer took, and when the final answer came.
#[derive(Debug)]
struct Sent {
    text: String,
    answer: Answer,
    said: String,
    first_answer_took: Duration,
    answered_at: Instant,
}

fn slowest(sent: &[Sent]) -> Option<Duration> {
    sent.iter().map(|one| one.first_answer_took).max()
}

/// When the first change answered as saved after `since` was answered.
fn first_saved_after(sent: &[Sent], since: Instant) -> Option<Instant> {
    sent.iter()
        .filter(|one| one.answer == Answer::Saved && one.answered_at >= since)
        .map(|one| one.answered_at)
        .min()
}

/// Under CI a test that cannot run fails; elsewhere it says why it skips.
fn skip(reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false");
    assert!(!ci, "CI is set, so this test must run: {reason}");
    // Past libtest's capture, which swallows what a passing test prints.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
}

fn text_of(answer: &Value) -> String {
    answer["text"].as_str().unwrap_or_default().to_string()
}

fn classify(text: &str) -> Answer {
    if text.starts_with("Added to the timeline") {
        Answer::Saved
    } else if text.contains("nothing was changed") && text.contains("Try again") {
        Answer::NotSaved
    } else if text.contains("may or may not have been saved") {
        Answer::Unsure
    } else {
        panic!("an answer that says neither done nor not saved: {text}")
    }
}

/// Alice's notes on one incident, sent from #ops through one HTTP client (a new
/// client takes a while to set up, which would count against the answer's time).
#[derive(Clone)]
struct Notes {
    client: reqwest::Client,
    address: SocketAddr,
    fake: FakeSlack,
    id: IncidentId,
}

impl Notes {
    fn new(address: SocketAddr, fake: &FakeSlack, id: &IncidentId) -> Notes {
        Notes {
            client: reqwest::Client::new(),
            address,
            fake: fake.clone(),
            id: id.clone(),
        }
    }

    /// `/incident note <id> <text>`, answered at once or, after "Working on it…",
    /// by its `response_url`.
    async fn send(&self, text: &str) -> Sent {
        let trigger = format!(
            "note-{}",
            text.split_whitespace().next().unwrap_or_default()
        );
        let command = format!("note {} {text}", self.id);
        let body = slash_form(&self.fake, "UALICE", OPS, &command, &trigger);
        let started = Instant::now();
        let first: Value = post_signed_with(&self.client, self.address, "/slack/commands", body)
            .await
            .json()
            .await
            .expect("the answer is JSON");
        let first_answer_took = started.elapsed();
        let mut said = text_of(&first);
        if said.starts_with("Working on it") {
            let deadline = Instant::now() + LATE_ANSWER_LIMIT;
            said = loop {
                if let Some(late) = self.fake.responses(&trigger).first() {
                    break text_of(late);
                }
                assert!(
                    Instant::now() < deadline,
                    "no late answer to `{text}` within {LATE_ANSWER_LIMIT:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
        }
        Sent {
            text: text.to_string(),
            answer: classify(&said),
            said,
            first_answer_took,
            answered_at: Instant::now(),
        }
    }

    /// Sends notes, one every 200 ms, until one is saved.
    async fn until_saved(&self, label: &str, sent: &mut Vec<Sent>) {
        let deadline = Instant::now() + RECOVERED_WITHIN * 3;
        for n in 0.. {
            let one = self.send(&format!("{label}{n} after the fault")).await;
            let saved = one.answer == Answer::Saved;
            sent.push(one);
            if saved {
                return;
            }
            assert!(Instant::now() < deadline, "commands never worked again");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Slack shows the user an error if a request is not answered within this.
const SLACK_ACK_LIMIT: Duration = Duration::from_secs(3);

/// Prometheus gives up on a scrape after this long unless told otherwise.
const PROMETHEUS_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// `/metrics` as Prometheus scrapes it: its text and how long it took, or
/// `None` if it did not answer within Prometheus's scrape timeout.
async fn scrape_metrics(address: SocketAddr) -> Option<(String, Duration)> {
    let started = Instant::now();
    let answer = reqwest::Client::new()
        .get(format!("http://{address}/metrics"))
        .timeout(PROMETHEUS_SCRAPE_TIMEOUT)
        .send()
        .await
        .ok()?;
    let text = answer.text().await.ok()?;
    Some((text, started.elapsed()))
}

/// One request to `/readyz`.
#[derive(Debug, Clone, Copy)]
struct Probe {
    sent: Instant,
    /// `None`: no answer.
    status: Option<u16>,
    took: Duration,
}

/// `/readyz`, polled every 100 ms from the start until dropped.
struct Readiness {
    probes: Arc<Mutex<Vec<Probe>>>,
    polling: tokio::task::JoinHandle<()>,
}

impl Readiness {
    fn watch(address: SocketAddr) -> Readiness {
        let probes = Arc::new(Mutex::new(Vec::new()));
        let recorded = probes.clone();
        let polling = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a client");
            loop {
                let sent = Instant::now();
                let status = client
                    .get(format!("http://{address}/readyz"))
                    .send()
                    .await
                    .ok()
                    .map(|response| response.status().as_u16());
                recorded.lock().unwrap().push(Probe {
                    sent,
                    status,
                    took: sent.elapsed(),
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Readiness { probes, polling }
    }

    fn probes(&self) -> Vec<Probe> {
        self.probes.lock().unwrap().clone()
    }

    /// When the first probe sent at or after `since` answered `status`.
    fn first(&self, status: u16, since: Instant) -> Option<Instant> {
        self.probes()
            .into_iter()
            .find(|probe| probe.sent >= since && probe.status == Some(status))
            .map(|probe| probe.sent)
    }

    /// Every probe answered, and in time.
    fn assert_prompt(&self, backend: &str) {
        for Probe { status, took, .. } in self.probes() {
            assert!(
                status.is_some() && took < READINESS_ANSWER_LIMIT,
                "{backend}: /readyz answered {status:?} after {took:?}"
            );
        }
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        self.polling.abort();
    }
}

/// Every note answered as saved is on the timeline exactly once, and none
/// answered as not saved is there at all.
async fn assert_answers_were_true(database: &str, id: &IncidentId, sent: &[Sent], backend: &str) {
    let store = Store::connect(database).await.expect("the database opens");
    let notes: Vec<String> = store
        .timeline(id)
        .await
        .expect("the timeline reads")
        .into_iter()
        .filter(|event| event.kind == EventKind::Note)
        .map(|event| event.text)
        .collect();
    store.close().await;
    for one in sent {
        let kept = notes.iter().filter(|text| **text == one.text).count();
        let expected = match one.answer {
            Answer::Saved => 1..=1,
            Answer::NotSaved => 0..=0,
            Answer::Unsure => 0..=1,
        };
        assert!(
            expected.contains(&kept),
            "{backend}: `{}` was answered {:?} and is on the timeline {kept} times",
            one.text,
            one.answer
        );
        assert!(
            one.first_answer_took < SLACK_ANSWER_LIMIT,
            "{backend}: `{}` was first answered after {:?}",
            one.text,
            one.first_answer_took
        );
    }
}

/// The process has not exited, and its workers still deliver: a new declaration
/// gets its war room, pinned summary and announcement.
async fn assert_carries_on(served: &mut Served, fake: &FakeSlack, setup: &Setup, trigger: &str) {
    assert!(
        matches!(served.child.try_wait(), Ok(None)),
        "warroom exited; it said:\n{}",
        served.log()
    );
    let address = served.address().await;
    let id = declare(address, fake, trigger).await;
    war_room_complete(fake, setup, &id).await;
}

/// A Postgres cluster of this test's own, stopped and removed when dropped.
struct OwnCluster {
    url: String,
    dir: String,
}

impl OwnCluster {
    /// `None` (after saying why) when no Postgres server is installed.
    fn start() -> Option<OwnCluster> {
        // `postgres.sh start` would install the server as root; a test only looks.
        let installed = Command::new("sh")
            .args([
                "-c",
                "command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl",
            ])
            .output()
            .is_ok_and(|found| found.status.success());
        if !installed {
            skip("Postgres restart — no PostgreSQL server (pg_ctl) installed");
            return None;
        }
        let exports = postgres_script(&["start"]);
        let value = |name: &str| {
            exports
                .lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("postgres.sh start printed no {name}: {exports}"))
                .to_string()
        };
        Some(OwnCluster {
            url: value("WARROOM_TEST_POSTGRES_URL"),
            dir: value("WARROOM_TEST_POSTGRES_DIR"),
        })
    }

    fn run(&self, subcommand: &str) {
        postgres_script(&[subcommand, &self.dir]);
    }
}

/// Runs `.ci/postgres.sh` with `args`, which must succeed; returns what it printed.
fn postgres_script(args: &[&str]) -> String {
    let ran = Command::new(POSTGRES_SCRIPT)
        .args(args)
        .output()
        .expect("postgres.sh runs");
    assert!(
        ran.status.success(),
        "postgres.sh {args:?} failed: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    String::from_utf8_lossy(&ran.stdout).to_string()
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new(POSTGRES_SCRIPT)
            .args(["stop", &self.dir])
            .output();
    }
}

// Multi-threaded: stopping and starting Postgres blocks the test's own thread,
// which must not hold up the burst's answers, nor the timing of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_burst_loses_nothing_acknowledged_and_nobody_hears_done_falsely() {
    let Some(cluster) = OwnCluster::start() else {
        return;
    };
    let fake = FakeSlack::start().await;
    let setup = Setup::new(&fake);
    let mut served = setup.serve_on(&cluster.url, &fake, &[]);
    let address = served.address().await;
    let id = declare(address, &fake, "declare-before-restart").await;
    war_room_complete(&fake, &setup, &id).await;
    let readiness = Readiness::watch(address);
    let notes = Notes::new(address, &fake, &id);

    // A note every 150 ms for 12 s; Postgres goes away after 1.5 s, for longer
    // than a command waits for it.
    let burst: Vec<_> = (0..80)
        .map(|n| {
            let notes = notes.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150) * n).await;
                notes.send(&format!("burst{n} during the restart")).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopped_at = Instant::now();
    cluster.run("pause");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let scrape = scrape_metrics(address).await;
    // Dave's click cannot be kept while Postgres is away: Slack must hear so in
    // time to send it again, rather than wait for an answer that never comes.
    let action_ts = "1790000003.000300";
    let clicked_at = Instant::now();
    let click_while_away = click_take_scribe(address, &fake, &id, action_ts)
        .await
        .status();
    let click_took = clicked_at.elapsed();
    tokio::time::sleep(
        (stopped_at + Duration::from_secs(8)).saturating_duration_since(Instant::now()),
    )
    .await;
    let resumed_at = Instant::now();
    cluster.run("resume");
    let mut sent = Vec::new();
    for one in burst {
        sent.push(one.await.expect("the note was sent"));
    }
    notes.until_saved("after", &mut sent).await;
    let worked_at = first_saved_after(&sent, resumed_at).expect("a change saved after the restart");
    assert_eq!(
        click_while_away, 503,
        "a click that cannot be kept is not acknowledged"
    );
    assert!(
        click_took < SLACK_ACK_LIMIT,
        "the unkept click was answered after {click_took:?}, past Slack's {SLACK_ACK_LIMIT:?}"
    );
    let resent = click_take_scribe(address, &fake, &id, action_ts).await;
    assert_eq!(resent.status(), 200, "the click sent again is acknowledged");
    fake.wait_for("the click answered", |f| {
        !f.responses(&format!("click-{action_ts}")).is_empty()
    })
    .await;

    let not_saved = sent
        .iter()
        .filter(|one| one.answer == Answer::NotSaved)
        .count();
    assert!(
        not_saved > 0,
        "no command was refused while the database was away: {sent:?}"
    );
    let (scraped, scrape_took) = scrape.expect("/metrics answered while Postgres was stopped");
    assert!(
        scraped.contains("warroom_database_up 0") && scraped.contains("warroom_commands_total"),
        "/metrics while Postgres was stopped: the process's own series, and the database down:\n{scraped}"
    );
    let unready = readiness
        .first(503, stopped_at)
        .expect("/readyz said not ready while Postgres was stopped");
    assert!(
        unready < resumed_at,
        "/readyz noticed only after the restart"
    );
    let ready = readiness
        .first(200, resumed_at)
        .expect("/readyz said ready again after the restart");
    readiness.assert_prompt("postgres");
    assert!(
        worked_at - resumed_at < RECOVERED_WITHIN,
        "commands worked again only {:?} after Postgres was back",
        worked_at - resumed_at
    );
    println!(
        "postgres: stopped for {:?}; /readyz said 503 {:?} after the stop and 200 {:?} after the restart; \
         commands worked again {:?} after the restart; {not_saved} of {} commands were answered not saved; \
         the slowest first answer took {:?}; /metrics answered in {scrape_took:?}; \
         a click was refused after {click_took:?}",
        resumed_at - stopped_at,
        unready - stopped_at,
        ready - resumed_at,
        worked_at - resumed_at,
        sent.len(),
        slowest(&sent),
    );
    assert_carries_on(&mut served, &fake, &setup, "declare-after-restart").await;
    assert_answers_were_true(&cluster.url, &id, &sent, "postgres").await;
    let scribe_taken = scribe_taken(&cluster.url, &id).await;
    assert_eq!(
        scribe_taken.len(),
        1,
        "the click refused while Postgres was away and sent again applied once: {scribe_taken:?}"
    );
}

/// A tmpfs of `size` mounted on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `Err` says why it could not be mounted (usually: not root).
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|error| format!("mount: {error}"))?;
        if !mounted.status.success() {
            return Err(String::from_utf8_lossy(&mounted.stderr).trim().to_string());
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// Takes every byte left on the file system of `dir` with a file, returned.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).expect("the filler is created");
    for chunk in [1 << 16, 1 << 12, 1] {
        let block = vec![0u8; chunk];
        while file.write_all(&block).is_ok() {}
    }
    filler
}

#[tokio::test]
async fn sqlite_on_a_full_disk_answers_not_saved_and_works_again_once_there_is_room() {
    let tmpfs = match Tmpfs::mount("8m") {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            skip(&format!(
                "SQLite on a full disk — cannot mount a tmpfs: {why}"
            ));
            return;
        }
    };
    let database = format!("sqlite://{}", tmpfs.path().join("warroom.db").display());
    let fake = FakeSlack::start().await;
    let setup = Setup::new(&fake);
    let mut served = setup.serve_on(&database, &fake, &[]);
    let address = served.address().await;
    let id = declare(address, &fake, "declare-before-the-disk-fills").await;
    war_room_complete(&fake, &setup, &id).await;
    let readiness = Readiness::watch(address);
    let notes = Notes::new(address, &fake, &id);

    let filler = fill(tmpfs.path());
    let full_at = Instant::now();
    let padding = "x".repeat(2000);
    let mut sent = Vec::new();
    let mut refused_in_a_row = 0;
    let mut first_refused = None;
    for n in 0..500 {
        let one = notes.send(&format!("full{n} {padding}")).await;
        if one.answer == Answer::NotSaved {
            first_refused.get_or_insert_with(Instant::now);
        }
        refused_in_a_row = match one.answer {
            Answer::NotSaved => refused_in_a_row + 1,
            Answer::Saved | Answer::Unsure => 0,
        };
        sent.push(one);
        if refused_in_a_row == 3 {
            break;
        }
    }
    assert_eq!(
        refused_in_a_row,
        3,
        "the full disk never refused a change: {} notes saved",
        sent.len()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let unready = readiness
        .first(503, full_at)
        .expect("/readyz said not ready while the disk was full");

    // Dave's click: acknowledged only if kept; Slack sends an unacknowledged one again.
    let action_ts = "1790000002.000200";
    let click_while_full = click_take_scribe(address, &fake, &id, action_ts)
        .await
        .status();
    assert!(
        [200, 503].contains(&click_while_full.as_u16()),
        "the click was answered {click_while_full}"
    );

    std::fs::remove_file(&filler).expect("the filler is removed");
    let freed_at = Instant::now();
    notes.until_saved("freed", &mut sent).await;
    if click_while_full != 200 {
        let resent = click_take_scribe(address, &fake, &id, action_ts).await;
        assert_eq!(resent.status(), 200, "the click sent again is acknowledged");
    }
    fake.wait_for("the click answered", |f| {
        !f.responses(&format!("click-{action_ts}")).is_empty()
    })
    .await;
    let worked_at = first_saved_after(&sent, freed_at).expect("a change saved once there was room");
    let ready = loop {
        if let Some(ready) = readiness.first(200, freed_at) {
            break ready;
        }
        assert!(
            freed_at.elapsed() < RECOVERED_WITHIN,
            "/readyz never said ready again after the disk had room"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    readiness.assert_prompt("sqlite");
    assert!(
        worked_at - freed_at < RECOVERED_WITHIN,
        "commands worked again only {:?} after the disk had room",
        worked_at - freed_at
    );
    let not_saved = sent
        .iter()
        .filter(|one| one.answer == Answer::NotSaved)
        .inspect(|one| {
            assert!(
                one.said.contains("out of disk space"),
                "a refusal on a full disk says why: {}",
                one.said
            );
        })
        .count();
    println!(
        "sqlite: a click was answered {click_while_full} while the disk was full; \
         the first refusal came {:?} after the disk filled; /readyz said 503 {:?} after; \
         once there was room, commands worked again after {:?} and /readyz said 200 after {:?}; \
         {not_saved} of {} commands were answered not saved; the slowest first answer took {:?}",
        first_refused.map(|at| at - full_at),
        unready.saturating_duration_since(full_at),
        worked_at - freed_at,
        ready.saturating_duration_since(freed_at),
        sent.len(),
        slowest(&sent),
    );
    assert_carries_on(
        &mut served,
        &fake,
        &setup,
        "declare-after-the-disk-had-room",
    )
    .await;
    drop(readiness);
    drop(served);
    assert_answers_were_true(&database, &id, &sent, "sqlite").await;
    let scribe_taken = scribe_taken(&database, &id).await;
    assert_eq!(
        scribe_taken.len(),
        1,
        "the click (answered {click_while_full} while the disk was full) applied once: {scribe_taken:?}"
    );
}
