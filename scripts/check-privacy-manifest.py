#!/usr/bin/env python3
"""The Apple adapter's privacy manifest declares what AppleClock uses.

    python3 scripts/check-privacy-manifest.py

platforms/apple/Sources/OfflineAuthApple/PrivacyInfo.xcprivacy must be a
property list that declares no tracking, no collected data, and exactly one
required-reason API: the system boot time (AppleClock reads kern.boottime and
mach_continuous_time), for reason 35F9.1 (time elapsed between events within
the app). Both Package.swift files must ship it as a resource of the target.
"""
import pathlib
import plistlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "platforms/apple/Sources/OfflineAuthApple/PrivacyInfo.xcprivacy"
EXPECTED_APIS = [{
    "NSPrivacyAccessedAPIType": "NSPrivacyAccessedAPICategorySystemBootTime",
    "NSPrivacyAccessedAPITypeReasons": ["35F9.1"],
}]


def main():
    problems = []
    try:
        manifest = plistlib.loads(MANIFEST.read_bytes())
    except (OSError, plistlib.InvalidFileException, ValueError) as error:
        sys.exit(f"{MANIFEST.relative_to(ROOT)}: not a readable property list: {error}")
    if manifest.get("NSPrivacyTracking") is not False:
        problems.append("NSPrivacyTracking must be false")
    if manifest.get("NSPrivacyCollectedDataTypes") != []:
        problems.append("NSPrivacyCollectedDataTypes must be empty (the library collects nothing)")
    if manifest.get("NSPrivacyAccessedAPITypes") != EXPECTED_APIS:
        problems.append(f"NSPrivacyAccessedAPITypes must be {EXPECTED_APIS}")
    for package in ("Package.swift", "platforms/apple/Package.swift"):
        if 'appleAdapterResources: [Resource] = [.copy("PrivacyInfo.xcprivacy")]' not in (ROOT / package).read_text(encoding="utf-8"):
            problems.append(f"{package}: OfflineAuthApple must copy PrivacyInfo.xcprivacy as a resource")
    for problem in problems:
        print(f"{MANIFEST.relative_to(ROOT)}: {problem}")
    if problems:
        sys.exit(1)
    print(f"ok: {MANIFEST.relative_to(ROOT)} declares the boot-time API (35F9.1), no tracking, no data")


if __name__ == "__main__":
    main()
