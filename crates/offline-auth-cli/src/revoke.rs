//! `revoke` and `directive`: an operator revokes a device, or queues a
//! remote directive for it (wipe, lock until renewal, biometrics off), in
//! one call, through the reference server's admin endpoints (`POST
//! /admin/devices/{id}/revoke` and `…/directives`, DEPLOYMENT.md,
//! "Revocation", "Remote directives"). The bearer token is read from a private
//! file (mode 0600, like every secret this tool reads), never from the
//! command line; it is sent over `https://`, or `http://` to a loopback
//! address only (the reference server listens on loopback behind a TLS
//! proxy).

use std::path::Path;

use offline_auth_backend::Revocation;
use zeroize::Zeroizing;

use crate::input::Input;
use crate::{Failure, IO, REJECTED};

/// Most bytes of a token file.
const TOKEN_FILE_LIMIT: usize = 1024;
/// Most bytes of the server's answer read.
const ANSWER_LIMIT: u64 = 64 * 1024;

/// Whether `server` may carry the token: `https://`, or `http://` to loopback.
fn check_server(server: &str) -> Result<String, Failure> {
    let server = server.trim_end_matches('/');
    if server.starts_with("https://") {
        return Ok(server.to_owned());
    }
    let rest = server.strip_prefix("http://").unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    // The host must be a loopback address itself: `127.0.0.1.example.org`
    // or `127.0.0.1@example.org` (userinfo) name another machine.
    let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let loopback = match bracketed {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()),
        None => host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()),
    };
    if loopback {
        return Ok(server.to_owned());
    }
    Err(Failure::usage("--server must be an https:// URL, or http:// to a loopback address"))
}

/// The device id as one path segment (RFC 3986 unreserved characters kept).
fn path_segment(device: &str) -> String {
    device
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Revokes `device` at `server` for `reason`; prints the server's answer.
pub(crate) fn revoke(server: &str, device: &str, reason: &str, token_file: &Path) -> Result<String, Failure> {
    // The arguments the backend would refuse are refused here, before any request.
    Revocation::new(device, reason, 0)?;
    let body = serde_json::json!({ "reason": reason });
    admin_post(server, device, "revoke", &body, token_file, "revocation")
}

/// The actions a directive may carry, as the server names them.
const ACTIONS: [&str; 3] = ["wipe", "lock_until_renewal", "biometrics_off"];

/// Queues a remote directive (`action`) for `device` at `server`; prints
/// the server's answer (with the directive's `jti`).
pub(crate) fn directive(server: &str, device: &str, action: &str, token_file: &Path) -> Result<String, Failure> {
    if !ACTIONS.contains(&action) {
        return Err(Failure::usage("--action must be wipe, lock_until_renewal or biometrics_off"));
    }
    if device.is_empty() || device.len() > 128 {
        return Err(Failure::usage("--device must be 1 to 128 bytes"));
    }
    let body = serde_json::json!({ "action": action });
    admin_post(server, device, "directives", &body, token_file, "directive")
}

/// POSTs `body` to `/admin/devices/{device}/{endpoint}` with the token of
/// `token_file`; the answer on 200, a `REJECTED` failure naming `what` otherwise.
fn admin_post(
    server: &str,
    device: &str,
    endpoint: &str,
    body: &serde_json::Value,
    token_file: &Path,
    what: &str,
) -> Result<String, Failure> {
    let server = check_server(server)?;
    let input =
        Input { path: token_file, what: "admin token file", limit: TOKEN_FILE_LIMIT, oversize_code: IO, private: true };
    let bytes = input.read()?;
    let token = Zeroizing::new(
        std::str::from_utf8(&bytes).map_err(|_| Failure::io(format!("{}: not UTF-8", input.name())))?.trim().to_owned(),
    );
    if token.is_empty() {
        return Err(Failure::io(format!("{}: empty", input.name())));
    }
    let url = format!("{server}/admin/devices/{}/{endpoint}", path_segment(device));
    let body = body.to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {}", token.as_str()))
        .send(body.as_bytes())
        .map_err(|e| Failure::io(format!("{server}: {e}")))?;
    let status = response.status().as_u16();
    let answer = response
        .body_mut()
        .with_config()
        .limit(ANSWER_LIMIT)
        .read_to_string()
        .map_err(|e| Failure::io(format!("{server}: {e}")))?;
    if status == 200 {
        Ok(answer.trim_end().to_owned())
    } else {
        let reason: String = answer.chars().filter(|c| !c.is_control()).take(300).collect();
        Err(Failure::new(REJECTED, format!("the server refused the {what} ({status}): {reason}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_over_https_or_to_loopback_only() {
        assert!(check_server("https://auth.example.org").is_ok());
        assert!(check_server("http://127.0.0.1:8787/").is_ok());
        assert!(check_server("http://localhost:8787").is_ok());
        assert!(check_server("http://[::1]:8787").is_ok());
        assert!(check_server("http://auth.example.org").is_err());
        assert!(check_server("http://127.0.0.1.example.org").is_err());
        assert!(check_server("http://127.0.0.1@example.org").is_err());
        assert!(check_server("http://127.0.0.1:80@example.org/").is_err());
        assert!(check_server("http://127.9.9.9:8787").is_ok());
        assert!(check_server("ftp://127.0.0.1").is_err());
        assert_eq!(path_segment("tablet 7/a"), "tablet%207%2Fa");
    }
}
