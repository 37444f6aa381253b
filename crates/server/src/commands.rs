//! The sub-commands of the `shortener` binary.

use slog::{Logger, info};
use store_postgres::PgStore;
use store_postgres::seed::{SeedFiles, load_reference_data};

use crate::application::{self, Application, StartupError, StoreChoice};
use crate::config::{SeedArgs, ServeConfig};

/// Errors of any sub-command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Seed(#[from] store_postgres::seed::SeedError),
}

/// `shortener serve`: serve until SIGTERM, then drain.
pub async fn serve(config: &ServeConfig, logger: &Logger) -> Result<(), CommandError> {
    let store = StoreChoice::from_config(config, logger).await?;
    let cache = application::cache_from_config(config, logger).await?;
    let app = Application::build(config, store, cache, logger)?;
    app.run_until_stopped().await.map_err(StartupError::from)?;
    info!(logger, "stopped");
    Ok(())
}

/// `shortener migrate`.
pub async fn migrate(config: &ServeConfig, logger: &Logger) -> Result<(), CommandError> {
    let postgres = config.postgres().ok_or(StartupError::NoDatabase)?;
    application::migrate(&postgres, logger).await?;
    Ok(())
}

/// `shortener seed`: migrate, then load the reference data; the summary goes to
/// the log as one line.
pub async fn seed(
    config: &ServeConfig,
    args: &SeedArgs,
    logger: &Logger,
) -> Result<(), CommandError> {
    let postgres = config.postgres().ok_or(StartupError::NoDatabase)?;
    application::migrate(&postgres, logger).await?;
    let store = PgStore::connect(&postgres).map_err(StartupError::from)?;
    let files = SeedFiles {
        users: args.users.clone(),
        urls: args.urls.clone(),
        events: args.events.clone(),
    };
    let report = load_reference_data(&store, &files, args.force).await?;
    info!(logger, "reference data loaded"; "summary" => %report);
    Ok(())
}
