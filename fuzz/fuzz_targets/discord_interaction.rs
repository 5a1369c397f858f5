//! Discord interaction JSON (`POST /discord/interactions`, and the gateway's
//! interactions, which take the same path): decoded into the wire shapes, then
//! read as the adapter reads it (command, button or autocomplete), with any
//! refusal rendered as Discord would show it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::hint::black_box;
use warroom::discord::{commands, embeds, interactions, wire::Interaction};
use warroom_fuzz::shipped_config;

fuzz_target!(|body: &[u8]| {
    let Ok(interaction) = serde_json::from_slice::<Interaction>(body) else {
        return;
    };
    let config = shipped_config();
    if let Some(data) = &interaction.data {
        black_box(commands::autocomplete(&data.options, config));
    }
    if let Err(reply) = interactions::request(&interaction, config) {
        black_box(embeds::render(&reply.message, config));
    }
    let _ = black_box(serde_json::to_string(&interaction));
});
