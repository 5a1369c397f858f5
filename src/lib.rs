//! warroom: an incident-response bot for Slack and Discord.
//!
//! The map, in the order a command travels:
//! - [`command`] turns `/incident …` text into a [`command::Command`], and
//!   [`alerts`] an Alertmanager or Grafana webhook body into an [`alerts::AlertGroup`];
//! - [`engine`] decides what that command means for an incident and writes the
//!   outcome, in one transaction, through [`store`];
//! - [`outbox`] names the chat operations (and pages) the engine queues, and
//!   [`schedule`] the reminders it plans; [`store`] keeps both;
//! - [`workers`] deliver those operations in order with retries, hand due reminders
//!   back to the engine, and run queued actions;
//! - [`slack`] translates Slack requests in and delivers operations out;
//! - [`discord`] does the same for Discord;
//! - [`console`] does the same for a terminal (`warroom console`, `warroom simulate`);
//! - [`web`] serves the HTTP endpoints; [`startup`] wires everything together.
//!
//! [`actions`] runs one recovery action (a program or an HTTP request);
//! [`trackers`] files follow-ups in GitHub, Jira or Linear.
//!
//! [`domain`] holds the vocabulary every layer shares, [`config`] the team's process,
//! [`render`] the platform-neutral messages, [`clock`] the time everyone reads,
//! [`telemetry`] the metrics every layer records.

pub mod actions;
pub mod alerts;
pub mod clock;
pub mod command;
pub mod config;
pub mod console;
pub mod discord;
pub mod domain;
pub mod engine;
pub mod outbox;
pub mod render;
pub mod schedule;
pub mod slack;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod trackers;
pub mod web;
pub mod workers;
