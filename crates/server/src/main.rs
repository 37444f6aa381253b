use std::process::ExitCode;

use clap::Parser;
use shortener::config::{Cli, Command};
use shortener::{Application, StoreChoice, telemetry};
use slog::{error, info};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.serve;
    let logger = telemetry::logger(&config.log_level, &config.replica_name);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let store = StoreChoice::from_config(&config);
            match Application::build(&config, store, &logger) {
                Ok(app) => app.run_until_stopped().await,
                Err(e) => Err(e),
            }
        }
    };
    match outcome {
        Ok(()) => {
            info!(logger, "stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!(logger, "failed"; "error" => %e);
            ExitCode::FAILURE
        }
    }
}
