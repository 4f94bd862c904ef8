//! Background loops of the ticket service. [`spawn`] starts them; they stop when the shutdown
//! token is cancelled, after finishing the step they are in. Each step is a plain function taking
//! the clock (`now`), so tests call it directly instead of waiting for the loop.

pub mod event_status;
pub mod hold_sweeper;
pub mod queue_processor;

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::AppState;

/// How often the inventory loop sweeps expired holds and refreshes event statuses. A lapsed
/// hold is unusable at once (confirm checks `expires_at`); the sweep only frees its seats.
pub const INVENTORY_TICK: Duration = Duration::from_secs(2);

/// Starts the ticket service's workers.
pub fn spawn(state: AppState, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(queue_processor::run(state.clone(), shutdown.clone())),
        tokio::spawn(inventory_loop(state, shutdown)),
    ]
}

async fn inventory_loop(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(INVENTORY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = Utc::now();
        if let Err(e) = hold_sweeper::sweep_expired(&state.infra.db, &state.realtime, now).await {
            tracing::warn!(error = %e, "hold sweep failed; retrying next tick");
        }
        if let Err(e) =
            event_status::refresh_event_statuses(&state.infra.db, &state.realtime, now).await
        {
            tracing::warn!(error = %e, "event status refresh failed; retrying next tick");
        }
    }
    tracing::info!("inventory worker stopped");
}
