// offline-auth for Android: the Android library module (AAR) apps depend on.
// This one folder holds everything Android:
//   - the adapter, src/main/kotlin (AndroidKeystore, AndroidClock, KeySource, ...);
//   - the Kotlin bindings, generated at build time (task generateUniffiBindings)
//     from the cargo-built library by ../../tools/generate-bindings.sh with
//     uniffi-android.toml (android = true), into build/generated/source/uniffi/
//     (never committed);
//   - the native library per ABI in src/main/jniLibs/<abi>/liboffline_auth.so
//     (git-ignored), built with cargo-ndk, for example from the repository root:
//     cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -t x86 -o platforms/android/src/main/jniLibs build --release -p offline-auth
// A Gradle build includes it as a project, e.g. in settings.gradle.kts:
//     include(":offline-auth")
//     project(":offline-auth").projectDir = file("<path to>/platforms/android")
// (demos/android-app does so). Generation needs bash and cargo on the machine
// that runs Gradle; library mode reads the host build's symbol table, which
// carries the same interface as the per-ABI builds.
//
// The Android workflow (.github/workflows/android.yml) runs `cargoNdk` then
// `assembleRelease`, checks the AAR with scripts/check-aar.sh and publishes it as
// a build artifact.
//
// NOT BUILT on this project's machines (no Android SDK or Gradle there): pom.xml
// next to this file compiles the same sources, with bindings generated the same
// way, against Robolectric's android-all and runs the JVM unit tests.
import javax.inject.Inject
import org.gradle.process.ExecOperations

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
}

val repoRoot: File = projectDir.resolve("../..").canonicalFile

/** The one version of the project: `[workspace.package] version` of the root Cargo.toml. */
fun workspaceVersion(): String {
    var inSection = false
    for (raw in repoRoot.resolve("Cargo.toml").readLines()) {
        val line = raw.substringBefore('#').trim()
        if (line.startsWith("[")) inSection = line == "[workspace.package]"
        else if (inSection && line.startsWith("version")) {
            return line.substringAfter('=').trim().trim('"')
        }
    }
    throw GradleException("no [workspace.package] version in ${repoRoot.resolve("Cargo.toml")}")
}

group = "dev.offlineauth"
version = workspaceVersion()

/** Runs tools/generate-bindings.sh: Kotlin bindings of one crate, android = true. */
abstract class GenerateUniffiBindings : DefaultTask() {
    @get:Inject abstract val execOperations: ExecOperations
    @get:InputFile @get:PathSensitive(PathSensitivity.NONE) abstract val script: RegularFileProperty
    @get:InputFile @get:PathSensitive(PathSensitivity.NONE) abstract val config: RegularFileProperty
    @get:Internal abstract val workspaceDir: DirectoryProperty
    @get:Input abstract val crate: Property<String>
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun generate() {
        execOperations.exec {
            workingDir = workspaceDir.get().asFile
            commandLine(
                "bash", script.get().asFile.path, "kotlin", outputDir.get().asFile.path,
                "--crate", crate.get(), "--config", config.get().asFile.path, "--no-lib",
            )
        }
    }
}

val generateUniffiBindings = tasks.register<GenerateUniffiBindings>("generateUniffiBindings") {
    description = "Generates the Kotlin bindings (android = true) from the cargo-built offline-auth library"
    script.set(repoRoot.resolve("tools/generate-bindings.sh"))
    config.set(layout.projectDirectory.file("uniffi-android.toml"))
    workspaceDir.set(repoRoot)
    crate.set("offline-auth")
    outputDir.set(layout.buildDirectory.dir("generated/source/uniffi/kotlin"))
    // The Rust sources are the real input: always run. The script is
    // incremental itself (cargo no-op, files replaced only when they changed).
    outputs.upToDateWhen { false }
}

/**
 * The native library for every ABI the AAR ships, built by cargo-ndk into
 * src/main/jniLibs (git-ignored) and linked for 16 KB pages (Android 15+
 * devices may use them; Google Play requires it for new apps targeting API 35).
 * Needs cargo-ndk and an NDK (ANDROID_NDK_HOME) on the machine running Gradle;
 * the Android workflow runs this task.
 */
val cargoNdk = tasks.register<Exec>("cargoNdk") {
    description = "Builds liboffline_auth.so for arm64-v8a, armeabi-v7a, x86_64 and x86 with cargo-ndk"
    workingDir = repoRoot
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384")
    commandLine(
        // x86 too: JNA's AAR ships libjnidispatch.so for x86, so an app installs
        // JNA there; without our library beside it, 32-bit x86 devices and
        // emulator images fail with UnsatisfiedLinkError.
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64", "-t", "x86",
        "--platform", "28",
        "-o", projectDir.resolve("src/main/jniLibs").path,
        "build", "--release", "-p", "offline-auth",
    )
}

android {
    namespace = "dev.offlineauth"
    compileSdk = 34
    defaultConfig {
        // Platform BiometricPrompt, StrongBox and setUnlockedDeviceRequired: API 28.
        minSdk = 28
        consumerProguardFiles("consumer-rules.pro")
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
    }
    sourceSets["main"].kotlin.srcDir("src/main/kotlin")
    // The JVM unit tests of src/test/kotlin run through pom.xml (JUnit 5 against
    // Robolectric's android-all); Gradle's unit-test classpath has only the
    // android.jar stubs, so they are not part of this module's Gradle build.
    sourceSets["test"].java.setSrcDirs(emptyList<String>())
    sourceSets["test"].kotlin.setSrcDirs(emptyList<String>())
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    publishing {
        singleVariant("release") { withSourcesJar() }
    }
}

// The release AAR (classes, generated bindings, jniLibs, consumer rules as
// proguard.txt, the manifest with USE_BIOMETRIC) as
// dev.offlineauth:offline-auth-android:<workspace version>.
publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "dev.offlineauth"
            artifactId = "offline-auth-android"
            version = project.version.toString()
            afterEvaluate { from(components["release"]) }
        }
    }
}

androidComponents {
    onVariants { variant ->
        // The Java source set of each variant: the Kotlin Android plugin compiles
        // .kt files found there, and on AGP 8 a generated Kotlin-only directory
        // is not always seen by the Kotlin compilation.
        variant.sources.java?.addGeneratedSourceDirectory(generateUniffiBindings, GenerateUniffiBindings::outputDir)
    }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("androidx.annotation:annotation:1.9.1")
    // UniFFI's `suspend fun` exports use it (same version as pom.xml).
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
    // src/androidTest: run on emulators by .github/workflows/android.yml.
    androidTestImplementation("androidx.test:runner:1.6.2")
    androidTestImplementation("androidx.test.ext:junit:1.2.1")
    androidTestImplementation("junit:junit:4.13.2")
}
