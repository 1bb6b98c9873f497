import SwiftUI

@main
struct SoftTokenApp: App {
    var body: some Scene {
        WindowGroup {
            RootView()
        }
    }
}

/// The start (provisioning, offline and retry), then the token screen; a privacy cover
/// whenever the scene is not active (the app switcher's snapshot is taken then).
struct RootView: View {
    @StateObject private var start = StartModel()
    @StateObject private var model = TokenModel()
    @Environment(\.scenePhase) private var scenePhase

    var body: some View {
        ZStack {
            if let vault = start.vault {
                ContentView(model: model, start: start)
                    .task { await model.start(vault: vault, start: start) }
            } else {
                StartView(start: start)
            }
            if scenePhase != .active {
                PrivacyCover()
            }
        }
        .task { await start.run() }
    }
}
