#!/usr/bin/env bash
# Writes the Gradle settings that make platforms/android a standalone build in CI:
# the Android Gradle and Kotlin plugins, and Google's and the central repository.
set -euo pipefail
cat > platforms/android/settings.gradle.kts <<'KTS'
pluginManagement {
    repositories { google(); mavenCentral(); gradlePluginPortal() }
    plugins {
        id("com.android.library") version "8.7.3"
        id("org.jetbrains.kotlin.android") version "2.2.20"
    }
}
dependencyResolutionManagement {
    repositories { google(); mavenCentral() }
}
rootProject.name = "offline-auth-android"
KTS
