//! A fake PagerDuty Events API v2 on 127.0.0.1, reached through
//! `PAGERDUTY_EVENTS_URL` like the real one: it records every body it is sent
//! and answers as scripted (then 202, as PagerDuty accepts an event).

use std::sync::Arc;

/// A fake PagerDuty Events API on 127.0.0.1: records every body and answers from
/// a script (then 202).
#[derive(Default)]
pub struct FakeEvents {
    received: std::sync::Mutex<Vec<serde_json::Value>>,
    script: std::sync::Mutex<std::collections::VecDeque<(u16, Option<u64>, String)>>,
}

impl FakeEvents {
    pub async fn serve(self: &Arc<Self>) -> String {
        use axum::extract::State;
        use axum::response::IntoResponse;
        async fn enqueue(
            State(fake): State<Arc<FakeEvents>>,
            axum::Json(body): axum::Json<serde_json::Value>,
        ) -> axum::response::Response {
            fake.received.lock().unwrap().push(body);
            let next = fake.script.lock().unwrap().pop_front();
            let (status, retry_after, text) = next.unwrap_or((
                202,
                None,
                r#"{"status":"success","message":"Event processed"}"#.to_string(),
            ));
            let mut response = (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                text,
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    seconds.to_string().parse().unwrap(),
                );
            }
            response
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .route("/v2/enqueue", axum::routing::post(enqueue))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{address}/v2/enqueue")
    }

    pub fn answer(&self, status: u16, retry_after: Option<u64>, body: &str) {
        self.script
            .lock()
            .unwrap()
            .push_back((status, retry_after, body.to_string()));
    }

    pub fn received(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }
}
