//! The config loader: any text as `config/warroom.toml`, and the report of every
//! problem in it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::hint::black_box;
use warroom::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = Config::from_toml_str(text) {
        black_box(error.to_string());
    }
});
