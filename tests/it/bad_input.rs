//! Malformed and hostile commands, through the parser and the engine of a
//! [`Harness`] on a real database: each gets a helpful answer, nothing panics, and a rejected command
//! leaves the database exactly as it was.

use crate::common;
use crate::common::harness::{Harness, PEOPLE, SEV1, bot, phrases};
use crate::common::store_reads::StoreReads;
use crate::common::test_backends;
use chrono::{TimeZone, Utc};
use warroom::command;
use warroom::config::Config;
use warroom::domain::{Platform, UserId};
use warroom::engine::{Actor, Context};
use warroom::outbox::Operation;
use warroom::render::Block;
use warroom::store::{IncidentFilter, Store};

fn config() -> String {
    // Goes on from `SEV1`: its alias, cadence and pages, then a minor severity.
    let world = r#"
aliases = ["p0"]
description = "Complete outage"
update_every = "15m"
page = true

[[severity]]
name = "sev3"
label = "Minor"
description = "Minor issue"
respond_within = "2h"
"#;
    let phrases = phrases(
        "Investigating {service}.",
        "Identified {service}.",
        "Monitoring {service}.",
        "Resolved {service}.",
    );
    [&bot("UTC"), SEV1, world, PEOPLE, &phrases].concat()
}

/// Everything a command could have changed.
async fn snapshot(store: &Store) -> String {
    let mut out = String::new();
    for incident in store.incidents(IncidentFilter::All, 1000).await.unwrap() {
        out.push_str(&format!("{incident:?}\n"));
        for event in store.timeline(&incident.id).await.unwrap() {
            out.push_str(&format!("  {event:?}\n"));
        }
        for row in store.outbox_of(&incident.id).await.unwrap() {
            out.push_str(&format!("  {row:?}\n"));
        }
        for item in store.followups(&incident.id).await.unwrap() {
            out.push_str(&format!("  {item:?}\n"));
        }
    }
    out
}

/// `(where, who, text, words the answer must contain)`. `ROOM` is the war room of an
/// open SEV1 commanded by UALICE; `ELSEWHERE` is an ordinary channel.
const REJECTED: &[(&str, &str, &str, &[&str])] = &[
    ("ELSEWHERE", "UALICE", "", &["/incident help"]),
    ("ELSEWHERE", "UALICE", "   ", &["/incident help"]),
    (
        "ELSEWHERE",
        "UALICE",
        "stauts identified",
        &["did you mean", "status"],
    ),
    ("ELSEWHERE", "UALICE", "sev9 database on fire", &["sev9"]),
    ("ELSEWHERE", "UALICE", "sevv1 database on fire", &["sev1"]),
    ("ELSEWHERE", "UALICE", "declare", &["title"]),
    ("ELSEWHERE", "UALICE", "sev1", &["title"]),
    ("ELSEWHERE", "UALICE", "declare sev1", &["title"]),
    ("ELSEWHERE", "UALICE", "🔥🔥🔥", &["/incident help"]),
    (
        "ELSEWHERE",
        "UALICE",
        "status identified",
        &["not an incident war room"],
    ),
    ("ELSEWHERE", "UALICE", "ack", &["not an incident war room"]),
    (
        "ELSEWHERE",
        "UALICE",
        "note something",
        &["not an incident war room"],
    ),
    (
        "ELSEWHERE",
        "UALICE",
        "resolve",
        &["not an incident war room"],
    ),
    (
        "ELSEWHERE",
        "UALICE",
        "status INC-20991231-001 identified",
        &["no incident INC-20991231-001"],
    ),
    (
        "ELSEWHERE",
        "UALICE",
        "status INC-2026-1 identified",
        &["INC-YYYYMMDD-NNN"],
    ),
    (
        "ELSEWHERE",
        "UALICE",
        "ack INC-20261123-000",
        &["INC-YYYYMMDD-NNN"],
    ),
    ("ROOM", "UALICE", "status", &["investigating", "identified"]),
    ("ROOM", "UALICE", "status fixed", &["fixed"]),
    (
        "ROOM",
        "UALICE",
        "status investigating",
        &["already investigating"],
    ),
    ("ROOM", "UALICE", "role", &["commander"]),
    (
        "ROOM",
        "UALICE",
        "role comander @alice",
        &["did you mean", "commander"],
    ),
    ("ROOM", "UALICE", "role comms", &["user"]),
    ("ROOM", "UALICE", "role comms @mallory", &["mallory"]),
    ("ROOM", "UALICE", "role commander <@UALICE>", &["already"]),
    ("ROOM", "UMALLORY", "resolve", &["Only the commander"]),
    ("ROOM", "UMALLORY", "severity sev3", &["Only the commander"]),
    (
        "ROOM",
        "UMALLORY",
        "status identified",
        &["Only its role holders"],
    ),
    (
        "ROOM",
        "UMALLORY",
        "role commander <@UMALLORY>",
        &["Only the commander"],
    ),
    (
        "ROOM",
        "UMALLORY",
        "update all good",
        &["communications lead"],
    ),
    (
        "ROOM",
        "UMALLORY",
        "note 14:05 back-dated",
        &["Only the scribe"],
    ),
    ("ROOM", "UALICE", "severity sev1", &["already SEV1"]),
    ("ROOM", "UALICE", "severity sev7", &["sev7"]),
    ("ROOM", "UALICE", "note", &["text"]),
    ("ROOM", "UALICE", "note 25:99 late", &["25:99"]),
    ("ROOM", "UALICE", "update", &["text"]),
    ("ROOM", "UALICE", "followup", &["text"]),
    (
        "ROOM",
        "UALICE",
        "followup fix it due:2026-13-45",
        &["2026-13-45"],
    ),
    ("ROOM", "UALICE", "followup done 7", &["no follow-up #7"]),
    ("ROOM", "UALICE", "stats 12x", &["7d"]),
    ("ROOM", "UALICE", "approve", &["run"]),
    ("ROOM", "UALICE", "note --drill x", &["--drill"]),
    ("ROOM", "UALICE", "help nonsense", &["nonsense"]),
    ("ROOM", "UALICE", "ack", &["already acknowledged"]),
];

