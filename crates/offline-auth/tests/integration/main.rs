//! The device crate's integration tests, one binary: each module was a test
//! file of its own and is named by what it proves. Built once, this binary
//! replaces 38 that each linked the whole crate and its dependencies.
//!
//! Tests that need a process to themselves stay binaries of their own:
//! `security_events_are_logged` (a process-wide logger),
//! `no_secret_left_in_memory_after_lock` (scans the whole process memory),
//! `verifying_a_batch_stays_within_memory_bounds` (measures the process RSS),
//! `killed_writers_lose_nothing` and `handles_and_processes_share_one_vault`
//! (re-run their own binary as child processes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

#[path = "../common/mod.rs"]
mod common;

mod a_clock_ahead_of_the_backend_is_a_typed_error;
mod a_fresh_renewal_repairs_a_clock_once_set_ahead;
mod a_key_made_before_the_prompt_survives_other_threads;
mod a_lost_device_key_is_its_own_error;
mod a_rotation_refused_at_lock_is_deferred;
mod async_calls_run_off_the_callers_thread;
mod backend_rotates_keys_and_checks_signers;
mod bad_grants_never_open_a_session;
mod bad_input_is_typed_and_changes_nothing;
mod biometric_unlock_and_invalidation;
mod bulk_calls_are_one_transaction;
mod clock_rollback_expiry_and_renewal;
mod concurrent_writers_lockers_and_syncers;
mod copies_written_back_in_an_open_session_gain_one_rotation_at_most;
mod durable_writes_dirty_few_pages;
mod end_to_end_with_the_reference_server;
mod errors_print_their_message_and_fields;
mod escrowed_edits_survive_a_wipe;
mod fresh_renewal_and_server_time_through_the_reference_server;
mod grants_interoperate_with_jose_libraries;
mod hostile_network_loses_and_duplicates_nothing;
mod known_answer_vectors;
mod malformed_pins_cost_no_attempt;
mod no_file_edit_turns_biometrics_off;
mod one_session_shared_by_threads;
mod random_operations_keep_the_queue_a_chain;
mod remote_directives_apply_durably;
mod remote_directives_refuse_forged_replayed_and_stale;
mod remote_directives_through_the_reference_server;
mod security_events_report_without_secrets;
mod sync_batches_verify_and_tampering_is_caught;
mod tampered_files_are_detected;
mod the_biometric_prompt_does_not_hold_the_vault;
mod the_platform_attestor_signs_uploads;
mod truncated_and_restored_rows_are_typed_errors;
mod trusted_time_resists_clock_attacks;
mod vault_lifecycle;
mod written_back_copies_never_leave_the_queue_stuck;
