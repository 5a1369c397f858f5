//! Slack's form-encoded bodies: `POST /slack/commands` (its text then read by the
//! `/incident` grammar) and `POST /slack/interactions` (its `payload` JSON then
//! read as button clicks), decoded as the HTTP endpoints decode them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::hint::black_box;
use warroom::command;
use warroom::slack::{http, inbound};
use warroom_fuzz::shipped_config;

fuzz_target!(|body: &[u8]| {
    if let Ok(slash) = http::slash_command(body) {
        let _ = black_box(
            command::parse(&slash.text, shipped_config()).map_err(|error| error.to_string()),
        );
    }
    if let Some((payload, _kept)) = http::interaction_payload(body)
        && let Some(clicks) = inbound::read_clicks(payload)
    {
        for (_, clicked) in clicks.commands {
            let _ = black_box(clicked.map_err(|error| error.to_string()));
        }
    }
});
