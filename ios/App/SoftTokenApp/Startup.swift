import Foundation
import SoftToken

/// A flag that lives and dies with the app's installation (the app's UserDefaults),
/// unlike Keychain items, which survive deleting the app.
protocol InstallMarker {
    /// True once this installation has started before.
    func isSet() -> Bool
    /// Records that this installation has started.
    func set()
}

/// The marker in the app's UserDefaults: removed with the app, so a reinstall starts without it.
struct DefaultsMarker: InstallMarker {
    var defaults: UserDefaults = .standard
    var key = "dev.softtoken.installed"
    func isSet() -> Bool { defaults.bool(forKey: key) }
    func set() { defaults.set(true, forKey: key) }
}

/// T5 on a reinstall: the first start of an installation clears what a previous one left
/// in the Keychain before the vault opens, so the old serial never comes back; the marker
/// is written only after the clearing succeeded.
struct FirstRun {
    let marker: InstallMarker
    let clearLeftovers: () throws -> Void

    enum Outcome { case knownInstall, firstStart }

    /// Call before opening the vault; when it throws, the vault must not be opened.
    func prepare() throws -> Outcome {
        if marker.isSet() { return .knownInstall }
        try clearLeftovers()
        marker.set()
        return .firstStart
    }
}

/// How the clock offset stands, as the settings screen shows it.
enum ClockStatus: Equatable {
    /// Set from the service's time on this start or on demand.
    case synced(Int64)
    /// The service's time could not be read: the stored offset stays, the detail says why.
    case notSynced(Int64, String)
    /// Set by hand.
    case manual(Int64)

    var offsetSeconds: Int64 {
        switch self {
        case let .synced(s), let .notSynced(s, _), let .manual(s): return s
        }
    }
}

/// The app's start, before the token screen.
enum StartState {
    case opening
    case provisioning
    /// No connection to the service: say so, offer a retry; nothing stored.
    case offline(String)
    /// The service asked to wait (429); nothing stored.
    case rateLimited(String)
    /// The service refused or did not answer as the service does; nothing stored.
    case serviceFailed(String)
    /// The store cannot be read or the build's service URL is unusable.
    case unreadable(String)
    /// The vault holds this installation's token.
    case ready(TokenVault, provisioned: TokenInfo?, clock: ClockStatus)
}

/// The service's address as the build sets it: HTTPS, or plain HTTP to this device's loopback in development builds.
enum ServiceURL {
    static func check(_ url: String, allowLoopbackCleartext: Bool) throws -> String {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        guard let parts = URLComponents(string: trimmed), let host = parts.host, !host.isEmpty else {
            throw StartupError.badServiceURL("the service URL \"\(url)\" is not a URL with a host")
        }
        switch parts.scheme?.lowercased() {
        case "https": break
        case "http" where allowLoopbackCleartext && isLoopback(host): break
        default:
            throw StartupError.badServiceURL("the service URL \"\(url)\" is not HTTPS (plain HTTP is allowed to this device's loopback in development builds only)")
        }
        guard parts.query == nil, parts.fragment == nil else {
            throw StartupError.badServiceURL("the service URL \"\(url)\" must not have a query or fragment")
        }
        var out = trimmed
        while out.hasSuffix("/") { out.removeLast() }
        return out
    }

    /// localhost, 127.0.0.0/8 and ::1.
    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

enum StartupError: Error {
    case badServiceURL(String)
    case notStarted
    case notThisInstallationsToken(String)
}

/// The app's start, free of UIKit: first start of an installation clears leftovers (T5),
/// the vault opens, a vault without the service's token provisions one through the FFI (T2),
/// and otherwise the clock offset is re-read from the service. Blocking: call it off the
/// main thread (the app runs it in a detached task), one call at a time.
final class Startup: @unchecked Sendable {
    private let firstRun: FirstRun
    private let openVault: () throws -> TokenVault
    private let serviceURL: String
    private let transport: HttpTransport
    private let allowLoopbackCleartext: Bool
    private var vault: TokenVault?

    init(firstRun: FirstRun, openVault: @escaping () throws -> TokenVault, serviceURL: String,
         transport: HttpTransport, allowLoopbackCleartext: Bool) {
        self.firstRun = firstRun
        self.openVault = openVault
        self.serviceURL = serviceURL
        self.transport = transport
        self.allowLoopbackCleartext = allowLoopbackCleartext
    }

    /// Runs the start (again, as the retry); `progress` sees `.provisioning` before the request goes out.
    func run(progress: (StartState) -> Void = { _ in }) -> StartState {
        let url: String
        do {
            url = try ServiceURL.check(serviceURL, allowLoopbackCleartext: allowLoopbackCleartext)
        } catch let StartupError.badServiceURL(detail) {
            return .unreadable(detail)
        } catch {
            return .unreadable(String(describing: error))
        }
        let v: TokenVault
        if let opened = vault {
            v = opened
        } else {
            do {
                _ = try firstRun.prepare()
                v = try openVault()
                vault = v
            } catch let error as SoftTokenError {
                return .unreadable(error.message)
            } catch {
                return .unreadable(error.localizedDescription)
            }
        }
        if v.tokens().contains(where: Self.isServiceToken) {
            return .ready(v, provisioned: nil, clock: syncClock(v, url))
        }
        progress(.provisioning)
        do {
            let token = try v.provision(serviceUrl: url, transport: transport)
            return .ready(v, provisioned: token, clock: .synced(v.clockOffset()))
        } catch let SoftTokenError.Offline(message) {
            return .offline(message)
        } catch let SoftTokenError.RateLimited(message) {
            return .rateLimited(message)
        } catch let error as SoftTokenError {
            return .serviceFailed(error.message)
        } catch {
            return .serviceFailed(error.localizedDescription)
        }
    }

    /// Replaces this installation's token with a new one from the service (a new serial, T5):
    /// the new token is stored before the old one is deleted, so a failure leaves the old one.
    func reissue(serial: String) throws -> TokenInfo {
        guard let v = vault else { throw StartupError.notStarted }
        let url = try ServiceURL.check(serviceURL, allowLoopbackCleartext: allowLoopbackCleartext)
        guard let old = v.tokens().first(where: { $0.serial == serial && Self.isServiceToken($0) }) else {
            throw StartupError.notThisInstallationsToken(serial)
        }
        let fresh = try v.provision(serviceUrl: url, transport: transport)
        _ = try v.delete(serial: old.serial)
        return fresh
    }

    /// Re-reads the service's time (the settings screen's button); nil before the vault is open.
    func syncClock() -> ClockStatus? {
        guard let v = vault else { return nil }
        guard let url = try? ServiceURL.check(serviceURL, allowLoopbackCleartext: allowLoopbackCleartext) else {
            return .notSynced(v.clockOffset(), "the service URL is unusable")
        }
        return syncClock(v, url)
    }

    private func syncClock(_ v: TokenVault, _ url: String) -> ClockStatus {
        do {
            return .synced(try v.syncTime(serviceUrl: url, transport: transport))
        } catch let error as SoftTokenError {
            return .notSynced(v.clockOffset(), error.message)
        } catch {
            return .notSynced(v.clockOffset(), error.localizedDescription)
        }
    }

    /// The token the service issued to this installation (the bank's token).
    static func isServiceToken(_ token: TokenInfo) -> Bool { token.issuedHere }
}
