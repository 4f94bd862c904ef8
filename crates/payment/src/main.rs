//! The payment service alone: config -> telemetry -> build -> run until stopped.

use tiketi_core::{Infra, Service, server, shutdown};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = server::load_service_config(Service::Payment);
    let infra = Infra::new(config)?;
    let listener = server::bind(&infra.config).await?;
    let token = CancellationToken::new();
    shutdown::cancel_on_signal(token.clone());
    tiketi_payment::run(listener, tiketi_payment::AppState::new(infra), token).await
}
