// The demo app as an Android developer opens it (Android Studio / Gradle).
// Not built in CI (no Android SDK there): CI compile-checks the Kotlin sources
// with compile-check/pom.xml instead. See ../README.md.
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
// The SDK as an Android library module: generated bindings + AndroidKeystore adapter.
include(":offline-auth")
