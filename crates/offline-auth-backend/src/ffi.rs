//! The wire-format types the backend's bindings share with
//! `offline-auth-proto`, declared to UniFFI as remote types (the proto crate
//! knows nothing of FFI).

use offline_auth_proto::grant::{GrantPolicy, IssuerKey};

offline_auth_proto::uniffi_remote_grant_types!();