#[tokio::test]
async fn rejected_commands_explain_themselves_and_change_nothing() {
    for backend in test_backends().await {
        let h = Harness::builder(config())
            .starting_at(Utc.with_ymd_and_hms(2026, 11, 23, 14, 30, 0).unwrap())
            .build(&backend)
            .await;
        let (engine, store) = (&h.engine, &h.store);
        let config: &Config = &h.config;
        let alice = Actor {
            platform: Platform::Slack,
            user: UserId::new("UALICE"),
        };
        let elsewhere = Context {
            channel: "CGENERAL".into(),
            request_id: None,
            room_name: None,
        };

        // One open, acknowledged SEV1 whose room is known, to aim commands at.
        let declare = command::parse("sev1 checkout is down", config).unwrap();
        let reply = engine.handle(&alice, &elsewhere, declare).await.unwrap();
        assert!(
            reply.text().contains("INC-20261123-001"),
            "{}",
            reply.text()
        );
        let id = "INC-20261123-001".parse().unwrap();
        let room = common::give_room(store, &id, "CROOM").await;
        let ack = command::parse("ack", config).unwrap();
        engine
            .handle(
                &alice,
                &Context {
                    channel: room.clone(),
                    request_id: None,
                    room_name: None,
                },
                ack,
            )
            .await
            .unwrap();

        assert!(REJECTED.len() >= 40);
        for (place, user, text, needed) in REJECTED {
            let before = snapshot(store).await;
            let channel = if *place == "ROOM" {
                room.clone()
            } else {
                "CGENERAL".to_string()
            };
            let answer = match command::parse(text, config) {
                Err(error) => error.to_string(),
                Ok(parsed) => {
                    let actor = Actor {
                        platform: Platform::Slack,
                        user: UserId::new(*user),
                    };
                    let context = Context {
                        channel,
                        request_id: None,
                        room_name: None,
                    };
                    engine
                        .handle(&actor, &context, parsed)
                        .await
                        .unwrap()
                        .text()
                }
            };
            for word in *needed {
                assert!(
                    answer.to_lowercase().contains(&word.to_lowercase()),
                    "`/incident {text}` answered `{answer}`, which does not mention `{word}`"
                );
            }
            assert_eq!(
                snapshot(store).await,
                before,
                "`/incident {text}` changed the database"
            );
        }
    }
}

#[tokio::test]
async fn hostile_titles_are_kept_verbatim_and_rendered_inert() {
    let titles = [
        "<!channel> checkout is down",
        "@everyone look at this",
        "<!here|here> and <@U0BOSS>",
        "'; DROP TABLE incidents; --",
        "Robert\"); DELETE FROM outbox; --",
        "ünïcødé ⚠️ 数据库 مرحبا",
        "*bold* _it_ `code` ~strike~ [link](http://evil)",
    ];
    for backend in test_backends().await {
        let h = Harness::builder(config())
            .starting_at(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap())
            .build(&backend)
            .await;
        let (engine, store) = (&h.engine, &h.store);
        let config: &Config = &h.config;
        let actor = Actor {
            platform: Platform::Slack,
            user: UserId::new("UALICE"),
        };
        let context = Context {
            channel: "CGENERAL".into(),
            request_id: None,
            room_name: None,
        };
        for (n, title) in titles.iter().enumerate() {
            let parsed = command::parse(&format!("sev1 {title}"), config).unwrap();
            engine.handle(&actor, &context, parsed).await.unwrap();
            let id: warroom::domain::IncidentId =
                format!("INC-20261123-{:03}", n + 1).parse().unwrap();
            let incident = store.incident(&id).await.unwrap().expect("declared");
            assert_eq!(incident.title, *title, "kept verbatim");
            let rows = store.outbox_of(&id).await.unwrap();
            for row in rows {
                if let Operation::Post { message, .. } = row.operation {
                    let text = message.plain_text();
                    assert!(!text.contains("<!"), "no Slack special mention in {text}");
                    assert!(!text.contains("<@"), "no Slack user mention in {text}");
                    assert!(
                        !text.contains("@everyone"),
                        "no Discord mass mention in {text}"
                    );
                    // The layouts that carry the title (summary, announcement);
                    // the paging notice carries neither title nor mention.
                    if !text.contains(id.as_str()) {
                        continue;
                    }
                    let mentioned = message.mentions();
                    assert_eq!(
                        mentioned,
                        vec![UserId::new("UALICE")],
                        "only the commander is mentioned"
                    );
                    assert!(
                        message
                            .blocks
                            .iter()
                            .any(|b| matches!(b, Block::Heading(_)))
                    );
                }
            }
        }
        assert_eq!(
            store
                .incidents(IncidentFilter::All, 100)
                .await
                .unwrap()
                .len(),
            titles.len()
        );
    }
}

#[tokio::test]
async fn a_ten_kilobyte_title_is_refused_with_its_length() {
    let config = Config::from_toml_str(&config()).expect("valid test config");
    let text = format!("sev1 {}", "x".repeat(10_000));
    let error = command::parse(&text, &config).expect_err("too long");
    let message = error.to_string();
    assert!(
        message.contains("10000") && message.contains("200"),
        "{message}"
    );
}
