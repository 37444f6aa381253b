use std::process::ExitCode;

use clap::Parser;
use shortener::config::{Cli, Command};
use shortener::{commands, telemetry};
use slog::error;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let logger = telemetry::logger(&cli.serve.log_level, &cli.serve.replica_name);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(&cli.serve, &logger).await,
        Command::Migrate => commands::migrate(&cli.serve, &logger).await,
        Command::Seed(files) => commands::seed(&cli.serve, &files, &logger).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(logger, "failed"; "error" => %e);
            // Give the asynchronous log drain a moment to write the line.
            drop(logger);
            ExitCode::FAILURE
        }
    }
}
