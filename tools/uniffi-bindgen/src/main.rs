//! `uniffi-bindgen` for offline-auth: generates Kotlin, Swift and Python from
//! the built library (`generate --library ...`). See tools/generate-bindings.sh.
fn main() {
    uniffi::uniffi_bindgen_main()
}
