//! The dispatcher against the testing platform, on every available backend.
//!
//! Time is a manual clock moved by the test, and passes are run explicitly with
//! `deliver_due`: tokio's paused clock would also fast-forward through the waits
//! on real database I/O (and with them the leases), so explicit time is exact.

use crate::common::store_reads::StoreReads;
use crate::common::{
    at, fresh_store, give_room, incident, incident_id, insert_incidents, test_backends,
};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom::clock::{Clock, SharedClock};
use warroom::domain::{Platform, UserId};
use warroom::outbox::testing::{Action, Failure, OperationKind, TestingPlatform};
use warroom::outbox::{Destination, Operation, RoomSpec};
use warroom::render::{Block, Inline, Message};
use warroom::store::Store;
use warroom::workers::SHORT_LEASE;
use warroom::workers::{Dispatcher, DispatcherSettings};

/// A clock that moves only when the test says so.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(at(0))))
    }

    fn set(&self, seconds: f64) {
        let ms = (seconds * 1000.0).round() as i64;
        *self.0.lock().expect("clock lock") = at(0) + chrono::Duration::milliseconds(ms);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

struct Harness {
    store: Store,
    clock: TestClock,
    platform: Arc<TestingPlatform>,
}

impl Harness {
    async fn new(store: Store) -> Self {
        let clock = TestClock::new();
        let shared: SharedClock = Arc::new(clock.clone());
        let platform = Arc::new(TestingPlatform::new(shared));
        insert_incidents(&store, &[incident(1, at(0)), incident(2, at(0))]).await;
        Self {
            store,
            clock,
            platform,
        }
    }

    fn dispatcher(&self, owner: &str) -> Dispatcher {
        let settings = DispatcherSettings {
            owner: owner.into(),
            ..DispatcherSettings::default()
        };
        self.dispatcher_with(settings)
    }

    fn dispatcher_with(&self, settings: DispatcherSettings) -> Dispatcher {
        Dispatcher::new(
            self.store.clone(),
            vec![self.platform.clone()],
            Arc::new(self.clock.clone()),
            settings,
            Arc::new(tokio::sync::Notify::new()),
        )
    }

    async fn enqueue(&self, incident: u32, operations: &[Operation]) {
        let mut tx = self.store.begin().await.expect("begin");
        for operation in operations {
            tx.enqueue(
                Some(&incident_id(incident)),
                Platform::Testing,
                operation,
                self.clock.now(),
            )
            .await
            .expect("enqueue");
        }
        tx.commit().await.expect("commit");
    }

    /// The outbox rows of incident `n`, oldest first.
    async fn rows(&self, incident: u32) -> Vec<warroom::outbox::OutboxEntry> {
        self.store
            .outbox_of(&incident_id(incident))
            .await
            .expect("rows")
    }

    /// Runs passes until nothing more is due now.
    async fn drain(&self, dispatcher: &Dispatcher) {
        while dispatcher.deliver_due().await.expect("delivery pass") > 0 {}
    }

    /// Moves the clock to each of `seconds` in turn, delivering what is due.
    async fn passes_at(&self, dispatcher: &Dispatcher, seconds: &[f64]) {
        for &second in seconds {
            self.clock.set(second);
            self.drain(dispatcher).await;
        }
    }

    /// Texts of the posts performed, in order.
    fn posts(&self) -> Vec<String> {
        self.platform
            .operations()
            .into_iter()
            .filter_map(|performed| match performed.action {
                Action::Post { message, .. } => Some(message.plain_text()),
                _ => None,
            })
            .collect()
    }

    fn post_times(&self) -> Vec<(String, DateTime<Utc>)> {
        self.platform
            .operations()
            .into_iter()
            .filter_map(|performed| match performed.action {
                Action::Post { message, .. } => Some((message.plain_text(), performed.at)),
                _ => None,
            })
            .collect()
    }
}

fn text(words: &str) -> Message {
    Message {
        blocks: vec![Block::Paragraph(vec![Inline::Text(words.into())])],
    }
}

fn post_to(channel: &str, words: &str) -> Operation {
    Operation::Post {
        to: Destination::Channel(channel.into()),
        message: text(words),
        handle: None,
    }
}

fn post_in_room(words: &str, handle: Option<&str>) -> Operation {
    Operation::Post {
        to: Destination::Room,
        message: text(words),
        handle: handle.map(str::to_string),
    }
}

fn create_room(name: &str) -> Operation {
    Operation::CreateRoom(RoomSpec {
        name: name.into(),
        topic: Message::text("SEV1 · investigating"),
        purpose: "checkout is down".into(),
        private: false,
    })
}

#[tokio::test]
async fn a_war_room_is_set_up_in_order() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        let dispatcher = h.dispatcher("one");
        h.enqueue(
            1,
            &[
                create_room("inc-001-checkout"),
                Operation::Invite {
                    users: vec![UserId::new("bob"), UserId::new("carol")],
                },
                post_in_room("summary v1", Some("summary")),
                Operation::Pin {
                    handle: "summary".into(),
                },
                Operation::SetTopic {
                    topic: Message::text("SEV1 · identified"),
                },
                Operation::Edit {
                    handle: "summary".into(),
                    message: text("summary v2"),
                },
                post_to("C-announce", "declared"),
            ],
        )
        .await;
        h.drain(&dispatcher).await;

        let room = h
            .store
            .incident(&incident_id(1))
            .await
            .expect("read")
            .and_then(|i| i.room)
            .expect("room recorded");
        let kinds: Vec<_> = h
            .platform
            .operations()
            .into_iter()
            .map(|p| match p.action {
                Action::CreateRoom { .. } => "create",
                Action::Invite { .. } => "invite",
                Action::SetTopic { .. } => "topic",
                Action::Post { .. } => "post",
                Action::Edit { .. } => "edit",
                Action::Pin { .. } => "pin",
                Action::Upload { .. } => "upload",
            })
            .collect();
        assert_eq!(
            kinds,
            ["create", "invite", "post", "pin", "topic", "edit", "post"],
            "[{}]",
            db.name
        );
        assert_eq!(
            h.platform.members(&room),
            [UserId::new("bob"), UserId::new("carol")]
        );
        assert_eq!(
            h.platform.topic(&room).as_deref(),
            Some("SEV1 · identified")
        );
        assert_eq!(
            h.platform.current_text(&room, "summary").as_deref(),
            Some("summary v2")
        );
        assert_eq!(h.platform.pins(&room), 1);
        assert_eq!(h.platform.texts_in("C-announce"), ["declared"]);
        let rows = h.store.outbox_of(&incident_id(1)).await.expect("rows");
        assert!(rows.iter().all(|row| row.delivered_at.is_some()));
    }
}

