//! The Rust side of the FFI call-overhead figures: a trivial method
//! (`OfflineSession::is_unlocked`) and `get` of a 256-byte record, called
//! directly from Rust. `ffi_python.py` times the same calls through the
//! Python binding; the difference is the binding's cost per call. Then the
//! bulk calls' Rust-side cost (`get_many` and `entries` of 10 records)
//! beside 10 separate `get`s. Last, a 100-field form of 64-byte fields read
//! and written as one crossing (`get_many`/`put_many`) and as 100 (`get`/`put`
//! per field): `ffi_python.py` and `ffi_jvm` time the same from Python and Kotlin.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn calls(c: &mut Criterion) {
    let dir = common::scratch_dir();
    let fixture = common::Fixture::enrol(&dir.path().join("vault.db"));
    fixture.session.put(common::COLLECTION, &common::key(0), common::value(256, 0)).unwrap();
    let ten: Vec<offline_auth::KeyValue> =
        (0..10).map(|i| offline_auth::KeyValue { key: common::key(i), value: common::value(256, i) }).collect();
    fixture.session.put_many(common::COLLECTION, ten.clone()).unwrap();
    let ten_keys: Vec<String> = ten.iter().map(|kv| kv.key.clone()).collect();
    let mut group = c.benchmark_group("calls_rust");
    group.bench_function("is_unlocked", |b| b.iter(|| black_box(fixture.session.is_unlocked())));
    group.bench_function("get_256B", |b| {
        b.iter(|| fixture.session.get(common::COLLECTION, &common::key(0)).unwrap().unwrap())
    });
    // The bulk calls (one FFI crossing for one screen): 10 records of 256 B.
    group.bench_function("get_many_10x256B", |b| {
        b.iter(|| fixture.session.get_many(common::COLLECTION, &ten_keys).unwrap())
    });
    group.bench_function("get_x10_256B", |b| {
        b.iter(|| {
            for key in &ten_keys {
                black_box(fixture.session.get(common::COLLECTION, key).unwrap());
            }
        })
    });
    group.bench_function("entries_10x256B", |b| b.iter(|| fixture.session.entries(common::COLLECTION).unwrap()));
    group.finish();

    // A 100-field form: 64-byte fields, keys "field-000".."field-099".
    let form: Vec<offline_auth::KeyValue> = (0..100)
        .map(|i| offline_auth::KeyValue { key: format!("field-{i:03}"), value: common::value(64, i) })
        .collect();
    let form_keys: Vec<String> = form.iter().map(|kv| kv.key.clone()).collect();
    fixture.session.put_many(common::COLLECTION, form.clone()).unwrap();
    let mut group = c.benchmark_group("form_rust");
    group.sample_size(10);
    group.bench_function("read_100_one_call", |b| {
        b.iter(|| fixture.session.get_many(common::COLLECTION, &form_keys).unwrap())
    });
    group.bench_function("read_100_calls", |b| {
        b.iter(|| {
            for key in &form_keys {
                black_box(fixture.session.get(common::COLLECTION, key).unwrap());
            }
        })
    });
    group.bench_function("write_100_one_call", |b| {
        b.iter(|| fixture.session.put_many(common::COLLECTION, form.clone()).unwrap())
    });
    group.bench_function("write_100_calls", |b| {
        b.iter(|| {
            for kv in &form {
                fixture.session.put(common::COLLECTION, &kv.key, kv.value.clone()).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group! { name = benches; config = common::quick(); targets = calls }
criterion_main!(benches);
