// The native layer over the generated bindings (Generated/SoftToken.swift):
// errors that read as the core's message, a code as digits for VoiceOver,
// and async helpers for SwiftUI. No logic of its own: the core decides.
import Foundation

public extension SoftTokenError {
    /// The core's message, written for a person ("secret is 8 bytes; at least 10 are needed …").
    var message: String {
        switch self {
        case let .InvalidSecret(message), let .InvalidSerial(message), let .InvalidUri(message),
             let .InvalidParameter(message), let .NotFound(message), let .AlreadyPresent(message),
             let .NotAllowed(message), let .Store(message), let .CorruptStore(message),
             let .Clock(message), let .Random(message), let .Offline(message), let .RateLimited(message),
             let .BadResponse(message), let .ServiceRefused(message):
            return message
        }
    }
}

public extension HostError {
    /// What the host said went wrong.
    var message: String {
        switch self {
        case let .Failed(reason): return reason
        }
    }
}

/// A code spelled digit by digit ("2 8 7 0 8 2"), for VoiceOver to read.
public func spokenDigits(_ code: String) -> String {
    code.map(String.init).joined(separator: " ")
}

public extension TokenVault {
    /// The current code, computed off the main thread (the store may be slow to answer).
    func currentCode(serial: String) async throws -> Code {
        try await Task.detached(priority: .userInitiated) { [self] in try code(serial: serial) }.value
    }

    /// All tokens, read off the main thread.
    func allTokens() async -> [TokenInfo] {
        await Task.detached(priority: .userInitiated) { [self] in tokens() }.value
    }
}
