//! Paging: the events warroom sends to a paging service, and the HTTP client for
//! PagerDuty's Events API v2.
//!
//! Owns: the [`PageEvent`] a page row carries, the [`Pager`] trait the dispatcher
//! delivers page rows through, and [`PagerDuty`], which turns an event into the
//! Events API's JSON and its answer into a [`DeliveryError`] the dispatcher's retry
//! policy understands (429 and 5xx retried, 400 given up and reported).
//! Must not: decide whom to page or when (the engine queued that), or log the
//! routing key: it only ever leaves the process in the request body.

use super::DeliveryError;
use crate::config::{PagerDutySettings, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a page event asks of the paging service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

impl EventAction {
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Trigger => "trigger",
            EventAction::Acknowledge => "acknowledge",
            EventAction::Resolve => "resolve",
        }
    }
}

/// PagerDuty's alert severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageSeverity {
    Critical,
    Error,
    Warning,
    Info,
}

/// One event for the paging service, as queued by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageEvent {
    pub action: EventAction,
    /// One alert per incident (and per escalation level): later events with the
    /// same key acknowledge or resolve it.
    pub dedup_key: String,
    /// Trigger only; the paging service ignores it otherwise.
    pub summary: String,
    pub severity: PageSeverity,
    /// What is affected (the incident's services, or warroom itself).
    pub source: String,
    /// Shown with the alert: incident id, links.
    pub details: BTreeMap<String, String>,
}

/// A paging service as the dispatcher sees it.
#[async_trait::async_trait]
pub trait Pager: Send + Sync + 'static {
    async fn send(&self, event: &PageEvent) -> Result<(), DeliveryError>;
}

/// PagerDuty's Events API v2 allows summaries up to this many characters.
const SUMMARY_LIMIT: usize = 1024;

/// How long one request may take; below the dispatcher's delivery timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The PagerDuty Events API v2 client.
pub struct PagerDuty {
    http: reqwest::Client,
    url: String,
    routing_key: Secret,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the PagerDuty HTTP client: {0}")]
pub struct PagerSetupError(#[from] reqwest::Error);

impl PagerDuty {
    /// `None` when no routing key is configured: paging is off.
    pub fn from_settings(settings: &PagerDutySettings) -> Result<Option<Self>, PagerSetupError> {
        let Some(routing_key) = settings.routing_key.clone() else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Some(Self {
            http,
            url: settings.events_url.clone(),
            routing_key,
        }))
    }

    /// The JSON body of an event, routing key included.
    fn body(&self, event: &PageEvent) -> serde_json::Value {
        let mut body = serde_json::json!({
            "routing_key": self.routing_key.expose(),
            "event_action": event.action.as_str(),
            "dedup_key": event.dedup_key,
        });
        if event.action == EventAction::Trigger {
            let summary: String = event.summary.chars().take(SUMMARY_LIMIT).collect();
            body["payload"] = serde_json::json!({
                "summary": summary,
                "source": event.source,
                "severity": event.severity,
                "custom_details": event.details,
            });
            body["client"] = serde_json::json!("warroom");
            if let Some(url) = event.details.get("incident_url") {
                body["client_url"] = serde_json::json!(url);
            }
        }
        body
    }
}

#[async_trait::async_trait]
impl Pager for PagerDuty {
    async fn send(&self, event: &PageEvent) -> Result<(), DeliveryError> {
        let sent = self
            .http
            .post(&self.url)
            .json(&self.body(event))
            .send()
            .await;
        // reqwest's errors name the URL, never the body, so the key stays out of logs.
        let response = sent.map_err(|error| {
            DeliveryError::Transient(format!("PagerDuty did not answer: {error}"))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let reason = refusal_reason(&text);
        match status.as_u16() {
            429 => Err(match retry_after {
                Some(retry_after) => DeliveryError::RateLimited { retry_after },
                // Without a Retry-After, the dispatcher's backoff decides.
                None => DeliveryError::Transient("PagerDuty rate limit (429)".into()),
            }),
            code if status.is_server_error() => Err(DeliveryError::Transient(format!(
                "PagerDuty answered {code}{reason}"
            ))),
            code => Err(DeliveryError::Permanent(format!(
                "PagerDuty refused the event ({code}){reason}"
            ))),
        }
    }
}

/// PagerDuty explains a refusal as `{"message": …, "errors": […]}`; anything else
/// is left out rather than echoed.
fn refusal_reason(body: &str) -> String {
    #[derive(Deserialize)]
    struct Refusal {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<String>,
    }
    let Ok(refusal) = serde_json::from_str::<Refusal>(body) else {
        return String::new();
    };
    let mut parts: Vec<String> = refusal.message.into_iter().collect();
    parts.extend(refusal.errors);
    if parts.is_empty() {
        return String::new();
    }
    let joined: String = parts.join("; ").chars().take(300).collect();
    format!(": {joined}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pagerduty() -> PagerDuty {
        PagerDuty::from_settings(&PagerDutySettings {
            routing_key: Some(Secret::new("R0UTING")),
            events_url: "http://127.0.0.1:9/v2/enqueue".into(),
        })
        .unwrap()
        .unwrap()
    }

    fn event(action: EventAction) -> PageEvent {
        PageEvent {
            action,
            dedup_key: "INC-20261123-001".into(),
            summary: "x".repeat(2000),
            severity: PageSeverity::Critical,
            source: "checkout".into(),
            details: BTreeMap::from([("incident_url".into(), "https://w/i".into())]),
        }
    }

    #[test]
    fn triggers_carry_a_payload_and_other_events_only_the_key() {
        let pd = pagerduty();
        let trigger = pd.body(&event(EventAction::Trigger));
        assert_eq!(trigger["routing_key"], "R0UTING");
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(
            trigger["payload"]["summary"].as_str().unwrap().len(),
            SUMMARY_LIMIT
        );
        assert_eq!(trigger["client_url"], "https://w/i");
        let resolve = pd.body(&event(EventAction::Resolve));
        assert_eq!(resolve["event_action"], "resolve");
        assert!(resolve.get("payload").is_none());
    }

    #[test]
    fn no_routing_key_means_no_pager() {
        let off = PagerDuty::from_settings(&PagerDutySettings {
            routing_key: None,
            events_url: "http://127.0.0.1:9".into(),
        })
        .unwrap();
        assert!(off.is_none());
    }

    #[test]
    fn refusals_explain_themselves_without_echoing_unknown_bodies() {
        assert_eq!(
            refusal_reason(
                r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]}"#
            ),
            ": Event object is invalid; Length of 'routing_key' is incorrect"
        );
        assert_eq!(refusal_reason("<html>oops</html>"), "");
    }
}
