//! The binary's limit flags (each also an `OFFLINE_AUTH_*` variable):
//! connections, bodies, the drain at shutdown and the rate limits; their
//! defaults are `Limits::default()`'s (`src/limits.rs`, `src/rate.rs`).

use std::time::Duration;

use offline_auth_server as server;

/// The limits, flattened into the binary's `Config`.
#[derive(clap::Args, Debug)]
pub(crate) struct LimitFlags {
    /// Connections open at once; more are answered 503 and closed.
    #[arg(long, env = "OFFLINE_AUTH_MAX_CONNECTIONS", value_name = "N",
          default_value_t = server::Limits::default().max_connections,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Seconds to send a request head (and the idle wait between keep-alive requests).
    #[arg(long, env = "OFFLINE_AUTH_HEADER_TIMEOUT_SECS", value_name = "S",
          default_value_t = server::Limits::default().header_read_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds to send a whole body (408 and closed past it).
    #[arg(long, env = "OFFLINE_AUTH_BODY_TIMEOUT_SECS", value_name = "S",
          default_value_t = server::Limits::default().body_read_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_secs: u64,
    /// Longest silence, in seconds, between two chunks of a body (408 and closed past it).
    #[arg(long, env = "OFFLINE_AUTH_BODY_IDLE_SECS", value_name = "S",
          default_value_t = server::Limits::default().body_idle_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    body_idle_secs: u64,
    /// MiB all bodies in flight may hold together (503 + Retry-After past it).
    #[arg(long, env = "OFFLINE_AUTH_BODY_BUDGET_MIB", value_name = "M",
          default_value_t = to_mib(server::Limits::default().body_budget_bytes),
          value_parser = clap::value_parser!(u64).range(1..))]
    body_budget_mib: u64,
    /// MiB the bodies in flight from one client address may hold (set it to
    /// --body-budget-mib behind a proxy).
    #[arg(long, env = "OFFLINE_AUTH_PER_ADDRESS_BODY_MIB", value_name = "M",
          default_value_t = to_mib(server::Limits::default().per_address_body_bytes),
          value_parser = clap::value_parser!(u64).range(1..))]
    per_address_body_mib: u64,
    /// On SIGTERM or Ctrl-C: seconds the requests in flight get to finish
    /// (no new connection is accepted meanwhile); then the rest are cut.
    #[arg(long, env = "OFFLINE_AUTH_DRAIN_SECS", value_name = "S",
          default_value_t = server::Limits::default().drain_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    drain_secs: u64,
    /// Requests a second one client address may make on average (0: no
    /// limit); past it and its burst, 429 with `Retry-After`.
    #[arg(long, env = "OFFLINE_AUTH_ADDRESS_RATE", value_name = "N",
          default_value_t = server::limits::DEFAULT_ADDRESS_RATE.per_second)]
    address_rate: u32,
    /// Requests one client address may make at once after a quiet spell.
    #[arg(long, env = "OFFLINE_AUTH_ADDRESS_BURST", value_name = "N",
          default_value_t = server::limits::DEFAULT_ADDRESS_RATE.burst)]
    address_burst: u32,
    /// Uploads a second one enrolled device may make on average (0: no limit).
    #[arg(long, env = "OFFLINE_AUTH_DEVICE_RATE", value_name = "N",
          default_value_t = server::limits::DEFAULT_DEVICE_RATE.per_second)]
    device_rate: u32,
    /// Uploads one enrolled device may make at once after a quiet spell.
    #[arg(long, env = "OFFLINE_AUTH_DEVICE_BURST", value_name = "N",
          default_value_t = server::limits::DEFAULT_DEVICE_RATE.burst)]
    device_burst: u32,
    /// Take the client's address from the last `X-Forwarded-For` entry
    /// (only behind a reverse proxy that appends it).
    #[arg(long, env = "OFFLINE_AUTH_ADDRESS_FROM_FORWARDED_FOR")]
    address_from_forwarded_for: bool,
}

impl LimitFlags {
    pub(crate) fn limits(&self) -> server::Limits {
        server::Limits {
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_secs(self.header_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_timeout_secs),
            body_idle_timeout: Duration::from_secs(self.body_idle_secs),
            body_budget_bytes: mib(self.body_budget_mib),
            per_address_body_bytes: mib(self.per_address_body_mib),
            drain_timeout: Duration::from_secs(self.drain_secs),
            address_rate: rate(self.address_rate, self.address_burst),
            device_rate: rate(self.device_rate, self.device_burst),
            address_from_forwarded_for: self.address_from_forwarded_for,
            ..server::Limits::default()
        }
    }
}

/// A rate limit, or none when either number is 0.
fn rate(per_second: u32, burst: u32) -> Option<server::Rate> {
    (per_second > 0 && burst > 0).then_some(server::Rate { per_second, burst })
}

fn mib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

fn to_mib(bytes: usize) -> u64 {
    (bytes / (1024 * 1024)) as u64
}
