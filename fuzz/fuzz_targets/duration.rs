//! Durations: the config's (`"90s"`, `"15m"`, `"2h"`) and the ones typed in
//! commands (`/incident snooze 1h`, `/incident stats 30d`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::hint::black_box;
use warroom::command;
use warroom::config::parse_duration;
use warroom_fuzz::shipped_config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = black_box(parse_duration(text).map_err(|error| error.to_string()));
    for subcommand in ["snooze", "stats"] {
        let typed = format!("{subcommand} {text}");
        let _ =
            black_box(command::parse(&typed, shipped_config()).map_err(|error| error.to_string()));
    }
});
