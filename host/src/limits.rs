//! The limits every request runs under, and the HTTP answer for breaking each: a limit is part
//! of the contract, never a host failure.
//!
//! | limit | answer |
//! |---|---|
//! | memory per instance | 500, the guest's allocation fails and it traps |
//! | deadline per request (epoch interruption, and wall clock while waiting) | 504 |
//! | request body size | 413, before the body is read when `Content-Length` says so |
//! | requests in flight, per app and across apps | 503 with `Retry-After` |
//! | header read time | the connection is dropped |
//! | connections | new ones wait in the listen backlog |

use std::time::Duration;

use clap::Args;

/// How often the engine's epoch advances: a computing guest checks its deadline and yields
/// to the other guests of its thread this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The host's limits; the defaults are safe for a shared machine.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Linear memory an instance may grow to (e.g. `128MiB`).
    #[arg(long = "memory-limit", default_value = "128MiB", value_parser = parse_size)]
    pub memory: u64,
    /// How long a request may run, in the guest or waiting on the client (e.g. `30s`).
    #[arg(long = "timeout", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// The largest request body accepted (e.g. `1GiB`).
    #[arg(long = "max-body-size", default_value = "1GiB", value_parser = parse_size)]
    pub max_body: u64,
    /// Requests an app handles at once; more are answered 503.
    #[arg(long = "max-concurrency", default_value_t = 500)]
    pub max_concurrency: usize,
    /// Guest instances alive at once across all apps, background work included; more requests
    /// are answered 503. At most 1000, the instances the pooling allocator reserves room for.
    #[arg(long = "max-instances", default_value_t = crate::engine::MAX_INSTANCES as usize,
          value_parser = parse_max_instances)]
    pub max_instances: usize,
    /// Connections open at once; more wait to be accepted.
    #[arg(long = "max-connections", default_value_t = 10_000)]
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    #[arg(long = "header-timeout", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// How long requests in flight may take to finish after SIGTERM or SIGINT.
    #[arg(long = "shutdown-grace", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 128 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            max_body: 1024 * 1024 * 1024,
            max_concurrency: 500,
            max_instances: crate::engine::MAX_INSTANCES as usize,
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// A count of instances from 1 to [`crate::engine::MAX_INSTANCES`], as `--max-instances`.
pub fn parse_max_instances(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| instances_error(text))
        .and_then(check_max_instances)
}

/// `count` if it is from 1 to [`crate::engine::MAX_INSTANCES`], as `max_instances` in a
/// `wasgi.toml`.
pub fn check_max_instances(count: usize) -> Result<usize, String> {
    match count {
        1..=MOST_INSTANCES => Ok(count),
        _ => Err(instances_error(count)),
    }
}

const MOST_INSTANCES: usize = crate::engine::MAX_INSTANCES as usize;

fn instances_error(given: impl std::fmt::Display) -> String {
    format!("`{given}` is not a count of instances from 1 to {MOST_INSTANCES}")
}

/// A size such as `128MiB`, `64kB` or `1000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let size = text
        .parse::<bytesize::ByteSize>()
        .map_err(|error| format!("`{text}` is not a size such as 128MiB: {error}"))?;
    // The parser saturates what does not fit in 64 bits.
    match size.as_u64() {
        u64::MAX => Err(format!("`{text}` is too large a size")),
        bytes => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size("128MiB"), Ok(128 * 1024 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(
            parse_size("lots")
                .unwrap_err()
                .contains("`lots` is not a size")
        );
        assert_eq!(
            parse_size("99999PiB"),
            Err("`99999PiB` is too large a size".to_owned())
        );
        assert_eq!(parse_size("15EiB"), Ok(15 << 60));
    }
}
