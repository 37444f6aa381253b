//! Structured logs: one JSON object per line on stdout, and nothing else there.

use std::io::Write;

use slog::{Drain, Level, Logger, o};

/// A JSON logger on stdout at `level` (unknown names fall back to `info`),
/// tagged with the replica's name.
pub fn logger(level: &str, replica: &str) -> Logger {
    logger_writing_to(std::io::stdout(), level, replica)
}

/// The same logger writing to `out` (tests read what it wrote). Lines are
/// written by a background thread, shortly after they are logged.
pub fn logger_writing_to(out: impl Write + Send + 'static, level: &str, replica: &str) -> Logger {
    let level = level.parse::<Level>().unwrap_or(Level::Info);
    let json = slog_json::Json::new(out)
        .set_newlines(true)
        .add_key_value(o!(
            "time" => slog::PushFnValue(|_, ser| ser.emit(chrono_now())),
            "level" => slog::FnValue(|record| record.level().as_str()),
            "msg" => slog::PushFnValue(|record, ser| ser.emit(record.msg())),
        ))
        .build()
        .fuse();
    let drain = slog_async::Async::new(json.filter_level(level).fuse())
        .chan_size(4096)
        .overflow_strategy(slog_async::OverflowStrategy::DropAndReport)
        .build()
        .fuse();
    Logger::root(drain, o!("replica" => replica.to_owned()))
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
