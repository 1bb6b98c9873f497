import Foundation
import SoftToken
import XCTest
@testable import SoftTokenApp

/// A SecureStore over a dictionary, standing in for the Keychain (whose items survive deleting the app).
final class MemoryKeychain: SecureStore, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var items: [String: Data] = [:]
    func read(key: String) throws -> Data? { lock.lock(); defer { lock.unlock() }; return items[key] }
    func write(key: String, value: Data) throws { lock.lock(); defer { lock.unlock() }; items[key] = value }
    func delete(key: String) throws { lock.lock(); defer { lock.unlock() }; items[key] = nil }
    func clearAll() { lock.lock(); defer { lock.unlock() }; items = [:] }
}

/// The marker as UserDefaults keeps it, in memory.
final class MemoryMarker: InstallMarker {
    var present: Bool
    init(_ present: Bool = false) { self.present = present }
    func isSet() -> Bool { present }
    func set() { present = true }
}

/// The service's app side in memory (POST /v1/tokens, GET /v1/time), minting with a real
/// Verifier on the service's clock, so a test can check that the bank accepts the codes.
final class FakeService: HttpTransport, Clock, @unchecked Sendable {
    enum Mode { case issue, offline, rateLimited, garbled }
    var mode = Mode.issue
    var skew: Int64 = 0
    var requests: [String] = []
    lazy var bank = Verifier(clock: self)

    func nowUnixSeconds() throws -> UInt64 { UInt64(Int64(Date().timeIntervalSince1970) + skew) }

