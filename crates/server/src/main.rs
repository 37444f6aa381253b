use std::process::ExitCode;

use clap::Parser;
use shortener::config::{Cli, Command};
use shortener::{commands, telemetry};
use slog::error;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (level, replica) = (&cli.serve.log_level, &cli.serve.replica_name);
    // `keys` prints a secret on stdout; its log lines go to stderr.
    let logger = match cli.command {
        Some(Command::Keys(_)) => telemetry::logger_writing_to(std::io::stderr(), level, replica),
        _ => telemetry::logger(level, replica),
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(&cli.serve, &logger).await,
        Command::Migrate => commands::migrate(&cli.serve, &logger).await,
        Command::Seed(files) => commands::seed(&cli.serve, &files, &logger).await,
        Command::Keys(keys) => commands::keys(&cli.serve, &keys, &logger).await,
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
