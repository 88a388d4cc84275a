//! `sessionmark-collector`: reads its settings from the environment (see
//! `Config`), opens the store and serves until killed.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sessionmark_collector::serve::{bind, fit_connections, serve};
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
    let mut cfg = Config::from_env()?;
    let (max_connections, lowered) = fit_connections(cfg.limits.max_connections);
    cfg.limits.max_connections = max_connections;
    if let Some(why) = lowered {
        eprintln!("sessionmark collector: {why}");
    }
    let listener = bind(&cfg.host, cfg.port)
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", cfg.host, cfg.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    // Before anything is served: an open route must not be reachable from
    // beyond this machine.
    if let Some(notice) = cfg.access.check_listen(addr)? {
        eprintln!("sessionmark collector: {notice}");
    }
    let store = store::open(&cfg.store)
        .await
        .map_err(|e| format!("opening the store: {e}"))?;
    let described = store.describe();
    let state = AppState::new(store, cfg.test_hooks)
        .with_seal_after(cfg.seal_after_ms)
        .with_access(cfg.access.clone())
        .with_limits(cfg.limits.clone())
        .with_csp_connect_src(cfg.csp_connect_src.clone())
        .with_goals(cfg.goals.clone());
    let limiter = state.limiter();
    let app = router(state, &cfg.www, &cfg.dist);
    // Tests and scripts wait for exactly this line before sending requests.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "sessionmark collector listening on http://{addr}");
    let _ = writeln!(out, "sessionmark collector store: {described}");
    let _ = out.flush();
    serve(listener, app, &cfg.limits, limiter)
        .await
        .map_err(|e| format!("server stopped: {e}"))
}
