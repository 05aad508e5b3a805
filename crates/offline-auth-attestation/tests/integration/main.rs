//! The attestation crate's integration tests, one binary: each module was a
//! test file of its own and is named by what it proves. `apple_hostile_memory`
//! stays a binary of its own: it measures the process's memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

#[path = "../common/mod.rs"]
mod common;

mod android_policy;
mod android_refusals;
mod android_vectors;
mod apple_refusals;
mod apple_vectors;
