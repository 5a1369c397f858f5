//! Socket Mode (`slack.mode = "socket"`): warroom opens a WebSocket to Slack
//! (`apps.connections.open` with `SLACK_APP_TOKEN`), so no public URL is needed.
//!
//! Owns: the connection's life (connect, read envelopes, acknowledge each by its
//! `envelope_id`, reconnect with backoff when Slack asks or the link drops).
//! Must not: act on payloads itself; they go to [`Inbound`], as HTTP ones do.

use super::api::{ApiError, WebApi, string_at};
use super::inbound::{Inbound, Kind, SlashCommand};
use crate::config::Secret;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error(transparent)]
    Open(#[from] ApiError),
    #[error("WebSocket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
}

/// Holds a Socket Mode connection until `shutdown` completes.
pub async fn run(
    inbound: Arc<Inbound>,
    api: Arc<WebApi>,
    app_token: Secret,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let link = connect_and_serve(&inbound, &api, &app_token, &mut backoff);
        tokio::select! {
            () = &mut shutdown => break,
            ended = link => match ended {
                Ok(()) => tracing::info!("Slack closed the Socket Mode connection; reconnecting"),
                Err(error) => tracing::warn!(%error, wait = ?backoff, "Socket Mode connection failed; reconnecting"),
            },
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    tracing::info!("Socket Mode stopped");
}

/// One connection, from `apps.connections.open` until it closes. A `hello`
/// resets the backoff: the link worked, so the next drop reconnects quickly.
async fn connect_and_serve(
    inbound: &Arc<Inbound>,
    api: &WebApi,
    app_token: &Secret,
    backoff: &mut Duration,
) -> Result<(), LinkError> {
    let opened = api
        .call_with("apps.connections.open", app_token, &[])
        .await?;
    let url = string_at(&opened, "apps.connections.open", &["url"])?;
    let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let (mut sink, mut stream) = socket.split();
    // Acks are produced by tasks (a slash command's answer takes an engine call)
    // and written here, so one slow command never holds up reading the next.
    let (acks, mut pending) = mpsc::channel::<String>(64);
    loop {
        tokio::select! {
            frame = stream.next() => {
                let Some(frame) = frame else { return Ok(()) };
                match frame? {
                    Frame::Text(text) if !on_envelope(inbound, &acks, text.as_str(), backoff) => {
                        let _ = sink.close().await;
                        return Ok(());
                    }
                    Frame::Close(_) => return Ok(()),
                    // Pings are answered by the library; nothing else is expected.
                    _ => {}
                }
            }
            Some(ack) = pending.recv() => sink.send(Frame::text(ack)).await?,
        }
    }
}

/// Handles one envelope; `false` means Slack asked us to reconnect.
fn on_envelope(
    inbound: &Arc<Inbound>,
    acks: &mpsc::Sender<String>,
    text: &str,
    backoff: &mut Duration,
) -> bool {
    let Ok(envelope) = serde_json::from_str::<Value>(text) else {
        tracing::warn!("a Socket Mode frame was not JSON; ignored");
        return true;
    };
    let kind = envelope
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "hello" => {
            *backoff = FIRST_BACKOFF;
            tracing::info!("Socket Mode connected");
            return true;
        }
        "disconnect" => return false,
        _ => {}
    }
    let Some(envelope_id) = envelope
        .get("envelope_id")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        tracing::debug!(kind, "a Socket Mode message without envelope; ignored");
        return true;
    };
    let payload = envelope.get("payload").cloned().unwrap_or(Value::Null);
    let inbound = inbound.clone();
    let acks = acks.clone();
    match kind {
        "slash_commands" => {
            tokio::spawn(async move {
                let ack = match serde_json::from_value::<SlashCommand>(payload) {
                    Ok(command) => {
                        let answer = inbound.command(command).await;
                        json!({ "envelope_id": envelope_id, "payload": answer })
                    }
                    Err(_) => json!({ "envelope_id": envelope_id }),
                };
                let _ = acks.send(ack.to_string()).await;
            });
        }
        _ => {
            // Interactions and events are kept, acknowledged, then handled. One
            // that could not be kept is not acknowledged, so Slack sends it again.
            tokio::spawn(async move {
                let is_event =
                    payload.get("type").and_then(Value::as_str) == Some("event_callback");
                let kind = if is_event {
                    Kind::Event
                } else {
                    Kind::Interaction
                };
                let Some(kept) = inbound.keep(kind, &payload.to_string()).await else {
                    return;
                };
                let _ = acks
                    .send(json!({ "envelope_id": envelope_id }).to_string())
                    .await;
                kept.apply(async move {
                    if is_event {
                        inbound.event(payload).await;
                    } else {
                        inbound.interaction(payload).await;
                    }
                })
                .await;
            });
        }
    }
    true
}