/// `warroom_deliveries_total` for a platform and result, as `/metrics` would show
/// it. Series are process-wide, so callers compare before and after.
fn deliveries(platform: &str, result: &str) -> f64 {
    counted("warroom_deliveries_total", platform, ("result", result))
}

/// `warroom_outbox_dead_letters_total` of the testing platform for a reason.
fn dead_letters(reason: &str) -> f64 {
    counted(
        "warroom_outbox_dead_letters_total",
        "testing",
        ("reason", reason),
    )
}

/// A process-wide counter for a platform and one more label, as `/metrics` shows it.
fn counted(name: &str, platform: &str, (label, value): (&str, &str)) -> f64 {
    let metrics = warroom::telemetry::install().expect("the test process has no other recorder");
    let (platform, label) = (
        format!("platform=\"{platform}\""),
        format!("{label}=\"{value}\""),
    );
    metrics
        .render()
        .lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{"))
                && line.contains(&platform)
                && line.contains(&label)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_rate_limited_post_waits_for_retry_after_and_its_lane_keeps_order() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        let dispatcher = h.dispatcher("one");
        h.enqueue(
            1,
            &[
                post_to("C-ops", "p1"),
                post_to("C-ops", "p2"),
                post_to("C-ops", "p3"),
            ],
        )
        .await;
        h.enqueue(2, &[create_room("inc-002-other")]).await;
        h.platform.fail_next(
            OperationKind::Post,
            Failure::RateLimited(Duration::from_secs(1)),
        );

        let rate_limited = || deliveries("testing", "rate_limited");
        let before = rate_limited();
        h.drain(&dispatcher).await;
        assert!(h.posts().is_empty(), "[{}] the lane waits", db.name);
        assert_eq!(h.platform.rooms().len(), 1, "the other lane went ahead");
        assert!(rate_limited() > before, "[{}] the 429 is counted", db.name);

        h.clock.set(0.999);
        h.drain(&dispatcher).await;
        assert!(h.posts().is_empty(), "not before Retry-After");

        h.clock.set(1.0);
        h.drain(&dispatcher).await;
        let times = h.post_times();
        assert_eq!(
            times,
            [
                ("p1".into(), at(1)),
                ("p2".into(), at(1)),
                ("p3".into(), at(1))
            ],
            "[{}] delivered once, after the wait, in order",
            db.name
        );
        assert_eq!(h.platform.refusals().len(), 1);
        let rows = h.store.outbox_of(&incident_id(1)).await.expect("rows");
        assert_eq!(rows[0].attempts, 0, "a rate limit is not a failed attempt");
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_the_limit() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        let dispatcher = h.dispatcher_with(DispatcherSettings {
            owner: "one".into(),
            max_attempts: 4,
            ..DispatcherSettings::default()
        });
        // Two server errors, then success: waits of 1 s and 2 s.
        h.enqueue(1, &[post_to("C-ops", "flaky")]).await;
        h.platform
            .fail_next(OperationKind::Post, Failure::ServerError);
        h.platform
            .fail_next(OperationKind::Post, Failure::ServerError);
        h.passes_at(&dispatcher, &[0.0, 0.999, 1.0, 2.999, 3.0])
            .await;
        assert_eq!(h.post_times(), [("flaky".into(), at(3))], "[{}]", db.name);
        let rows = h.store.outbox_of(&incident_id(1)).await.expect("rows");
        assert_eq!(rows[0].attempts, 2);

        // Four server errors: the fourth attempt is the last, and the lane moves on.
        h.enqueue(2, &[post_to("C-ops", "doomed"), post_to("C-ops", "after")])
            .await;
        for _ in 0..4 {
            h.platform
                .fail_next(OperationKind::Post, Failure::ServerError);
        }
        h.passes_at(&dispatcher, &[3.0, 4.0, 6.0, 10.0]).await;
        let refused: Vec<_> = h.platform.refusals().iter().map(|r| r.at).collect();
        assert_eq!(
            refused,
            [at(0), at(1), at(3), at(4), at(6), at(10)],
            "[{}]",
            db.name
        );
        assert_eq!(h.post_times().last(), Some(&("after".into(), at(10))));
        let rows = h.store.outbox_of(&incident_id(2)).await.expect("rows");
        assert_eq!((rows[0].attempts, rows[0].failed_at), (4, Some(at(10))));
        assert!(
            rows[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("500"))
        );
    }
}

