//! Slack's JSON payloads: an Events API callback (`POST /slack/events`, or a
//! Socket Mode envelope's payload), an interaction payload, and a slash command
//! as Socket Mode wraps it; every text in them also read as Slack markup.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::hint::black_box;
use warroom::command;
use warroom::slack::inbound::{self, SlashCommand};
use warroom_fuzz::shipped_config;

fuzz_target!(|body: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    black_box(inbound::marked_message(&payload).map(|marked| format!("{marked:?}")));
    if let Some(clicks) = inbound::read_clicks(payload.clone()) {
        for (_, clicked) in clicks.commands {
            let _ = black_box(clicked.map_err(|error| error.to_string()));
        }
    }
    if let Ok(slash) = serde_json::from_value::<SlashCommand>(payload.clone()) {
        let _ = black_box(
            command::parse(&slash.text, shipped_config()).map_err(|error| error.to_string()),
        );
    }
    read_texts(&payload);
});

/// Reads every string in the payload as the message text of a capture.
fn read_texts(value: &Value) {
    match value {
        Value::String(text) => {
            black_box(inbound::plain_text(text));
        }
        Value::Array(items) => items.iter().for_each(read_texts),
        Value::Object(fields) => fields.values().for_each(read_texts),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
