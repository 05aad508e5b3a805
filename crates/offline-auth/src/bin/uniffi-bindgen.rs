//! UniFFI's `uniffi-bindgen`, built from this crate's own UniFFI version (the
//! `uniffi-cli` feature). maturin finds it here and runs it to write the
//! Python module of the wheel, so `pip install` of the package directory or
//! of its sdist needs no bindgen installed beforehand.
fn main() {
    uniffi::uniffi_bindgen_main()
}
