//! The operator's page as HTML (maud: every `(value)` spliced into the
//! markup is escaped, so a device id like `<script>…` is shown as text).
//! No script, no external resource: one inline style sheet.

use maud::{html, Markup, DOCTYPE};

use crate::store::DeviceSummary;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}\
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f2f2f2}.revoked{color:#a00;font-weight:bold}.warn{color:#a60}form.inline{display:inline}";

fn frame(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (STYLE) }
            }
            body { h1 { (title) } (body) }
        }
    }
}

/// The sign-in form, with `error` above it if any.
pub(crate) fn login(error: Option<&str>) -> Markup {
    frame(
        "offline-auth: operator sign-in",
        html! {
            @if let Some(error) = error { p.revoked { (error) } }
            form method="post" action="/operator/login" {
                label { "Admin token " input type="password" name="token" autocomplete="current-password" required; }
                " "
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A one-line answer (a refusal, a bad form).
pub(crate) fn message(text: &str) -> Markup {
    frame("offline-auth: operator", html! { p { (text) } p { a href="/operator" { "Back to the devices" } } })
}

/// "3 min ago", "2 h ago", "5 d ago" (from `now`); "never" for none.
fn ago(now: i64, at: Option<i64>) -> String {
    let Some(at) = at else { return "never".into() };
    let secs = now.saturating_sub(at);
    match secs {
        i64::MIN..=-1 => format!("{} s ahead", secs.unsigned_abs()),
        0..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        7200..=172_799 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// The boot count and its trend since the upload before.
fn boots(device: &DeviceSummary, now: i64) -> Markup {
    let stretched = device.stretch_at.is_some_and(|at| now.saturating_sub(at) < 24 * 3600);
    html! {
        @match (device.boots, device.boots_before) {
            (Some(boots), Some(before)) => { (boots) " (" (format!("{:+}", boots.saturating_sub(before))) ")" }
            (Some(boots), None) => { (boots) }
            _ => { "—" }
        }
        @if stretched {
            br;
            span.warn title="boot count climbing while entry times barely move (docs/TIME.md)" {
                "clock stretching suspected " (ago(now, device.stretch_at))
            }
        }
    }
}

/// The device list, each row with its revoke form (carrying `csrf`).
pub(crate) fn devices(devices: &[DeviceSummary], csrf: &str, now: i64, most: u32) -> Markup {
    frame(
        "offline-auth: devices",
        html! {
            p {
                (devices.len()) " device(s)"
                @if devices.len() as u64 >= u64::from(most) { " (the first " (most) " by id)" }
                ". Pending lag: time since the newest edit the server holds was made on the device \
                  (edits made after it are still on the device). Refusals: the last 24 hours."
            }
            table #devices {
                thead { tr {
                    th { "Device" } th { "Owner" } th { "Last contact" } th { "Pending lag" } th { "Acknowledged seq" }
                    th { "Boot count (trend)" } th { "Attestation" } th { "Revoked" } th { "Refusals (24 h)" } th { "Actions" }
                } }
                tbody {
                    @for device in devices {
                        tr.device data-device=(device.device_id) {
                            td.device-id { (device.device_id) }
                            td.owner { (device.user_id) }
                            td { (ago(now, device.last_contact)) }
                            td { (ago(now, device.newest_entry)) }
                            td { (device.acknowledged_seq) }
                            td { (boots(device, now)) }
                            td { (device.level.as_deref().unwrap_or("not attested")) }
                            td {
                                @if let Some(revoked) = &device.revoked {
                                    span.revoked { "revoked " (ago(now, Some(revoked.at))) } ": " (revoked.reason)
                                } @else { "no" }
                            }
                            td {
                                @if device.refusals.is_empty() { "none" }
                                @for (reason, count) in &device.refusals { (reason) ": " (count) br; }
                            }
                            td {
                                @if device.revoked.is_none() {
                                    form.inline method="post" action=(format!("/operator/devices/{}/revoke", encode(&device.device_id))) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="text" name="reason" placeholder="reason" required maxlength="200";
                                        " "
                                        button type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A path segment, percent-encoded (then escaped by maud as an attribute).
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_supplied_strings_are_escaped_and_path_encoded() {
        let device = DeviceSummary {
            device_id: "<script>alert(1)</script>".into(),
            user_id: "\"><img src=x onerror=alert(2)>".into(),
            acknowledged_seq: 3,
            last_contact: Some(100),
            newest_entry: Some(90),
            boots: Some(7),
            boots_before: Some(4),
            stretch_at: Some(100),
            level: None,
            revoked: None,
            refusals: vec![("seq_gap".into(), 2)],
        };
        let text = devices(&[device], "c", 160, 500).into_string();
        assert!(!text.contains("<script>alert"), "{text}");
        assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{text}");
        assert!(!text.contains("<img"), "{text}");
        assert!(text.contains("/operator/devices/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/revoke"), "{text}");
        assert!(text.contains("7 (+3)") && text.contains("clock stretching suspected"), "{text}");
    }
}
