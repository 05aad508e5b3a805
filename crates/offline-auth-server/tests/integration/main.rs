//! The reference server's integration tests, one binary: each module was a
//! test file of its own and is named by what it proves. The modules that need
//! PostgreSQL are built with the `postgres` feature (scripts/test-postgres.sh).
//!
//! Tests that need a process to themselves stay binaries of their own:
//! `logs_name_devices_and_reasons_but_no_secret` (a process-wide tracing
//! subscriber) and `strangers_cannot_stall_or_grow_the_server` (measures the
//! process's threads and memory).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

#[allow(dead_code)]
#[path = "../../../offline-auth-attestation/tests/common/apple_ca.rs"]
mod apple_ca;
#[allow(dead_code)]
#[path = "../../../offline-auth-attestation/tests/common/ca.rs"]
mod ca;
#[path = "../common/mod.rs"]
mod common;

mod a_revoked_device_gets_no_grant_and_its_uploads_are_judged;
#[cfg(feature = "postgres")]
mod app_attest_counters_are_taken_once_across_instances;
mod app_attest_enrols_and_signs_uploads_through_the_server;
mod attestation_is_configured_from_flags_or_environment;
mod attested_enrolment_sets_the_window_and_uploads_are_signed;
mod bad_input_answers_json_and_changes_nothing;
#[cfg(feature = "postgres")]
mod challenges_are_taken_once_across_instances;
mod configuration_comes_from_flags_or_environment;
#[cfg(feature = "postgres")]
mod database_restart_under_load_fails_cleanly;
mod directives_are_delivered_until_acknowledged_on_every_instance;
mod health_and_readiness_report_the_process_and_the_database;
mod jwks_is_served_at_the_well_known_path;
mod keys_are_stored_wrapped_under_the_kek;
#[cfg(feature = "postgres")]
mod killed_instance_mid_upload_loses_nothing;
#[cfg(feature = "postgres")]
mod many_devices_on_many_instances_apply_each_edit_once;
mod metrics_count_uploads_refusals_and_unavailable_answers;
mod rate_limits_refuse_floods_and_keep_honest_uploads;
mod real_android_attestations_enrol_through_the_server;
mod salvage_after_a_wipe_applies_each_edit_once;
mod sigterm_drains_uploads_in_flight;
mod the_operator_page_lists_devices_and_refuses_cross_site_posts;
