//! The JSON both sources send. Grafana's alerting speaks Alertmanager's webhook
//! format with a few fields more (`orgId`, `title`, `state`, `message`, and its
//! own `version`), so one shape reads both; only the version check and the group
//! key differ.

use super::{Alert, AlertGroup, AlertStatus, Labels, MalformedAlert, Source};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The only Alertmanager webhook version there is; another would be a new format.
const ALERTMANAGER_VERSION: &str = "4";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    version: Option<String>,
    group_key: Option<String>,
    status: Status,
    alerts: Vec<WireAlert>,
    #[serde(default)]
    common_labels: Labels,
    #[serde(default)]
    common_annotations: Labels,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    status: Status,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Labels,
    starts_at: String,
    fingerprint: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Firing,
    Resolved,
}

impl From<Status> for AlertStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Firing => AlertStatus::Firing,
            Status::Resolved => AlertStatus::Resolved,
        }
    }
}

pub(super) fn read(body: &[u8], source: Source) -> Result<AlertGroup, MalformedAlert> {
    let payload: Payload = super::read_json(body, &format!("{source} webhook JSON"))?;
    if source == Source::Alertmanager && payload.version.as_deref() != Some(ALERTMANAGER_VERSION) {
        return Err(MalformedAlert(format!(
            "version: expected \"{ALERTMANAGER_VERSION}\" (Alertmanager's webhook format), found {}",
            payload
                .version
                .as_deref()
                .map_or("none".to_string(), |v| format!("\"{v}\""))
        )));
    }
    if payload.alerts.is_empty() {
        return Err(MalformedAlert("alerts: the group holds no alert".into()));
    }
    let alerts = payload
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, alert)| alert.read(i))
        .collect::<Result<Vec<_>, _>>()?;
    let group_key = payload.group_key.filter(|key| !key.trim().is_empty());
    let key = match (source, group_key) {
        (_, Some(key)) => key,
        (Source::Grafana, None) => alerts
            .first()
            .map(|alert| alert.fingerprint.clone())
            .unwrap_or_default(),
        (Source::Alertmanager | Source::Pagerduty, None) => {
            return Err(MalformedAlert(
                "groupKey: missing; Alertmanager names every group".into(),
            ));
        }
    };
    Ok(AlertGroup {
        source,
        key,
        status: payload.status.into(),
        alerts,
        common_labels: payload.common_labels,
        common_annotations: payload.common_annotations,
    })
}

