import SwiftUI

/// The start before the token screen: progress, or why there is no token yet, with a retry.
struct StartView: View {
    @ObservedObject var start: StartModel

    var body: some View {
        VStack(spacing: 16) {
            switch start.state {
            case .opening:
                ProgressView()
                Text("Opening your token…")
            case .provisioning:
                ProgressView()
                Text("Getting your token from the token service…")
            case let .offline(detail):
                failure(title: Text("No connection to the token service"),
                        body: Text("This app gets its serial number from the token service the first time it starts. Connect to the internet and try again; nothing was stored."),
                        detail: detail)
            case let .rateLimited(detail):
                failure(title: Text("The token service asks you to wait"), body: nil, detail: detail)
            case let .serviceFailed(detail):
                failure(title: Text("The token service did not answer as expected"),
                        body: Text("Nothing was stored. Try again later; if it keeps happening, contact \(start.config.names.bank)."),
                        detail: detail)
            case let .unreadable(detail):
                Text("The token store cannot be read").font(.title2)
                Text("Your tokens were left untouched. Do not delete the app: contact \(start.config.names.bank), and reinstall only after \(start.config.names.branch) has re-issued your token.")
                Text(detail).font(.footnote).foregroundStyle(.secondary)
            case .ready:
                EmptyView()
            }
        }
        .padding()
    }

    @ViewBuilder private func failure(title: Text, body: Text?, detail: String) -> some View {
        title.font(.title2)
        body
        Text(detail).font(.footnote).foregroundStyle(.secondary)
        Button("Try again") { Task { await start.run() } }.buttonStyle(.borderedProminent)
    }
}

/// Covers the screen while the scene is not active, so the app switcher's snapshot shows no code.
struct PrivacyCover: View {
    var body: some View {
        ZStack {
            Rectangle().fill(.background)
            Image(systemName: "lock.shield").font(.system(size: 64)).foregroundStyle(.secondary)
        }
        .ignoresSafeArea()
        .accessibilityHidden(true)
    }
}
