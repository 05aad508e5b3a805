// iOS demo app (SwiftUI) on OfflineAuth + OfflineAuthApple.
// NOT COMPILED HERE (no Xcode on Linux): reviewed only. To build: create an iOS
// App target in Xcode (iOS 15+), add these three files, add the local package
// platforms/apple (products OfflineAuth and OfflineAuthApple) once
// platforms/apple/build-xcframework.sh has generated its Swift sources and
// built the XCFramework (or the package it assembles in platforms/apple/dist),
// and set NSFaceIDUsageDescription in Info.plist.
import SwiftUI

@main
struct OfflineAuthDemoApp: App {
    // The one model object that owns the vault for the app's life (not a view's).
    @StateObject private var model = VaultModel()
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            ContentView().environmentObject(model)
        }
        .onChange(of: scenePhase) { phase in
            // Lock only when the app really leaves the screen. `.inactive` is not
            // enough: the Face ID / Touch ID sheet makes the scene inactive, and
            // locking then would undo the biometric unlock it is showing.
            if phase == .background { model.lock() } // zeroizes the session's keys
        }
    }
}
