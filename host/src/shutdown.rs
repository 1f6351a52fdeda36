//! The shutdown signal, shared by the listeners: it turns true on SIGTERM or SIGINT.

use tokio::sync::watch;

/// A receiver that turns true when the process is asked to stop (SIGTERM or SIGINT). Must be
/// called inside the async runtime.
pub fn on_signal() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        signal().await;
        let _ = sender.send(true);
    });
    receiver
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM can be watched");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
