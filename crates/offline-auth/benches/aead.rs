//! Record seal/open throughput (AES-256-GCM, random 96-bit nonce, record
//! AAD, versioned envelope) at 256 B, 4 KiB and 16 KiB. `compare.sh` puts
//! them beside `openssl speed -evp aes-256-gcm`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use offline_auth::bench_internals::RecordSealer;

const SIZES: [usize; 3] = [256, 4096, 16384];

fn aead(c: &mut Criterion) {
    let sealer = RecordSealer::new().unwrap();
    let mut group = c.benchmark_group("record_seal");
    for size in SIZES {
        let plaintext = common::value(size, 1);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &plaintext, |b, p| {
            b.iter(|| sealer.seal(black_box(p)).unwrap())
        });
    }
    group.finish();
    let mut group = c.benchmark_group("record_open");
    for size in SIZES {
        let sealed = sealer.seal(&common::value(size, 1)).unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &sealed, |b, s| {
            b.iter(|| sealer.open(black_box(s)).unwrap())
        });
    }
    group.finish();

    // The bound under the record path: the aes-gcm crate alone (key schedule
    // made once, fixed nonce, no envelope, no allocation), encrypting in place.
    let cipher = {
        use aes_gcm::aead::KeyInit;
        aes_gcm::Aes256Gcm::new(&[7u8; 32].into())
    };
    let mut group = c.benchmark_group("gcm_crate_encrypt");
    for size in SIZES {
        let mut buffer = common::value(size, 1);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            use aes_gcm::aead::AeadInOut;
            b.iter(|| {
                cipher
                    .encrypt_inout_detached((&[1u8; 12]).into(), &[3u8; 107], black_box(buffer.as_mut_slice()).into())
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group! { name = benches; config = common::quick(); targets = aead }
criterion_main!(benches);