#[tokio::test]
async fn a_permanent_failure_fails_the_operation_and_the_lane_continues() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        let dispatcher = h.dispatcher("one");
        h.enqueue(1, &[post_to("C-ops", "rejected"), post_to("C-ops", "next")])
            .await;
        h.platform
            .fail_next(OperationKind::Post, Failure::Permanent);
        h.drain(&dispatcher).await;
        assert_eq!(h.posts(), ["next"], "[{}]", db.name);
        let rows = h.store.outbox_of(&incident_id(1)).await.expect("rows");
        assert_eq!(rows[0].failed_at, Some(at(0)));
        assert!(
            rows[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("refused"))
        );
        assert!(rows[1].delivered_at.is_some());
    }
}

#[tokio::test]
async fn room_operations_fail_clearly_when_the_room_could_not_be_created() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        let dispatcher = h.dispatcher("one");
        h.enqueue(
            1,
            &[
                create_room("inc-001-checkout"),
                post_in_room("in the room", Some("summary")),
                Operation::Pin {
                    handle: "summary".into(),
                },
                post_to("C-announce", "declared"),
            ],
        )
        .await;
        h.platform
            .fail_next(OperationKind::CreateRoom, Failure::Permanent);
        h.drain(&dispatcher).await;
        assert_eq!(h.posts(), ["declared"], "[{}]", db.name);
        let rows = h.store.outbox_of(&incident_id(1)).await.expect("rows");
        let errors: Vec<_> = rows
            .iter()
            .map(|row| row.last_error.clone().unwrap_or_default())
            .collect();
        assert!(errors[1].contains("has no war room"), "{errors:?}");
        assert!(errors[2].contains("no message `summary`"), "{errors:?}");
        assert!(rows[..3].iter().all(|row| row.failed_at.is_some()));
        assert!(rows[3].delivered_at.is_some());
    }
}

