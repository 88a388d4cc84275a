//! `sessionmark-collector`: reads its settings from the environment (see
//! `Config`), opens the store and serves until killed.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sessionmark_collector::{router, store, AppState, Config};
use std::io::Write;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sessionmark collector: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let cfg = Config::from_env()?;
    let store = store::open(&cfg.store).map_err(|e| format!("opening the store: {e}"))?;
    let described = store.describe();
    let state = AppState::new(store, cfg.test_hooks).with_seal_after(cfg.seal_after_ms);
    let app = router(state, &cfg.www, &cfg.dist);
    let listener = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", cfg.host, cfg.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    // Tests and scripts wait for exactly this line before sending requests.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "sessionmark collector listening on http://{addr}");
    let _ = writeln!(out, "sessionmark collector store: {described}");
    let _ = out.flush();
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("server stopped: {e}"))
}
