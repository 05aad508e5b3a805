//! offline-auth's runnable stories, as examples of this package (run from
//! the repository's root):
//!
//! - `cargo run --example field_day`: a field worker's day, end to end,
//!   against the reference sync server started on loopback
//!   ([`field_day.rs`](https://github.com/offline-auth/offline-auth/blob/main/examples/field_day.rs)).
//!
//! The package has no API: this library target exists because cargo needs
//! one target that is not an example.