#[tokio::test]
async fn a_crash_after_creating_the_room_reuses_it_and_keeps_order() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        h.enqueue(
            1,
            &[
                create_room("inc-001-checkout"),
                post_in_room("first", None),
                post_in_room("second", None),
            ],
        )
        .await;
        let crashed = h.platform.crash_after_next(OperationKind::CreateRoom);
        let doomed = h.dispatcher("doomed");
        let running = tokio::spawn(async move { doomed.deliver_due().await });
        tokio::time::timeout(Duration::from_secs(30), crashed)
            .await
            .expect("the room was created")
            .expect("crash signalled");
        running.abort();
        assert!(running.await.expect_err("aborted").is_cancelled());
        assert_eq!(h.platform.rooms().len(), 1);
        assert_eq!(
            h.store
                .incident(&incident_id(1))
                .await
                .expect("read")
                .and_then(|i| i.room),
            None
        );

        let restarted = h.dispatcher("restarted");
        let lease = SHORT_LEASE.as_secs_f64();
        h.clock.set(lease / 2.0);
        assert_eq!(
            restarted.deliver_due().await.expect("pass"),
            0,
            "[{}] lease still held",
            db.name
        );
        h.clock.set(lease + 1.0);
        h.drain(&restarted).await;

        let rooms = h.platform.rooms();
        assert_eq!(rooms.len(), 1, "[{}] exactly one room", db.name);
        let creates: Vec<_> = h
            .platform
            .operations()
            .into_iter()
            .filter_map(|p| match p.action {
                Action::CreateRoom { reused, .. } => Some(reused),
                _ => None,
            })
            .collect();
        assert_eq!(creates, [false, true], "delivered again, reusing the room");
        assert_eq!(h.platform.texts_in(&rooms[0].id), ["first", "second"]);
        let room = h
            .store
            .incident(&incident_id(1))
            .await
            .expect("read")
            .and_then(|i| i.room);
        assert_eq!(room, Some(rooms[0].id.clone()));
    }
}

#[tokio::test]
async fn a_crash_after_posting_posts_again_and_keeps_order() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        h.enqueue(1, &[post_to("C-ops", "first"), post_to("C-ops", "second")])
            .await;
        let crashed = h.platform.crash_after_next(OperationKind::Post);
        let doomed = h.dispatcher("doomed");
        let running = tokio::spawn(async move { doomed.deliver_due().await });
        tokio::time::timeout(Duration::from_secs(30), crashed)
            .await
            .expect("posted")
            .expect("crash signalled");
        running.abort();
        let _ = running.await;

        let restarted = h.dispatcher("restarted");
        h.clock.set(61.0);
        h.drain(&restarted).await;
        // At-least-once: the post whose confirmation was lost is posted again.
        assert_eq!(
            h.platform.texts_in("C-ops"),
            ["first", "first", "second"],
            "[{}]",
            db.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_delivers_when_notified_and_stops_on_shutdown() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        let dispatcher = h.dispatcher_with(DispatcherSettings {
            owner: "loop".into(),
            // Only the notifier can wake it within the test's patience.
            poll_interval: Duration::from_secs(3600),
            ..DispatcherSettings::default()
        });
        let wakeup = dispatcher.notifier();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(dispatcher.run(async move {
            let _ = stopped.await;
        }));

        h.enqueue(1, &[post_to("C-ops", "hello")]).await;
        wakeup.notify_one();
        tokio::time::timeout(Duration::from_secs(30), h.platform.wait_for_operations(1))
            .await
            .unwrap_or_else(|_| panic!("[{}] the notified loop delivered", db.name));

        stop.send(()).expect("loop is running");
        tokio::time::timeout(Duration::from_secs(30), running)
            .await
            .expect("the loop stopped")
            .expect("the loop did not panic");
        assert_eq!(h.posts(), ["hello"]);
    }
}

