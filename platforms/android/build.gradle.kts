// Android library module over the repository's sources: the Android-flavoured
// generated bindings (bindings/android, owned by bindings/generate.sh) and the
// AndroidKeystore adapter (platform/android). The Rust library goes in
// src/main/jniLibs/<abi>/liboffline_auth.so, built per ABI (e.g. with cargo-ndk:
// `cargo ndk -t arm64-v8a -t x86_64 -o kotlin-demo/android-app/offline-auth/src/main/jniLibs build --release`).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.offlineauth"
    compileSdk = 34
    defaultConfig {
        // Platform BiometricPrompt, StrongBox and setUnlockedDeviceRequired: API 28.
        minSdk = 28
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].kotlin.srcDirs(
        "../../../bindings/android/src/main/kotlin",
        "../../../platform/android/src/main/kotlin",
    )
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("androidx.annotation:annotation:1.9.1")
}
