//! warroom's integration tests, as one test binary: one build and one link
//! for the whole suite instead of one per file.
//!
//! A test that starts warroom in-process builds it through `warroom::startup`'s
//! builder, as `warroom serve` does, by way of `common::app` (served on a port)
//! or `common::harness` (workers driven pass by pass), from the config fragments
//! in `common::harness`; a test file adds only what is particular to it. The
//! Slack, Discord, GitHub, Jira and Linear fakes speak the real wire formats on
//! 127.0.0.1 and are reached through `SLACK_API_URL`, `DISCORD_API_URL`,
//! `GITHUB_API_URL`, the `[trackers.jira] site` and `LINEAR_API_URL`.
//! `cli`, `console`, `simulate`, `action_crash`, `outage`, `db_faults` and `soak` run
//! the `warroom` binary itself.

mod common;
mod discord_fake;
mod github_fake;
mod jira_fake;
mod linear_fake;
mod slack_fake;

mod action_commands;
mod action_crash;
mod action_kinds;
mod action_runs;
mod actions;
mod alerts;
mod bad_input;
mod browser;
mod cadence;
mod checklist;
mod cli;
mod console;
mod db_faults;
mod discord;
mod engine;
mod github;
mod jira;
mod layers;
mod linear;
mod outage;
mod outbox;
mod postmortem;
mod retention;
mod runbooks;
mod simulate;
mod slack;
mod soak;
mod stats;
mod store;
mod web;
