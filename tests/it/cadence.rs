//! Cadence end to end on a real database: reminders, response targets,
//! escalation and pages, driven through simulated time with a manual clock.
//!
//! Time never passes by itself here: [`Harness::run_until`] moves the clock to
//! each due reminder in turn, lets the scheduler fire it and the dispatcher
//! deliver the result, so two hours of incident take milliseconds and every
//! effect happens at its exact second.

use crate::common;

use crate::common::harness::{
    Harness, PEOPLE, SEV1, SEV1_ROLES_WITH_COMMS, bot, id_in, service_phrases, start,
};
use crate::common::pagerduty::FakeEvents;
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, test_backends};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use warroom::clock::{Clock, ManualClock};
use warroom::command::{self, Command};
use warroom::config::{PagerDutySettings, Secret};
use warroom::domain::{EventKind, IncidentId, PageState, Platform, UserId};
use warroom::outbox::testing::{RecordingPager, TestingPlatform};
use warroom::outbox::{Destination, Operation, Pager, PagerDuty};
use warroom::render::Message;
use warroom::schedule::{ReminderKind, ReminderOutcome};

fn config() -> String {
    // Goes on from `SEV1`: its reminders, pages and escalations first.
    let world = r#"
update_every = "15m"
remind_while_monitoring = false
page = true
escalate = [{ after = "30m", to = "level2" }, { after = "60m", to = "level3" }]

[[severity]]
name = "sev2"
label = "Major"
respond_within = "30m"
update_every = "30m"
page = true
escalate = [{ after = "60m", to = "level2" }]

[[severity]]
name = "sev3"
label = "Minor"
respond_within = "2h"
update_every = "2h"

[[severity]]
name = "fast"
label = "Load test"
respond_within = "24h"
update_every = "10s"

[people.erin]
slack = "UERIN"
[people.frank]
slack = "UFRANK"

[levels]
level2 = ["erin"]
level3 = ["frank"]

[slack]
announce_channel = "CANNOUNCE"
"#;
    [
        &bot("UTC"),
        SEV1,
        world,
        PEOPLE,
        SEV1_ROLES_WITH_COMMS,
        &service_phrases(),
    ]
    .concat()
}

const ANNOUNCE: &str = "CANNOUNCE";

/// With `pager`, paging is on and pages go to it; every command's messages
/// are delivered before its reply returns.
async fn harness(backend: &Backend, clock: ManualClock, pager: Option<Arc<dyn Pager>>) -> Harness {
    Harness::builder(config())
        .clock(clock)
        .delivering()
        .pager(pager)
        .build(backend)
        .await
}

impl Harness {
    /// Seconds since the test's start.
    fn offset(&self, at: DateTime<Utc>) -> i64 {
        (at - start()).num_seconds()
    }

    fn set(&self, seconds: i64) {
        self.clock.set(start() + chrono::Duration::seconds(seconds));
    }

    /// Moves the clock through every reminder due up to `seconds`, firing each
    /// at its time and delivering what it queued, then to `seconds` itself.
    async fn run_until(&self, seconds: i64) {
        let until = start() + chrono::Duration::seconds(seconds);
        loop {
            let next = self
                .store
                .next_reminder_due(self.clock.now())
                .await
                .expect("read");
            match next {
                Some(next) if next <= until => {
                    if next > self.clock.now() {
                        self.clock.set(next);
                    }
                    while self.scheduler.run_due().await.expect("scheduler pass") > 0 {}
                    self.deliver().await;
                }
                _ => break,
            }
        }
        self.clock.set(until);
    }

