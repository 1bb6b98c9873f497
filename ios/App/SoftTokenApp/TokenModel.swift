import Foundation
import SoftToken
import UIKit
import UniformTypeIdentifiers

/// The screen's state: the tokens with their codes, or why the store cannot be read.
/// The vault comes from the start (`StartModel`), which provisioned it from the service.
@MainActor
final class TokenModel: ObservableObject {
    enum Phase { case loading, ready, unreadable(String) }

    struct Card: Identifiable {
        let token: TokenInfo
        let code: Code?
        var id: String { token.serial }
    }

    @Published private(set) var phase: Phase = .loading
    @Published private(set) var cards: [Card] = []
    @Published var message: String?
    private var vault: TokenVault?
    private var start: StartModel?

    /// Shows the vault the start opened; `provisioned` is the token the service issued on this start (T2).
    func start(vault: TokenVault, start: StartModel) async {
        self.vault = vault
        self.start = start
        if let token = start.provisioned {
            message = String(localized: "Your token \(token.displaySerial) is ready. Register it with \(start.config.names.bank).")
        }
        phase = .ready
        await refresh()
    }

    /// Recomputes the codes (once a second): the whole screen from the core in one call, at one moment of
    /// the vault's own clock (its offset applied). Counter-based codes are drawn only on demand.
    func refresh() async {
        guard let vault else { return }
        if let all = try? await vault.currentCards() {
            cards = all.map { Card(token: $0.token, code: $0.code) }
        } else {
            // The clock cannot be read: the tokens without codes rather than no screen.
            cards = await vault.allTokens().map { Card(token: $0, code: nil) }
        }
    }

    /// Copies a code: local to this device, gone from the pasteboard after 60 seconds.
    func copyCode(_ card: Card) {
        guard let vault, let value = card.code?.value ?? (try? vault.code(serial: card.token.serial).value) else { return }
        UIPasteboard.general.setItems([[UTType.plainText.identifier: value]],
                                      options: [.localOnly: true, .expirationDate: Date().addingTimeInterval(60)])
        message = String(localized: "Security code copied; it is cleared from the clipboard in 60 seconds")
    }

    /// Copies the serial for the bank's form (T4) without spaces: a 12-character field would cut the grouped form. Not secret.
    func copySerial(_ card: Card) {
        UIPasteboard.general.string = card.token.serial
        message = String(localized: "Serial number copied")
    }

    func importUri(_ uri: String) async { await act { vault in
        let added = try vault.importUri(uri: uri.trimmingCharacters(in: .whitespacesAndNewlines))
        return String(localized: "Added \(added.map(\.displaySerial).joined(separator: ", "))")
    } }

    func delete(_ card: Card) async { await act { vault in
        let gone = try vault.delete(serial: card.token.serial)
        return String(localized: "Deleted \(gone.displaySerial)")
    } }

    /// A new token from the service in place of this one (the old one stays if the service cannot be reached).
    func reissue(_ card: Card) async {
        guard let start else { return }
        let bank = start.config.names.bank
        let startup = start.startup
        let serial = card.token.serial
        await act { _ in
            let renewed = try startup.reissue(serial: serial)
            return String(localized: "Your new token is \(renewed.displaySerial). Register it with \(bank).")
        }
    }

    func setClockOffset(_ seconds: Int64) async {
        await act { vault in
            try vault.setClockOffset(seconds: seconds)
            return String(localized: "Clock correction set to \(seconds) s")
        }
        start?.clock = .manual(vault?.clockOffset() ?? seconds)
    }

    /// Re-reads the service's time (settings).
    func syncClock() async {
        guard let status = await start?.syncClock() else { return }
        switch status {
        case let .notSynced(_, detail): message = String(localized: "Could not read the token service's time: \(detail)")
        default: message = String(localized: "Clock correction set from the token service: \(status.offsetSeconds) s")
        }
        await refresh()
    }

    /// Runs the store or network work off the main thread, then shows its message.
    private func act(_ action: @escaping @Sendable (TokenVault) throws -> String) async {
        guard let vault else { return }
        let result = await Task.detached(priority: .userInitiated) { Result { try action(vault) } }.value
        switch result {
        case let .success(text):
            message = text
        case let .failure(error as SoftTokenError):
            message = String(localized: "That did not work: \(error.message)")
        case let .failure(error):
            message = String(localized: "That did not work: \(error.localizedDescription)")
        }
        await refresh()
    }
}

private extension TokenVault {
    /// The screen (every token with its current code), read off the main thread: the store may be slow to answer.
    func currentCards() async throws -> [TokenCard] {
        try await Task.detached(priority: .userInitiated) { [self] in try cards() }.value
    }
}
