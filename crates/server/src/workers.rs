//! Background work: the expiry sweep (and, as dialects add them, the notifier).

use crate::AppState;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts the background workers; each stops when `stop` turns true.
pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut workers = crate::notifier::spawn(state.clone(), stop.clone());
    workers.push(tokio::spawn(expiry_sweep(state, stop)));
    workers
}

/// Fails payments whose expiry passed. Runs at start (catching up on whatever expired while
/// walletd was down) and then every `sweep_interval_ms`.
async fn expiry_sweep(state: AppState, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_millis(state.config.sweep_interval_ms.max(10));
    loop {
        // Bounded batches; keep going while a batch came back full.
        loop {
            match state.wallet.expire_due(200).await {
                Ok(200) => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(expired = n, "expired unpaid payments");
                    }
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "expiry sweep failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