    /// What the cadence did in a room, with the second it happened: reminders
    /// (with who they mention), missed targets and escalations.
    async fn cadence_posts(&self, id: &IncidentId) -> Vec<(i64, String)> {
        let rows = self.store.outbox_of(id).await.expect("read");
        let mut seen = Vec::new();
        for row in rows {
            let Operation::Post {
                to: Destination::Room,
                message,
                ..
            } = &row.operation
            else {
                continue;
            };
            let text = message.plain_text();
            let what = if text.contains("Status update due") {
                format!("reminder {}", mentioned(message))
            } else if text.contains("Response target missed") {
                format!("response missed {}", mentioned(message))
            } else if let Some(rest) = text.split("Escalated to ").nth(1) {
                let level = rest.split(' ').next().unwrap_or_default();
                format!("escalated {level} {}", mentioned(message))
            } else {
                continue;
            };
            seen.push((self.offset(row.created_at), what));
        }
        seen
    }
}

fn mentioned(message: &Message) -> String {
    message
        .mentions()
        .iter()
        .map(|u| u.as_str().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn pages(pager: &RecordingPager) -> Vec<(i64, String)> {
    pager
        .sent()
        .into_iter()
        .map(|(at, event)| {
            (
                (at - start()).num_seconds(),
                format!("{} {}", event.action.as_str(), event.dedup_key),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_sev1_through_two_hours_reminds_escalates_and_pages_to_the_second() {
    for backend in test_backends().await {
        let clock = ManualClock::starting_at(start());
        let pager = Arc::new(RecordingPager::new(Arc::new(clock.clone())));
        let h = harness(&backend, clock, Some(pager.clone())).await;
        let (id, room) = h
            .declare_by("UALICE", "sev1 checkout is down service=checkout")
            .await;
        let inc = id.as_str();

        h.set(600);
        h.run(
            "UCAROL",
            &room,
            "update elevated errors on checkout, investigating",
        )
        .await;
        h.run_until(1920).await;
        h.run("UALICE", &room, "ack").await;
        h.run_until(2700).await;
        let identified = h
            .run(
                "UBOB",
                &room,
                "status identified rolling back cause=bad-deploy",
            )
            .await;
        assert!(
            identified.text().contains("identified"),
            "{}",
            identified.text()
        );
        h.run_until(4000).await;
        h.run("UBOB", &room, "status monitoring").await;
        h.run_until(6000).await;
        h.run("UBOB", &room, "status identified").await;
        h.run_until(7200).await;
        h.run("UALICE", &room, "resolve rolled back checkout").await;
        h.run_until(9000).await;

        assert_eq!(
            h.cadence_posts(&id).await,
            vec![
                (900, "response missed UALICE".to_string()),
                (900, "escalated level2 UERIN".to_string()),
                (1500, "reminder UCAROL".to_string()),
                (2400, "reminder UCAROL,UALICE".to_string()),
                (3600, "escalated level3 UFRANK".to_string()),
                (3600, "reminder UCAROL".to_string()),
                (6900, "reminder UCAROL,UALICE".to_string()),
            ],
            "reminders and escalations, to the second"
        );
        assert_eq!(
            pages(&pager),
            vec![
                (0, format!("trigger {inc}")),
                (900, format!("trigger {inc}/level2")),
                (1920, format!("acknowledge {inc}")),
                (1920, format!("acknowledge {inc}/level2")),
                (3600, format!("trigger {inc}/level3")),
                (7200, format!("resolve {inc}")),
                (7200, format!("resolve {inc}/level2")),
                (7200, format!("resolve {inc}/level3")),
            ],
            "pages, to the second"
        );

        // Every row ended: fired at its time, skipped or cancelled; none pending.
        let rows = h.store.reminders_of(&id).await.unwrap();
        let ended: Vec<(ReminderKind, i64, Option<ReminderOutcome>, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.kind,
                    h.offset(r.due_at),
                    r.outcome,
                    r.done_at.map(|d| h.offset(d)).unwrap_or(-1),
                )
            })
            .collect();
        use ReminderKind::*;
        use ReminderOutcome::*;
        assert_eq!(
            ended,
            vec![
                (Update, 900, Some(Cancelled), 600),
                (Response, 900, Some(Fired), 900),
                (Escalate, 1800, Some(Skipped), 1800),
                (Escalate, 3600, Some(Fired), 3600),
                (Update, 1500, Some(Fired), 1500),
                (Update, 2400, Some(Fired), 2400),
                (Update, 3300, Some(Cancelled), 2700),
                (Update, 3600, Some(Fired), 3600),
                (Update, 4500, Some(Cancelled), 4000),
                (Update, 6900, Some(Fired), 6900),
                (Update, 7800, Some(Cancelled), 7200),
            ]
        );

        // Each escalation step and the missed target are on the timeline.
        let timeline = h.store.timeline(&id).await.unwrap();
        let steps: Vec<(i64, EventKind, String)> = timeline
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Escalated | EventKind::ResponseMissed))
            .map(|e| (h.offset(e.at), e.kind, e.text.clone()))
            .collect();
        assert_eq!(
            steps,
            vec![
                (
                    900,
                    EventKind::ResponseMissed,
                    "Response target of 15m missed: not acknowledged".to_string()
                ),
                (
                    900,
                    EventKind::Escalated,
                    "Escalated to level2 (not acknowledged within 15m): erin; paged through PagerDuty."
                        .to_string()
                ),
                (
                    3600,
                    EventKind::Escalated,
                    "Escalated to level3 (open for 1h 0m): frank; paged through PagerDuty."
                        .to_string()
                ),
            ]
        );
        assert!(
            timeline
                .iter()
                .all(|e| e.kind != EventKind::Escalated || e.actor == "warroom")
        );

        // The escalated people were invited to the room.
        let members = h.platform.members(&room);
        for user in ["UERIN", "UFRANK"] {
            assert!(members.contains(&UserId::new(user)), "{user} invited");
        }

        // Templated updates, in the room and the announce channel alike.
        let announced = h.platform.texts_in(ANNOUNCE);
        assert_eq!(
            announced[1],
            "Status update 14:10 UTC · SEV1 · investigating — We are investigating reports of issues with checkout. \
             — elevated errors on checkout, investigating — next update by 14:25"
        );
        assert_eq!(
            announced[2],
            "Status update 14:45 UTC · SEV1 · identified — We have identified the issue affecting checkout: bad-deploy. \
             — rolling back — next update by 15:00"
        );
        let reminder = h
            .platform
            .messages_in(&room)
            .into_iter()
            .find(|m| m.message.plain_text().contains("Status update due"))
            .expect("a reminder was posted");
        assert_eq!(
            reminder.message.plain_text(),
            "Status update due — last one 15 min ago @UCAROL\n\
             Post update: `/incident update &lt;text&gt;`, or `/incident status &lt;status&gt; &lt;text&gt;` if the status moved."
        );
        let button = reminder
            .message
            .blocks
            .iter()
            .find_map(|b| match b {
                warroom::render::Block::Buttons(buttons) => buttons.first().cloned(),
                _ => None,
            })
            .expect("a snooze button");
        assert_eq!(
            (
                button.action.as_str(),
                button.value.as_str(),
                button.label.as_str()
            ),
            ("snooze:30", inc, "Snooze 30 m")
        );
    }
}

#[tokio::test]
async fn a_restart_fires_every_pending_reminder_once_and_an_overdue_one_once() {
    for backend in test_backends().await {
        let h = harness(&backend, ManualClock::starting_at(start()), None).await;
        // sev1: updates every 15m, escalations at 30m and 60m; sev2: updates every
        // 30m, escalation at 60m. Both acknowledged, so no response checks.
        let (a, room_a) = h.declare_by("UALICE", "sev1 checkout is down").await;
        let (b, room_b) = h.declare_by("UALICE", "sev2 search is slow").await;
        h.run("UALICE", &room_a, "ack").await;
        h.run("UALICE", &room_b, "ack").await;
        h.run_until(60).await;

        // The bot dies at 14:01 and comes back at 14:16:40: A's first update
        // reminder (due 14:15) fell due while it was down; everything else is ahead.
        let h = h.restart(&backend).await;
        h.set(1000);
        h.run_until(3600).await;

        assert_eq!(
            h.cadence_posts(&a).await,
            vec![
                (1000, "reminder UCAROL".to_string()),
                (1800, "escalated level2 UERIN".to_string()),
                (1800, "reminder UCAROL,UALICE".to_string()),
                (2700, "reminder UCAROL,UALICE".to_string()),
                (3600, "escalated level3 UFRANK".to_string()),
                (3600, "reminder UCAROL,UALICE".to_string()),
            ],
            "the overdue reminder once at start, then the cadence on time"
        );
        assert_eq!(
            h.cadence_posts(&b).await,
            vec![
                (1800, "reminder UALICE".to_string()),
                (3600, "escalated level2 UERIN".to_string()),
                (3600, "reminder UALICE".to_string()),
            ]
        );
        // Every fired row fired once, at its time (or at start if overdue), and
        // each post matches one fired row.
        for (id, room) in [(&a, &room_a), (&b, &room_b)] {
            let rows = h.store.reminders_of(id).await.unwrap();
            let fired: Vec<_> = rows
                .iter()
                .filter(|r| r.outcome == Some(ReminderOutcome::Fired))
                .collect();
            for row in &fired {
                let expected = if h.offset(row.due_at) == 900 {
                    1000
                } else {
                    h.offset(row.due_at)
                };
                assert_eq!(row.done_at.map(|d| h.offset(d)), Some(expected), "{row:?}");
            }
            let posted = h
                .platform
                .texts_in(room)
                .iter()
                .filter(|t| t.contains("Status update due") || t.contains("Escalated to"))
                .count();
            assert_eq!(posted, fired.len(), "{id}: one post per fired row");
        }
    }
}

#[tokio::test]
async fn a_drill_runs_everything_but_pages_nobody_and_marks_every_message() {
    for backend in test_backends().await {
        let clock = ManualClock::starting_at(start());
        let pager = Arc::new(RecordingPager::new(Arc::new(clock.clone())));
        let h = harness(&backend, clock, Some(pager.clone())).await;
        let (id, room) = h
            .declare_by("UALICE", "sev1 --drill monthly failover drill")
            .await;
        h.run_until(1800).await;
        h.run("UALICE", &room, "ack").await;
        h.run("UCAROL", &room, "update failover complete").await;
        h.run("UALICE", &room, "resolve drill done").await;

        assert!(pager.sent().is_empty(), "nobody was paged");
        let pages = h.store.pages_of(&id).await.unwrap();
        assert!(
            pages.iter().all(|p| p.state == PageState::Drill),
            "{pages:?}"
        );
        assert_eq!(
            pages.len(),
            2,
            "on-call and level2, both as drill: {pages:?}"
        );
        assert_eq!(
            h.cadence_posts(&id).await,
            vec![
                (900, "reminder UCAROL".to_string()),
                (900, "response missed UALICE".to_string()),
                (900, "escalated level2 UERIN".to_string()),
                (1800, "reminder UCAROL,UALICE".to_string()),
            ]
        );
        for channel in [room.as_str(), ANNOUNCE] {
            for text in h.platform.texts_in(channel) {
                assert!(
                    text.starts_with("[DRILL] "),
                    "unmarked in {channel}: {text}"
                );
            }
        }
        let escalated = h
            .platform
            .texts_in(&room)
            .into_iter()
            .find(|t| t.contains("Escalated to level2"))
            .unwrap();
        assert!(
            escalated.ends_with("drill: nobody was paged."),
            "{escalated}"
        );
    }
}

#[tokio::test]
async fn without_a_routing_key_the_room_is_told_once_that_nobody_is_paged() {
    for backend in test_backends().await {
        let h = harness(&backend, ManualClock::starting_at(start()), None).await;
        let (id, room) = h.declare_by("UALICE", "sev1 payments failing").await;
        h.run_until(3600).await;
        let notices = h
            .platform
            .texts_in(&room)
            .into_iter()
            .filter(|t| t.starts_with("Paging is off"))
            .count();
        assert_eq!(notices, 1, "said once, though three pages were wanted");
        let states: Vec<PageState> = h
            .store
            .pages_of(&id)
            .await
            .unwrap()
            .iter()
            .map(|p| p.state)
            .collect();
        assert_eq!(states, vec![PageState::Off; 3]);
    }
}

#[tokio::test]
async fn a_severity_change_plans_the_new_cadence_and_pages_if_it_now_pages() {
    for backend in test_backends().await {
        let clock = ManualClock::starting_at(start());
        let pager = Arc::new(RecordingPager::new(Arc::new(clock.clone())));
        let h = harness(&backend, clock, Some(pager.clone())).await;
        let (id, room) = h.declare_by("UALICE", "sev3 slow dashboards").await;
        assert!(pager.sent().is_empty(), "sev3 does not page");
        h.set(20 * 60);
        h.run("UALICE", &room, "update looking into it").await;
        h.set(40 * 60);
        h.run("UALICE", &room, "severity sev1").await;

        let pending: Vec<(ReminderKind, i64, Option<String>)> = h
            .store
            .reminders_of(&id)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.done_at.is_none())
            .map(|r| (r.kind, h.offset(r.due_at), r.target))
            .collect();
        assert_eq!(
            pending,
            vec![
                // 15m after the last update (14:20), already past: due now.
                (ReminderKind::Update, 2400, None),
                // declared + 15m, already past: due now.
                (ReminderKind::Response, 2400, None),
                (ReminderKind::Escalate, 2400, Some("level2".to_string())),
                (ReminderKind::Escalate, 3600, Some("level3".to_string())),
            ]
        );
        let sent: Vec<String> = pager
            .sent()
            .iter()
            .map(|(_, e)| format!("{} {}", e.action.as_str(), e.dedup_key))
            .collect();
        assert_eq!(
            sent,
            vec![format!("trigger {id}")],
            "on-call paged on the move to sev1"
        );
        h.run_until(2400).await;
        assert_eq!(
            h.cadence_posts(&id).await,
            vec![
                (2400, "reminder UALICE".to_string()),
                (2400, "response missed UALICE".to_string()),
                (2400, "escalated level2 UERIN".to_string()),
            ],
            "the level the missed target called in is not called in twice"
        );
    }
}

#[tokio::test]
async fn the_snooze_button_moves_the_reminder_and_an_update_restarts_the_clock() {
    for backend in test_backends().await {
        let h = harness(&backend, ManualClock::starting_at(start()), None).await;
        let (id, room) = h.declare_by("UALICE", "sev1 login broken").await;
        h.run("UALICE", &room, "ack").await;
        h.run_until(900).await;
        let click = command::from_button("snooze:30", id.as_str(), &UserId::new("UCAROL"))
            .expect("the reminder's button");
        let reply = h.handle("UCAROL", &room, click, None).await;
        assert!(reply.text().contains("until 14:45"), "{}", reply.text());
        let refused = h
            .handle(
                "UDAVE",
                &room,
                Command::Snooze(command::Snooze {
                    incident: Some(id.clone()),
                    minutes: 30,
                }),
                None,
            )
            .await;
        assert!(
            refused.text().contains("Only the role holders"),
            "{}",
            refused.text()
        );
        h.run_until(2700).await;
        assert_eq!(
            h.cadence_posts(&id).await,
            vec![
                (900, "reminder UCAROL".to_string()),
                (1800, "escalated level2 UERIN".to_string()),
                (2700, "reminder UCAROL,UALICE".to_string()),
            ],
            "snoozed from 15:15 to 14:45"
        );
    }
}

#[tokio::test]
async fn pagerduty_gets_trigger_acknowledge_and_resolve_retried_on_429_and_500_and_a_400_is_reported()
 {
    for backend in test_backends().await {
        let fake = Arc::new(FakeEvents::default());
        let url = fake.serve().await;
        let pagerduty = PagerDuty::from_settings(&PagerDutySettings {
            routing_key: Some(Secret::new("R0UTING-KEY-0123456789abcdef")),
            events_url: url,
        })
        .expect("client builds")
        .expect("a routing key turns paging on");
        let h = harness(
            &backend,
            ManualClock::starting_at(start()),
            Some(Arc::new(pagerduty)),
        )
        .await;

        // The trigger meets a rate limit, then a server error, then gets through.
        fake.answer(429, Some(2), r#"{"status":"throttled"}"#);
        fake.answer(500, None, "");
        let (id, room) = h
            .declare_by("UALICE", "sev1 checkout is down service=checkout")
            .await;
        assert_eq!(fake.received().len(), 1, "first attempt refused with 429");
        h.set(2);
        h.deliver().await;
        assert_eq!(fake.received().len(), 2, "retried after Retry-After: 500");
        h.set(3);
        h.deliver().await;
        let received = fake.received();
        assert_eq!(received.len(), 3, "retried after backoff: accepted");
        let trigger = &received[2];
        assert_eq!(trigger["routing_key"], "R0UTING-KEY-0123456789abcdef");
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], id.as_str());
        assert_eq!(
            trigger["payload"]["summary"],
            format!("[SEV1] checkout is down ({id})")
        );
        assert_eq!(trigger["payload"]["source"], "checkout");
        assert_eq!(trigger["payload"]["severity"], "critical");
        let details = &trigger["payload"]["custom_details"];
        assert_eq!(
            details["incident_url"],
            format!("https://warroom.test/incidents/{id}")
        );
        assert_eq!(details["room"], room.as_str(), "the war room exists by now");
        assert_eq!(received[1], received[2], "a retry sends the same event");

        h.set(60);
        h.run("UALICE", &room, "ack").await;
        h.set(120);
        h.run("UALICE", &room, "resolve fixed").await;
        let received = fake.received();
        assert_eq!(received.len(), 5);
        for (event, action) in [(&received[3], "acknowledge"), (&received[4], "resolve")] {
            assert_eq!(event["routing_key"], "R0UTING-KEY-0123456789abcdef");
            assert_eq!(event["event_action"], action);
            assert_eq!(event["dedup_key"], id.as_str());
        }

        // A refusal is not retried; the room hears about it with PagerDuty's reason.
        fake.answer(
            400,
            None,
            r#"{"status":"invalid event","message":"Event object is invalid","errors":["'routing_key' is invalid"]}"#,
        );
        let (second, second_room) = h.declare_by("UALICE", "sev1 payments failing").await;
        assert_eq!(fake.received().len(), 6);
        h.set(600);
        h.deliver().await;
        assert_eq!(fake.received().len(), 6, "a 400 is not retried");
        let report = h
            .platform
            .texts_in(&second_room)
            .into_iter()
            .find(|t| t.starts_with("Paging on-call failed"))
            .expect("the refusal is reported in the room");
        assert!(
            report.contains(
                "PagerDuty refused the event (400): Event object is invalid; 'routing_key' is invalid"
            ),
            "{report}"
        );
        assert!(!report.contains("R0UTING"), "the key never shows: {report}");
        let failed = h
            .store
            .outbox_of(&second)
            .await
            .unwrap()
            .into_iter()
            .filter(|row| row.operation.is_page())
            .map(|row| row.failed_at.is_some())
            .collect::<Vec<_>>();
        assert_eq!(failed, vec![true]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_fire_every_reminder_exactly_once() {
    use std::io::Write;
    let Some(backend) = test_backends()
        .await
        .into_iter()
        .find(|b| b.name == "postgres")
    else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: three_replicas_fire_every_reminder_exactly_once needs Postgres ({} not set)",
            common::POSTGRES_URL_VAR
        );
        return;
    };
    const INCIDENTS: usize = 300;
    const STEPS: i64 = 6;
    let clock = ManualClock::starting_at(start());
    let platform = Arc::new(TestingPlatform::standing_in_for(
        Platform::Slack,
        Arc::new(clock.clone()),
    ));
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let replica = Harness::builder(config())
            .clock(clock.clone())
            .platform(platform.clone())
            .build(&backend)
            .await;
        replicas.push(Arc::new(replica));
    }

    // 300 incidents with a 10 s cadence, declared through all three replicas.
    let mut declares = tokio::task::JoinSet::new();
    for (n, replica) in replicas.iter().enumerate() {
        let replica = replica.clone();
        declares.spawn(async move {
            let mut ids = Vec::new();
            for i in 0..INCIDENTS / 3 {
                let text = format!("fast load test {n}-{i}");
                let reply = replica.run("UALICE", "CGENERAL", &text).await;
                ids.push(id_in(&reply.text()));
            }
            ids
        });
    }
    let mut ids = Vec::new();
    while let Some(done) = declares.join_next().await {
        ids.extend(done.unwrap());
    }
    assert_eq!(ids.len(), INCIDENTS);

    // Each step: the clock moves 10 s, and all three replicas fire and deliver at once.
    async fn all_at_once(replicas: &[Arc<Harness>]) {
        let mut work = tokio::task::JoinSet::new();
        for replica in replicas {
            let replica = replica.clone();
            work.spawn(async move {
                while replica.scheduler.run_due().await.unwrap() > 0 {}
                while replica.dispatcher.deliver_due().await.unwrap() > 0 {}
            });
        }
        while let Some(done) = work.join_next().await {
            done.unwrap();
        }
    }
    all_at_once(&replicas).await;
    for step in 1..=STEPS {
        clock.set(start() + chrono::Duration::seconds(10 * step));
        all_at_once(&replicas).await;
        // Nothing due is left behind for a later pass.
        assert_eq!(replicas[0].scheduler.run_due().await.unwrap(), 0);
    }
    while replicas[0].dispatcher.deliver_due().await.unwrap() > 0 {}

    let store = replicas[0].engine.store();
    let mut per_reminder = std::collections::BTreeMap::new();
    for id in &ids {
        let fired: Vec<i64> = store
            .reminders_of(id)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.kind == ReminderKind::Update && r.outcome == Some(ReminderOutcome::Fired))
            .map(|r| (r.due_at - start()).num_seconds())
            .collect();
        assert_eq!(
            fired,
            (1..=STEPS).map(|s| 10 * s).collect::<Vec<_>>(),
            "{id}"
        );
        // What the engine queued: one reminder post per reminder row and second.
        for row in store.outbox_of(id).await.unwrap() {
            if let Operation::Post { message, .. } = &row.operation
                && message.plain_text().contains("Status update due")
            {
                let second = (row.created_at - start()).num_seconds();
                *per_reminder.entry((id.clone(), second)).or_insert(0) += 1;
            }
        }
        // What the platform received: each of them once.
        let room = store.incident(id).await.unwrap().unwrap().room.unwrap();
        let delivered = platform
            .texts_in(&room)
            .iter()
            .filter(|t| t.contains("Status update due"))
            .count();
        assert_eq!(delivered, STEPS as usize, "{id}: delivered once each");
    }
    assert_eq!(per_reminder.len(), INCIDENTS * STEPS as usize, "none lost");
    let repeated: Vec<_> = per_reminder.iter().filter(|(_, n)| **n != 1).collect();
    assert!(repeated.is_empty(), "fired more than once: {repeated:?}");
}

/// The value of one series in Prometheus text, 0 when absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn fired_reminders_and_their_lateness_reach_the_metrics() {
    let metrics = warroom::telemetry::install().expect("this test's process installs the recorder");
    let fired = r#"warroom_reminders_total{kind="update",outcome="fired"}"#;
    let late = r#"warroom_reminder_lateness_seconds_count{kind="update"}"#;
    for backend in test_backends().await {
        let h = harness(&backend, ManualClock::starting_at(start()), None).await;
        let (_id, _room) = h.declare_by("UALICE", "sev1 checkout is down").await;
        let before = metrics.render();
        // The first update reminder of a SEV1 is due 15 minutes after declaring.
        h.run_until(15 * 60).await;
        let after = metrics.render();
        assert!(
            sample(&after, fired) >= sample(&before, fired) + 1.0,
            "a fired update reminder is counted:\n{after}"
        );
        assert!(sample(&after, late) >= sample(&before, late) + 1.0);
    }
}
