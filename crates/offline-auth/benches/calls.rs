//! The Rust side of the FFI call-overhead figures: a trivial method
//! (`OfflineSession::is_unlocked`) and `get` of a 256-byte record, called
//! directly from Rust. `ffi_python.py` times the same calls through the
//! Python binding; the difference is the binding's cost per call.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn calls(c: &mut Criterion) {
    let dir = common::scratch_dir();
    let fixture = common::Fixture::enrol(&dir.path().join("vault.db"));
    fixture.session.put(common::COLLECTION.into(), common::key(0), common::value(256, 0)).unwrap();
    let mut group = c.benchmark_group("calls_rust");
    group.bench_function("is_unlocked", |b| b.iter(|| black_box(fixture.session.is_unlocked())));
    group.bench_function("get_256B", |b| {
        b.iter(|| fixture.session.get(common::COLLECTION.into(), common::key(0)).unwrap().unwrap())
    });
    group.finish();
}

criterion_group! { name = benches; config = common::quick(); targets = calls }
criterion_main!(benches);
