//! Load: many concurrent submissions ([`load`]), their [`Outcome`]s, and a wait for a
//! count of answers ([`wait_count`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::*;

/// One request of a load run and what came of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Tag of the request: in its body and, when keyed, its `Idempotency-Key`.
    pub tag: String,
    pub body: Value,
    /// The answer, or the transport error.
    pub result: Result<Reply, String>,
}

impl Outcome {
    /// The appeal id when the answer was 202.
    pub fn accepted_id(&self) -> Option<String> {
        match &self.result {
            Ok(r) if r.status == 202 => r.json()["id"].as_str().map(str::to_string),
            _ => None,
        }
    }
}

/// Sends `tasks × per_task` appeals ([`tagged_appeal`], tags `{label}-{task}-{i}`)
/// concurrently, each task one after another; with `keyed`, each carries its tag as
/// `Idempotency-Key`. `done` counts finished requests, so a test can act mid-load.
pub async fn load(
    api: &Api,
    label: &str,
    tasks: usize,
    per_task: usize,
    keyed: bool,
    done: Arc<AtomicUsize>,
) -> Vec<Outcome> {
    let mut handles = Vec::new();
    for t in 0..tasks {
        let api = api.clone();
        let done = done.clone();
        let label = label.to_string();
        handles.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(per_task);
            for i in 0..per_task {
                let tag = format!("{label}-{t}-{i}");
                let body = tagged_appeal(&tag);
                let key = keyed.then_some(tag.as_str());
                let result = api.try_post_appeal(CRM_TOKEN, &body, key).await;
                done.fetch_add(1, Ordering::SeqCst);
                out.push(Outcome { tag, body, result });
            }
            out
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("load task panicked"));
    }
    all
}

/// Waits until `counter` reaches `n`.
pub async fn wait_count(counter: &AtomicUsize, n: usize, what: &str) {
    wait_until(what, Duration::from_secs(120), || async {
        let c = counter.load(Ordering::SeqCst);
        if c >= n {
            Ok(())
        } else {
            Err(format!("{c} so far"))
        }
    })
    .await
}

/// [`load`] started in the background: its handle, and the count of finished requests a
/// test waits on ([`wait_count`]) to act mid-load.
pub fn spawn_load(
    api: &Api,
    label: &str,
    tasks: usize,
    per_task: usize,
    keyed: bool,
) -> (tokio::task::JoinHandle<Vec<Outcome>>, Arc<AtomicUsize>) {
    let done = Arc::new(AtomicUsize::new(0));
    let handle = tokio::spawn({
        let api = api.clone();
        let done = done.clone();
        let label = label.to_owned();
        async move { load(&api, &label, tasks, per_task, keyed, done).await }
    });
    (handle, done)
}
