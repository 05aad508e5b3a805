//! Every security event also goes to the `log` facade, at `info` for a
//! wrong PIN and `warn` for the rest, without the PIN; with or without a
//! listener.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Mutex;

use common::{Device, PIN};
use log::{Level, LevelFilter, Log, Metadata, Record};
use offline_auth::VaultError;

/// Every record logged in this test binary (one test: one logger).
struct TestLogger {
    records: Mutex<Vec<(Level, String, String)>>,
}

impl Log for TestLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let entry = (record.level(), record.target().to_owned(), record.args().to_string());
        self.records.lock().unwrap().push(entry);
    }
    fn flush(&self) {}
}

static LOGGER: TestLogger = TestLogger { records: Mutex::new(Vec::new()) };

#[test]
fn every_security_event_is_logged_without_the_pin_and_without_a_listener() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(LevelFilter::Trace);
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();

    for _ in 0..4 {
        assert!(matches!(vault.unlock("000111".into()), Err(VaultError::WrongPin { .. })));
    }
    vault.wipe().unwrap();

    let security: Vec<(Level, String)> = LOGGER
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, target, _)| target == "offline_auth::security")
        .map(|(level, _, message)| (*level, message.clone()))
        .collect();
    assert_eq!(
        security,
        vec![
            (Level::Info, "wrong PIN; 9 attempts remaining".to_owned()),
            (Level::Info, "wrong PIN; 8 attempts remaining".to_owned()),
            (Level::Info, "wrong PIN; 7 attempts remaining".to_owned()),
            (Level::Info, "wrong PIN; 6 attempts remaining".to_owned()),
            (Level::Warn, "locked out after 4 wrong PINs; retry in 30 s".to_owned()),
            (Level::Warn, "vault wiped on request".to_owned()),
        ]
    );
    for (_, _, message) in LOGGER.records.lock().unwrap().iter() {
        assert!(!message.contains("000111") && !message.contains(PIN), "{message}");
    }
}
