//! The `/incident` grammar: any text typed after the command, and any help topic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::hint::black_box;
use warroom::command;
use warroom_fuzz::shipped_config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = shipped_config();
    match command::parse(text, config) {
        Ok(parsed) => {
            black_box((parsed.name(), parsed.subcommand()));
        }
        Err(error) => {
            black_box(error.to_string());
        }
    }
    let _ = black_box(command::help(Some(text), config).map_err(|error| error.to_string()));
    black_box(command::decode_slack_text(text));
});