#[tokio::test]
async fn an_unreadable_row_is_set_aside_counted_and_every_other_row_keeps_flowing() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        h.enqueue(
            1,
            &[
                post_in_room("renamed block", None),
                post_in_room("after it", None),
            ],
        )
        .await;
        h.enqueue(2, &[post_in_room("from a newer release", None)])
            .await;
        insert_incidents(&h.store, &[incident(3, at(0))]).await;
        for n in 1..=3 {
            give_room(&h.store, &incident_id(n), &format!("CROOM{n}")).await;
        }
        h.enqueue(3, &[post_in_room("untouched", None)]).await;
        let (first, newer) = (h.rows(1).await[0].id, h.rows(2).await[0].id);
        // A block this release does not know, and a row in a format it does not read.
        sqlx::query(
            "UPDATE outbox SET operation = '{\"op\":\"post\",\"to\":\"room\",\"message\":{\"blocks\":[{\"type\":\"carousel\"}]}}' WHERE id = $1",
        )
        .bind(first)
        .execute(h.store.pool())
        .await
        .expect("damage a row");
        sqlx::query("UPDATE outbox SET format = 2 WHERE id = $1")
            .bind(newer)
            .execute(h.store.pool())
            .await
            .expect("a newer row");
        let before = dead_letters("unreadable");

        let dispatcher = h.dispatcher("one");
        h.drain(&dispatcher).await;

        let (notices, mut posts): (Vec<String>, Vec<String>) = h
            .posts()
            .into_iter()
            .partition(|post| post.starts_with("warroom could not deliver"));
        posts.sort();
        assert_eq!(posts, ["after it", "untouched"], "[{}]", db.name);
        // Each room is told once what it will not see.
        assert_eq!(notices.len(), 2, "[{}] {notices:?}", db.name);
        assert!(
            notices.iter().any(|n| n.contains("carousel"))
                && notices.iter().any(|n| n.contains("format 2")),
            "[{}] {notices:?}",
            db.name
        );
        for (id, why) in [(first, "carousel"), (newer, "format 2")] {
            let (failed_at, error): (Option<i64>, Option<String>) =
                sqlx::query_as("SELECT failed_at, last_error FROM outbox WHERE id = $1")
                    .bind(id)
                    .fetch_one(h.store.pool())
                    .await
                    .expect("the row is kept");
            let error = error.unwrap_or_default();
            assert!(failed_at.is_some(), "[{}] row {id} set aside", db.name);
            assert!(
                error.starts_with("set aside, unreadable") && error.contains(why),
                "[{}] {error}",
                db.name
            );
        }
        let after = dead_letters("unreadable");
        assert!(
            after - before >= 2.0,
            "[{}] counted: {before} -> {after}",
            db.name
        );
    }
}

#[test]
fn every_kind_of_operation_stored_by_an_earlier_release_still_reads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/operations");
    let mut read = Vec::new();
    for file in std::fs::read_dir(&dir).expect("the golden operations") {
        let path = file.expect("a golden file").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        let operation: Operation = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{} no longer reads: {error}", path.display()));
        let kind = operation.kind();
        assert_eq!(
            path.file_stem().and_then(|stem| stem.to_str()),
            Some(kind),
            "{} holds a `{kind}`",
            path.display()
        );
        read.push(kind);
    }
    read.sort_unstable();
    let mut every = [
        "create_room",
        "edit",
        "file_issue",
        "invite",
        "page",
        "pin",
        "post",
        "set_topic",
        "upload",
    ];
    every.sort_unstable();
    assert_eq!(read, every, "one golden file per kind of operation");
}

#[tokio::test]
async fn an_operation_refused_for_good_is_set_aside_counted_and_told_in_the_room_once() {
    for db in test_backends().await {
        let h = Harness::new(fresh_store(&db).await).await;
        give_room(&h.store, &incident_id(1), "CROOM1").await;
        let invite = Operation::Invite {
            users: vec![UserId::new("UGONE")],
        };
        h.enqueue(1, &[invite, post_in_room("after it", None)])
            .await;
        h.platform
            .fail_next(OperationKind::Invite, Failure::Permanent);
        let before = dead_letters("refused");

        h.drain(&h.dispatcher("one")).await;

        let posts = h.posts();
        assert_eq!(posts.len(), 2, "[{}] {posts:?}", db.name);
        assert_eq!(posts[0], "after it", "[{}]", db.name);
        assert!(
            posts[1]
                .starts_with("warroom could not deliver an operation (invite) and set it aside"),
            "[{}] {}",
            db.name,
            posts[1]
        );
        let after = dead_letters("refused");
        assert!(
            after - before >= 1.0,
            "[{}] counted: {before} -> {after}",
            db.name
        );
    }
}
