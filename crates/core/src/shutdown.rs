//! Graceful shutdown: one token cancelled on SIGINT or SIGTERM, shared by the HTTP server and
//! every background loop, so each finishes its current step and stops.

use tokio_util::sync::CancellationToken;

/// Cancels `token` when the process receives SIGINT (Ctrl-C) or SIGTERM (Kubernetes).
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for ctrl-c");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
            _ = terminate => tracing::info!("SIGTERM received, shutting down"),
            _ = token.cancelled() => return,
        }
        token.cancel();
    });
}
