import SoftToken
import SwiftUI

/// The one screen: the serial and the code, redrawn every second. It draws; the core decides.
struct ContentView: View {
    @ObservedObject var model: TokenModel
    @ObservedObject var start: StartModel
    @State private var importing = false
    @State private var importText = ""
    @State private var settings = false
    @State private var offsetText = "0"
    @State private var confirmDelete: TokenModel.Card?
    @State private var confirmReissue: TokenModel.Card?
    private let ticker = Timer.publish(every: 1, on: .main, in: .common).autoconnect()

    var body: some View {
        NavigationStack {
            content
                .navigationTitle("softtoken")
                .toolbar {
                    NavigationLink { HelpView(config: start.config) } label: { Label("Help", systemImage: "questionmark.circle") }
                    if case .ready = model.phase {
                        Button { importing = true } label: { Label("Add an account", systemImage: "plus") }
                        Button {
                            // The manual correction starts at the offset in force now.
                            offsetText = String(start.clock?.offsetSeconds ?? 0)
                            settings = true
                        } label: { Label("Settings", systemImage: "gearshape") }
                    }
                }
        }
        .onReceive(ticker) { _ in Task { await model.refresh() } }
        .alert("Add an account", isPresented: $importing) {
            // The key URI holds a secret: no autocorrection, no capitalisation, no suggestions learnt from it.
            TextField("Paste an otpauth:// link", text: $importText)
                .autocorrectionDisabled()
                .textInputAutocapitalization(.never)
                .keyboardType(.URL)
            Button("Add") { Task { await model.importUri(importText); importText = "" } }
            Button("Cancel", role: .cancel) {}
        }
        .alert("Settings", isPresented: $settings) {
            TextField("Clock correction (seconds)", text: $offsetText)
                .keyboardType(.numbersAndPunctuation)
                .autocorrectionDisabled()
            Button("Save") { if let s = Int64(offsetText.trimmingCharacters(in: .whitespaces)) { Task { await model.setClockOffset(s) } } }
            Button("Set from the service") { Task { await model.syncClock() } }
            Button("Cancel", role: .cancel) {}
        } message: {
            Text(clockDescription + "\n" + String(localized: "Negative when this phone's clock is fast"))
        }
        .alert("Delete this token?", isPresented: Binding(get: { confirmDelete != nil }, set: { if !$0 { confirmDelete = nil } }), presenting: confirmDelete) { card in
            Button("Delete", role: .destructive) { Task { await model.delete(card) } }
            Button("Cancel", role: .cancel) {}
        } message: { card in
            Text(verbatim: HelpContent.deleteWarning(card.token.displaySerial, start.config.names))
        }
        .alert("Issue a new token?", isPresented: Binding(get: { confirmReissue != nil }, set: { if !$0 { confirmReissue = nil } }), presenting: confirmReissue) { card in
            Button("Issue a new token", role: .destructive) { Task { await model.reissue(card) } }
            Button("Cancel", role: .cancel) {}
        } message: { card in
            Text(verbatim: HelpContent.reissueWarning(card.token.displaySerial, start.config.names))
        }
    }

    /// The clock offset as it stands and where it came from.
    private var clockDescription: String {
        guard let clock = start.clock else { return "" }
        let source: String
        switch clock {
        case .synced: source = String(localized: "Set from the token service's time")
        case let .notSynced(_, detail): source = String(localized: "Not set from the service: \(detail)")
        case .manual: source = String(localized: "Set by hand")
        }
        return String(localized: "Clock correction: \(clock.offsetSeconds) s") + "\n" + source
    }

    @ViewBuilder private var content: some View {
        switch model.phase {
        case .loading:
            ProgressView()
        case let .unreadable(detail):
            VStack(alignment: .leading, spacing: 12) {
                Text("The token store cannot be read").font(.title2)
                Text("Your tokens were left untouched. Do not delete the app: contact \(start.config.names.bank), and reinstall only after \(start.config.names.branch) has re-issued your token.")
                Text(detail).font(.footnote).foregroundStyle(.secondary)
            }.padding()
        case .ready:
            List {
                ForEach(model.cards) { card in
                    TokenCardView(card: card, model: model, onDelete: { confirmDelete = card }, onReissue: { confirmReissue = card })
                }
                if let message = model.message {
                    Text(message).font(.footnote).foregroundStyle(.secondary)
                }
            }
        }
    }
}

private struct TokenCardView: View {
    let card: TokenModel.Card
    @ObservedObject var model: TokenModel
    let onDelete: () -> Void
    let onReissue: () -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(card.token.title).font(.headline)
            Text("Serial number").font(.caption).foregroundStyle(.secondary)
            HStack {
                Text(card.token.displaySerial)
                    .font(.title3.monospaced())
                    .textSelection(.enabled)
                    .accessibilityLabel(card.token.spokenSerial)
                Spacer()
                Button("Copy serial number") { model.copySerial(card) }.buttonStyle(.borderless)
            }
            Text("Security code").font(.caption).foregroundStyle(.secondary)
            if let code = card.code, let left = code.secondsLeft, let remaining = code.remaining {
                HStack {
                    Text(code.groupedValue)
                        .font(card.token.issuedHere ? .largeTitle.monospaced().weight(.semibold) : .title.monospaced())
                        .accessibilityLabel(code.spokenValue)
                        .accessibilityHint("Tap the code to copy it")
                        .onTapGesture { model.copyCode(card) }
                    Spacer()
                    ZStack {
                        Circle().stroke(.quaternary, lineWidth: 5)
                        Circle().trim(from: 0, to: remaining)
                            .stroke(code.ending ? Color.red : Color.accentColor, style: StrokeStyle(lineWidth: 5, lineCap: .round))
                            .rotationEffect(.degrees(-90))
                        Text(left, format: .number).font(.caption.monospacedDigit())
                    }
                    .frame(width: 48, height: 48)
                    .accessibilityElement()
                    .accessibilityLabel("\(Int(left)) seconds left")
                }
                Text("Next: \(code.groupedNextValue)").font(.callout).foregroundStyle(.secondary)
            } else {
                Button("Counter-based: tap for the next code") { model.copyCode(card) }
            }
        }
        .swipeActions {
            Button("Delete", role: .destructive, action: onDelete)
            if card.token.issuedHere { Button("Issue a new token", action: onReissue) }
        }
    }
}
