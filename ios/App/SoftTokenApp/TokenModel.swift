import Foundation
import SoftToken
import UIKit
import UniformTypeIdentifiers

/// The screen's state: the tokens with their codes, or why the store cannot be read.
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

    /// Opens the vault in the Keychain; on first start issues the token (T2).
    func start() async {
        do {
            let vault = try TokenVault.withPrefix(store: KeychainStore(), clock: nil, prefix: "SSTI")
            self.vault = vault
            if !vault.tokens().contains(where: \.issuedHere) {
                let token = try vault.issue()
                message = String(localized: "Your token \(token.displaySerial) is ready. Register it with your bank.")
            }
            phase = .ready
            await refresh()
        } catch let error as SoftTokenError {
            phase = .unreadable(error.message)
        } catch {
            phase = .unreadable(error.localizedDescription)
        }
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

    /// Copies the serial for the bank's form (T4): not secret.
    func copySerial(_ card: Card) {
        UIPasteboard.general.string = card.token.displaySerial
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

    func reissue(_ card: Card) async { await act { vault in
        let renewed = try vault.reissue(serial: card.token.serial)
        return String(localized: "Your new token is \(renewed.displaySerial). Register it with your bank.")
    } }

    func setClockOffset(_ seconds: Int64) async { await act { vault in
        try vault.setClockOffset(seconds: seconds)
        return String(localized: "Clock correction set to \(seconds) s")
    } }

    private func act(_ action: (TokenVault) throws -> String) async {
        guard let vault else { return }
        do {
            message = try action(vault)
        } catch let error as SoftTokenError {
            message = String(localized: "That did not work: \(error.message)")
        } catch {
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