    func post(url: String, body: Data) throws -> HttpResponse {
        requests.append("POST \(url) \(String(decoding: body, as: UTF8.self))")
        switch mode {
        case .offline:
            throw HostError.Failed(reason: "The Internet connection appears to be offline.")
        case .rateLimited:
            return HttpResponse(status: 429, body: Data(#"{"error":"too many tokens; try again in 7 s","retry_after":7}"#.utf8), retryAfterSeconds: 7)
        case .garbled:
            return HttpResponse(status: 201, body: Data("<html>captive portal</html>".utf8), retryAfterSeconds: nil)
        case .issue:
            let token = try bank.issueToken(prefix: "SSTI")
            let secret = token.keyUri.components(separatedBy: "secret=")[1].components(separatedBy: "&")[0]
            let json = #"{"serial":"\#(token.serial)","secret":"\#(secret)","algorithm":"SHA1","digits":6,"period":30,"key_uri":"\#(token.keyUri)","server_time":\#(try nowUnixSeconds())}"#
            return HttpResponse(status: 201, body: Data(json.utf8), retryAfterSeconds: nil)
        }
    }

    func get(url: String) throws -> HttpResponse {
        requests.append("GET \(url)")
        if mode == .offline { throw HostError.Failed(reason: "offline") }
        return HttpResponse(status: 200, body: Data(#"{"server_time":\#(try nowUnixSeconds())}"#.utf8), retryAfterSeconds: nil)
    }
}

final class StartupTests: XCTestCase {
    let url = "https://token.example.jp"

    func startup(_ keychain: MemoryKeychain, _ service: FakeService, marker: MemoryMarker = MemoryMarker()) -> Startup {
        Startup(firstRun: FirstRun(marker: marker, clearLeftovers: { keychain.clearAll() }),
                openVault: { try TokenVault.withPrefix(store: keychain, clock: nil, prefix: iosPrefix()) },
                serviceURL: url, transport: service, allowLoopbackCleartext: false)
    }

    func testFirstStartProvisionsAnIosTokenTheBankAccepts() throws {
        let service = FakeService()
        service.skew = 120
        var progress: [String] = []
        let state = startup(MemoryKeychain(), service).run { progress.append("\($0)") }
        guard case let .ready(vault, provisioned?, .synced(offset)) = state else { return XCTFail("\(state)") }
        XCTAssertEqual(progress, ["provisioning"])
        XCTAssertEqual(iosPrefix(), "SSTI")
        XCTAssertEqual(service.requests.first, #"POST https://token.example.jp/v1/tokens {"platform":"ios"}"#)
        XCTAssertLessThanOrEqual(abs(offset - 120), 2)
        let code = try vault.code(serial: provisioned.serial).value
        XCTAssertEqual(try service.bank.register(contract: "c", serial: provisioned.serial, code: code), .accepted)
    }

    func testOfflineStoresNothingAndRetryProvisions() throws {
        let service = FakeService()
        service.mode = .offline
        let keychain = MemoryKeychain()
        let start = startup(keychain, service)
        guard case .offline = start.run() else { return XCTFail("not offline") }
        XCTAssertTrue(try TokenVault(store: keychain, clock: nil).tokens().isEmpty)
        service.mode = .issue
        guard case .ready(_, _?, _) = start.run() else { return XCTFail("retry did not provision") }
    }

    func testRateLimitedAndGarbledAreStates() {
        let service = FakeService()
        service.mode = .rateLimited
        guard case .rateLimited = startup(MemoryKeychain(), service).run() else { return XCTFail("not rate limited") }
        service.mode = .garbled
        guard case .serviceFailed = startup(MemoryKeychain(), service).run() else { return XCTFail("not failed") }
    }

    func testAReinstallNeverBringsBackTheOldSerial() throws {
        let service = FakeService()
        let keychain = MemoryKeychain()
        guard case let .ready(_, old?, _) = startup(keychain, service).run() else { return XCTFail("no first token") }
        // Deleting the app removed its defaults (the marker), not the Keychain items.
        guard case let .ready(vault, fresh?, _) = startup(keychain, service, marker: MemoryMarker(false)).run() else { return XCTFail("no new token") }
        XCTAssertNotEqual(old.serial, fresh.serial)
        XCTAssertFalse(vault.tokens().contains { $0.serial == old.serial })
        // The same installation started again keeps its token and re-reads the service's time.
        service.skew = -300
        guard case let .ready(again, nil, .synced(offset)) = startup(keychain, service, marker: MemoryMarker(true)).run() else { return XCTFail("not ready") }
        XCTAssertEqual(again.tokens().map(\.serial), [fresh.serial])
        XCTAssertLessThanOrEqual(abs(offset + 300), 2)
    }

    func testReissueGetsANewTokenFromTheServiceAndKeepsTheOldWhenOffline() throws {
        let service = FakeService()
        let keychain = MemoryKeychain()
        let start = startup(keychain, service)
        guard case let .ready(vault, first?, _) = start.run() else { return XCTFail("no first token") }
        service.mode = .offline
        XCTAssertThrowsError(try start.reissue(serial: first.serial))
        XCTAssertEqual(vault.tokens().map(\.serial), [first.serial])
        service.mode = .issue
        let fresh = try start.reissue(serial: first.serial)
        XCTAssertNotEqual(fresh.serial, first.serial)
        XCTAssertEqual(vault.tokens().map(\.serial), [fresh.serial])
        XCTAssertEqual(try service.bank.register(contract: "c2", serial: fresh.serial, code: try vault.code(serial: fresh.serial).value), .accepted)
    }

    func testServiceURLs() throws {
        XCTAssertEqual(try ServiceURL.check("https://token.example.jp/", allowLoopbackCleartext: false), "https://token.example.jp")
        XCTAssertEqual(try ServiceURL.check("http://localhost:8080", allowLoopbackCleartext: true), "http://localhost:8080")
        for (bad, dev) in [("http://localhost:8080", false), ("http://token.example.jp", true), ("http://127.0.0.1.example.jp", true), ("ftp://x.jp", true), ("https://x.jp/?a=1", false)] {
            XCTAssertThrowsError(try ServiceURL.check(bad, allowLoopbackCleartext: dev), bad)
        }
    }

    func testHelpNamesTheBankTheBuildSets() {
        let shinkin = BankNames.of(language: "ja", bankEn: "", branchEn: "", bankJa: "当金庫", branchJa: "お取引店舗")
        XCTAssertEqual(shinkin, BankNames(bank: "当金庫", branch: "お取引店舗"))
        XCTAssertEqual(BankNames.of(language: "fr", bankEn: "", branchEn: "", bankJa: "当金庫", branchJa: ""), .genericEn)
        let sections = HelpContent.sections(shinkin, lockoutTries: 10)
        XCTAssertEqual(sections.map(\.id), ["register", "locked", "lost", "change", "gone", "discard", "cautions"])
        let all = sections.flatMap { [$0.title] + $0.paragraphs }.joined(separator: "\n")
        XCTAssertTrue(all.contains("当金庫"), all)
        XCTAssertTrue(all.contains("10"), all)
        XCTAssertFalse(all.contains("%"), all)
        let warning = HelpContent.reissueWarning("SSTI 1234 5678", shinkin)
        XCTAssertTrue(warning.contains("SSTI 1234 5678") && warning.contains("当金庫") && warning.contains("お取引店舗"), warning)
    }
}
