//! UniFFI's `uniffi-bindgen`, at the workspace lock's UniFFI version (feature
//! `uniffi-cli`). maturin finds it in the workspace and runs it to write the
//! Python module of a wheel, so `pip install` of a package directory or of
//! its sdist needs no bindgen installed beforehand; tools/generate-bindings.sh
//! runs it for Kotlin, Swift and the Python tests.
fn main() {
    uniffi::uniffi_bindgen_main()
}
