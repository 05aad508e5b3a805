//! `uniffi-bindgen` for offline-auth: generates Kotlin, Swift and Python from
//! the built library (`generate --library ...`). See bindings/generate.sh.
fn main() {
    uniffi::uniffi_bindgen_main()
}
