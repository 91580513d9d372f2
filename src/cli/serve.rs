//! `regula serve`.

use super::*;

pub(super) async fn serve(settings: Settings) -> anyhow::Result<()> {
    let addr = settings.http.addr;
    let app = App::build(settings, Parts::Full).await?;
    if app.store.admin_count().await? == 0 && app.settings.auth.trusted_proxies.is_empty() {
        eprintln!("No admin account yet: create one with `regula user bootstrap` (or `regula user add NAME --role admin`).");
    }
    let server = crate::http::Server::bind(app, addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(addr = %server.addr, "regula is serving");
    eprintln!("Regula is serving on http://{}", server.addr);
    server.run_until_stopped().await?;
    Ok(())
}
