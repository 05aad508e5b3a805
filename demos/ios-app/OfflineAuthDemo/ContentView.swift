import SwiftUI

/// One screen: offline indicator, PIN pad, biometric button, a small form, sync.
struct ContentView: View {
    @EnvironmentObject var model: VaultModel
    @State private var pin = ""
    @State private var station = ""
    @State private var note = ""

    var body: some View {
        VStack(spacing: 16) {
            Label(model.online ? "Online" : "Offline: working from the vault",
                  systemImage: model.online ? "wifi" : "wifi.slash")
                .foregroundColor(model.online ? .green : .orange)
            Text(model.message).multilineTextAlignment(.center)
            if model.unlocked { form } else { pinPad }
        }
        .padding()
        .privacySensitive() // hidden in the app switcher snapshot
    }

    private var pinPad: some View {
        VStack(spacing: 12) {
            Text(String(repeating: "•", count: pin.count)).font(.largeTitle).frame(height: 44)
            ForEach([["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["⌫", "0", "OK"]], id: \.self) { row in
                HStack(spacing: 12) {
                    ForEach(row, id: \.self) { key in
                        Button(key) { press(key) }
                            .frame(width: 72, height: 52)
                            .background(Color.secondary.opacity(0.15))
                            .clipShape(RoundedRectangle(cornerRadius: 8))
                    }
                }
            }
            Button("Unlock with Face ID / Touch ID") { model.unlockWithBiometrics() }
                .disabled(!model.biometricsEnabled)
        }
    }

    private var form: some View {
        VStack(spacing: 12) {
            TextField("Station (e.g. station-4)", text: $station).textFieldStyle(.roundedBorder)
            TextField("Inspection result", text: $note).textFieldStyle(.roundedBorder)
            Button("Save inspection") { model.save(station: station, note: note); note = "" }
                .disabled(station.isEmpty)
            Button("Sync now (\(model.pending) waiting)") { model.sync() }.disabled(!model.online)
            Button("Turn on Face ID / Touch ID") { model.enableBiometrics() }
            Button("Lock") { model.lock() }
        }
    }

    private func press(_ key: String) {
        switch key {
        case "⌫": if !pin.isEmpty { pin.removeLast() }
        case "OK": model.submit(pin: pin); pin = ""
        default: if pin.count < 12 { pin.append(key) }
        }
    }
}