impl WireAlert {
    fn read(self, index: usize) -> Result<Alert, MalformedAlert> {
        let starts_at = DateTime::parse_from_rfc3339(&self.starts_at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| {
                MalformedAlert(format!(
                    "alerts[{index}].startsAt: `{}` is not an RFC 3339 time",
                    self.starts_at.chars().take(40).collect::<String>()
                ))
            })?;
        // Senders that leave the fingerprint out still name the alert by its labels.
        let fingerprint = self
            .fingerprint
            .filter(|fingerprint| !fingerprint.is_empty())
            .unwrap_or_else(|| {
                self.labels
                    .iter()
                    .map(|(name, value)| format!("{name}={value:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
            });
        Ok(Alert {
            status: self.status.into(),
            labels: self.labels,
            annotations: self.annotations,
            starts_at,
            fingerprint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{alertmanager, grafana};
    use super::*;

    const ALERTMANAGER: &str = r#"{"version":"4","groupKey":"{}:{alertname=\"Down\"}","status":"firing",
        "receiver":"warroom","groupLabels":{"alertname":"Down"},"commonLabels":{"alertname":"Down"},
        "commonAnnotations":{},"externalURL":"http://am:9093","truncatedAlerts":0,
        "alerts":[{"status":"firing","labels":{"alertname":"Down","instance":"a"},"annotations":{},
        "startsAt":"2026-11-23T09:00:00.5+01:00","endsAt":"0001-01-01T00:00:00Z","generatorURL":"",
        "fingerprint":"abc"}]}"#;

    #[test]
    fn an_alertmanager_group_is_read_whole() {
        let group = alertmanager(ALERTMANAGER.as_bytes()).unwrap();
        assert_eq!(group.source, Source::Alertmanager);
        assert_eq!(group.key, "{}:{alertname=\"Down\"}");
        assert_eq!(group.status, AlertStatus::Firing);
        assert_eq!(group.alerts[0].fingerprint, "abc");
        assert_eq!(
            group.started_at().map(|at| at.to_rfc3339()),
            Some("2026-11-23T08:00:00.500+00:00".to_string())
        );
        assert_eq!(group.value("instance").as_deref(), Some("a"));
    }

    #[test]
    fn malformed_bodies_say_what_is_wrong() {
        let error = |body: &str| alertmanager(body.as_bytes()).unwrap_err().to_string();
        assert!(error("not json").starts_with("the body is not alertmanager webhook JSON"));
        let wrong_version = ALERTMANAGER.replace(r#""version":"4""#, r#""version":"3""#);
        assert!(error(&wrong_version).contains("version: expected \"4\""));
        let bad_status =
            ALERTMANAGER.replacen(r#""status":"firing","#, r#""status":"burning","#, 1);
        assert!(
            error(&bad_status).starts_with("status: unknown variant `burning`"),
            "{}",
            error(&bad_status)
        );
        let bad_time = ALERTMANAGER.replace("2026-11-23T09:00:00.5+01:00", "yesterday");
        assert_eq!(
            error(&bad_time),
            "alerts[0].startsAt: `yesterday` is not an RFC 3339 time"
        );
        let no_key = ALERTMANAGER.replace(r#""groupKey":"{}:{alertname=\"Down\"}","#, "");
        assert!(error(&no_key).starts_with("groupKey: missing"));
        let no_alerts = r#"{"version":"4","groupKey":"k","status":"firing","alerts":[]}"#;
        assert_eq!(error(no_alerts), "alerts: the group holds no alert");
        let wrong_type = ALERTMANAGER.replace(r#""instance":"a""#, r#""instance":1"#);
        assert!(
            error(&wrong_type).starts_with("alerts[0].labels.instance: invalid type"),
            "{}",
            error(&wrong_type)
        );
    }

    #[test]
    fn a_long_summary_is_cut_for_the_timeline() {
        let long = "x".repeat(5000);
        let body = ALERTMANAGER.replace(
            r#""annotations":{}"#,
            &format!(r#""annotations":{{"summary":"{long}"}}"#),
        );
        let group = alertmanager(body.as_bytes()).unwrap();
        let described = group.alerts[0].describe();
        assert_eq!(described.chars().count(), super::super::DESCRIPTION_CHARS);
        assert!(described.starts_with("Down: xxx") && described.ends_with('…'));
    }

    #[test]
    fn no_cut_or_corruption_of_the_documented_samples_panics() {
        let samples = [
            include_str!("../../tests/fixtures/alerts/alertmanager-firing.json"),
            include_str!("../../tests/fixtures/alerts/grafana-firing.json"),
            include_str!("../../tests/fixtures/pagerduty/incident-priority-updated.json"),
        ];
        let read_every_way = |bytes: &[u8]| {
            let _ = alertmanager(bytes);
            let _ = grafana(bytes);
            let _ = super::super::pagerduty(bytes);
        };
        for sample in samples {
            let bytes = sample.as_bytes();
            for cut in 0..bytes.len() {
                read_every_way(&bytes[..cut]);
            }
            for at in 0..bytes.len() {
                let mut corrupt = bytes.to_vec();
                corrupt[at] ^= 0x5a;
                read_every_way(&corrupt);
            }
        }
        assert!(alertmanager(samples[0].as_bytes()).is_ok());
        assert!(grafana(samples[1].as_bytes()).is_ok());
        assert!(super::super::pagerduty(samples[2].as_bytes()).is_ok());
    }

    #[test]
    fn grafana_without_a_group_key_groups_by_fingerprint() {
        let body = r#"{"status":"resolved","orgId":1,"alerts":[{"status":"resolved",
            "labels":{"alertname":"High memory usage"},"startsAt":"2021-10-12T09:51:03.157076+02:00",
            "fingerprint":"c6eadffa33fcdf37"}]}"#;
        let group = grafana(body.as_bytes()).unwrap();
        assert_eq!(group.key, "c6eadffa33fcdf37");
        assert_eq!(group.status, AlertStatus::Resolved);
    }

    #[test]
    fn an_alert_without_a_fingerprint_is_known_by_its_labels() {
        let body = ALERTMANAGER.replace(r#""fingerprint":"abc""#, r#""fingerprint":"""#);
        let group = alertmanager(body.as_bytes()).unwrap();
        assert_eq!(
            group.alerts[0].fingerprint,
            r#"alertname="Down",instance="a""#
        );
    }
}
