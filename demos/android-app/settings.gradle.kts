// The demo app as an Android developer opens it (Android Studio / Gradle).
// Not built in CI (no Android SDK or Gradle there): CI compile-checks the app's
// Kotlin sources with compile-check/pom.xml instead. See ../README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "offline-auth-demo"
include(":app")
// The SDK's Android library module, where it lives in the repository: the
// adapter (AndroidKeystore, AndroidClock) plus the Kotlin bindings it generates
// at build time (needs bash and cargo; see platforms/android/build.gradle.kts).
include(":offline-auth")
project(":offline-auth").projectDir = file("../../platforms/android")
