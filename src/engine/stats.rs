//! `/incident stats [7d|30d|90d]`: reads the incidents declared in the window
//! (drills left out) and answers with their KPIs. Only reads.

use super::{Engine, EngineError, Reply};
use crate::domain::{IncidentId, IncidentStats};
use crate::render;
use crate::store::{DeclaredAfter, IncidentFilter};
use chrono::TimeDelta;
use std::collections::BTreeSet;

/// Incidents read per query while walking the window.
const PAGE: u32 = 500;

pub(super) async fn answer(engine: &Engine, days: u32) -> Result<Reply, EngineError> {
    let now = engine.inner.clock.now();
    let since = now - TimeDelta::days(i64::from(days));
    let store = engine.store();
    let mut incidents = Vec::new();
    let mut after = DeclaredAfter {
        at: since,
        id: None,
    };
    loop {
        let page = store
            .incidents_declared(IncidentFilter::All, true, Some(&after), PAGE)
            .await?;
        let full = page.len() == PAGE as usize;
        if let Some(last) = page.last() {
            after = DeclaredAfter {
                at: last.declared_at,
                id: Some(last.id.clone()),
            };
        }
        incidents.extend(page.into_iter().filter(|incident| !incident.drill));
        if !full {
            break;
        }
    }
    let posted: BTreeSet<IncidentId> = store
        .incidents_with_postmortem(since)
        .await?
        .into_iter()
        .collect();
    let config = engine.config();
    let stats = IncidentStats::compute(
        &incidents,
        &posted,
        |severity| {
            config
                .severity(severity)
                .and_then(|s| TimeDelta::from_std(s.respond_within).ok())
        },
        now,
    );
    Ok(Reply::ephemeral_message(render::stats(
        &stats, days, config,
    )))
}
