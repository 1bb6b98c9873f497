import SwiftUI

@main
struct SoftTokenApp: App {
    @StateObject private var model = TokenModel()

    var body: some Scene {
        WindowGroup {
            ContentView(model: model)
        }
    }
}
