import Foundation
import SoftToken

/// The app's start for SwiftUI: runs `Startup` off the main thread, publishes its states,
/// and keeps the clock status for the settings screen.
@MainActor
final class StartModel: ObservableObject {
    @Published private(set) var state: StartState = .opening
    @Published var clock: ClockStatus?
    let config: AppConfig
    /// The start's logic, also used for re-issue (a new token from the service).
    let startup: Startup

    init(config: AppConfig = .fromBundle()) {
        self.config = config
        let store = KeychainStore()
        startup = Startup(
            firstRun: FirstRun(marker: DefaultsMarker(), clearLeftovers: { try store.clearAll() }),
            openVault: { try TokenVault.withPrefix(store: store, clock: nil, prefix: iosPrefix()) },
            serviceURL: config.serviceURL,
            transport: URLSessionTransport(),
            allowLoopbackCleartext: config.allowLoopbackCleartext
        )
    }

    /// The vault once the start is ready.
    var vault: TokenVault? {
        if case let .ready(vault, _, _) = state { return vault }
        return nil
    }

    /// The token the service issued on this start, if it did.
    var provisioned: TokenInfo? {
        if case let .ready(_, provisioned, _) = state { return provisioned }
        return nil
    }

    /// Runs the start (first start: provisioning); again as the retry.
    func run() async {
        state = .opening
        let startup = self.startup
        let result = await Task.detached(priority: .userInitiated) {
            startup.run { progress in
                // Shown only while nothing newer has arrived.
                Task { @MainActor [weak self] in
                    if case .opening = self?.state { self?.state = progress }
                }
            }
        }.value
        if case let .ready(_, _, clock) = result { self.clock = clock }
        state = result
    }

    /// Re-reads the service's time (the settings screen's button).
    func syncClock() async -> ClockStatus? {
        let startup = self.startup
        let status = await Task.detached(priority: .userInitiated) { startup.syncClock() }.value
        if let status { clock = status }
        return status
    }
}
