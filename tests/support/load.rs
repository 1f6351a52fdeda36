//! A load generator for tests: clients sending `GET`s in a loop until told to stop, keeping
//! every answer so the test can check that none failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinHandle;

use super::Host;

/// One request's outcome: its URL, and its status and body, or why it got no answer.
pub struct Answer {
    pub url: String,
    pub result: Result<(u16, String), String>,
}

/// Clients running against a host; each keeps one connection alive.
pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<Answer>>>,
}

impl Load {
    /// Starts `workers` clients; worker `i` requests `paths[i % paths.len()]`. Needs a
    /// multi-threaded runtime if the test blocks while they run.
    pub fn start(host: &Host, paths: &[&str], workers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|worker| {
                let client = super::client();
                let url = host.url(paths[worker % paths.len()]);
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let result = match client.get(&url).send().await {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                response
                                    .text()
                                    .await
                                    .map(|body| (status, body))
                                    .map_err(|error| error.to_string())
                            }
                            Err(error) => Err(error.to_string()),
                        };
                        answers.push(Answer {
                            url: url.clone(),
                            result,
                        });
                    }
                    answers
                })
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops the clients and returns every answer they got.
    pub async fn finish(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        let mut answers = Vec::new();
        for worker in self.workers {
            answers.extend(worker.await.expect("a load worker panicked"));
        }
        answers
    }
}
