//! The sub-commands of the `shortener` binary.

use std::io::Write;

use domain::api_keys::{ApiKeys, KeyName, KeySelector};
use slog::{Logger, info};
use store_postgres::PgStore;
use store_postgres::seed::{SeedFiles, load_reference_data};

use crate::application::{self, Application, StartupError, StoreChoice};
use crate::config::{KeysCommand, SeedArgs, ServeConfig};

/// Errors of any sub-command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Seed(#[from] store_postgres::seed::SeedError),
    #[error("{0}")]
    Keys(String),
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
    // The store's pool connects lazily: nothing but the migration reaches the
    // database.
    migrated_store(config, logger).await?;
    Ok(())
}

/// The store of `DATABASE_URL` (which the command needs), its schema brought
/// up to date first.
async fn migrated_store(config: &ServeConfig, logger: &Logger) -> Result<PgStore, StartupError> {
    let postgres = config.postgres().ok_or(StartupError::NoDatabase)?;
    application::migrate(&postgres, logger).await?;
    Ok(PgStore::connect(&postgres)?)
}

/// `shortener seed`: migrate, then load the reference data; the summary goes to
/// the log as one line.
pub async fn seed(
    config: &ServeConfig,
    args: &SeedArgs,
    logger: &Logger,
) -> Result<(), CommandError> {
    let store = migrated_store(config, logger).await?;
    let files = SeedFiles {
        users: args.users.clone(),
        urls: args.urls.clone(),
        events: args.events.clone(),
    };
    let report = load_reference_data(&store, &files, args.force).await?;
    info!(logger, "reference data loaded"; "summary" => %report);
    Ok(())
}

/// `shortener keys ...`: API keys live in PostgreSQL (keys of the in-memory store
/// would die with this command). The secret of a new key goes to stdout, alone
/// on its line, so `KEY=$(shortener keys create --name ci)` captures it; what is
/// said about it goes to the log (stderr).
pub async fn keys(
    config: &ServeConfig,
    command: &KeysCommand,
    logger: &Logger,
) -> Result<(), CommandError> {
    let keys = ApiKeys::new(migrated_store(config, logger).await?);
    let failed = |e: domain::Error| CommandError::Keys(e.to_string());
    let name = |raw: &str| {
        KeyName::parse(raw).map_err(|why| CommandError::Keys(format!("--name {raw:?} {why}")))
    };
    let mut out = std::io::stdout().lock();
    let printed = |e: std::io::Error| CommandError::Keys(format!("cannot print: {e}"));
    match command {
        KeysCommand::Create { name: raw } => {
            let (key, secret) = keys.create(name(raw)?).await.map_err(failed)?;
            writeln!(out, "{}", secret.expose()).map_err(printed)?;
            info!(logger, "API key created: it is shown once, store it now";
                  "id" => key.id, "name" => &key.name);
        }
        KeysCommand::Revoke { name: raw, id } => {
            let selector = match (raw, id) {
                (_, Some(id)) => KeySelector::Id(*id),
                (Some(raw), None) => KeySelector::Name(name(raw)?),
                (None, None) => return Err(CommandError::Keys("give --name or --id".into())),
            };
            let key = keys.revoke(&selector).await.map_err(|e| match e {
                domain::Error::KeyNotFound => {
                    CommandError::Keys(format!("no API key has {selector}"))
                }
                other => failed(other),
            })?;
            info!(logger, "API key revoked"; "id" => key.id, "name" => &key.name,
                  "revoked_at" => key.revoked_at.map(|at| at.to_string()));
        }
        KeysCommand::List => {
            writeln!(out, "id\tname\tcreated_at\trevoked_at").map_err(printed)?;
            for key in keys.list().await.map_err(failed)? {
                let revoked = key.revoked_at.map_or_else(|| "-".to_owned(), |at| at.to_string());
                writeln!(out, "{}\t{}\t{}\t{revoked}", key.id, key.name, key.created_at)
                    .map_err(printed)?;
            }
        }
    }
    Ok(())
}
