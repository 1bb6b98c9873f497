import Foundation
import Network
import XCTest
@testable import SoftToken

/// Declines every redirect: a redirect is not the service's answer (a captive portal, a wrong URL).
final class NoRedirects: NSObject, URLSessionTaskDelegate {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// HttpTransport over URLSession, as the app writes it: every answer returned, whatever its status;
/// HostError only when there is no answer at all. The core calls it off the main thread, so it waits.
final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let session: URLSession

    init() {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 20
        session = URLSession(configuration: config, delegate: NoRedirects(), delegateQueue: nil)
    }

    func post(url: String, body: Data) throws -> HttpResponse {
        var request = try URLSessionTransport.request(url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        return try send(request)
    }

    func get(url: String) throws -> HttpResponse {
        try send(URLSessionTransport.request(url))
    }

    static func request(_ url: String) throws -> URLRequest {
        guard let u = URL(string: url) else { throw HostError.Failed(reason: "'\(url)' is not a URL") }
        var request = URLRequest(url: u)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        return request
    }

    private func send(_ request: URLRequest) throws -> HttpResponse {
        let done = DispatchSemaphore(value: 0)
        var answer: Result<HttpResponse, Error> = .failure(HostError.Failed(reason: "no answer"))
        session.dataTask(with: request) { data, response, error in
            if let http = response as? HTTPURLResponse {
                let retry = (http.value(forHTTPHeaderField: "Retry-After")).flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
                answer = .success(HttpResponse(status: UInt16(http.statusCode), body: data ?? Data(), retryAfterSeconds: retry))
            } else {
                answer = .failure(HostError.Failed(reason: error?.localizedDescription ?? "no HTTP answer"))
            }
            done.signal()
        }.resume()
        done.wait()
        return try answer.get()
    }
}

/// The real softtoken-server on a free loopback port, its SQLite database in a temporary directory.
/// The binary comes from SOFTTOKEN_SERVER_BIN (`cargo build -p softtoken-server`).
final class RealServer {
    let process = Process()
    let url: String
    let dataDir: URL

    static func binary() throws -> URL {
        guard let path = ProcessInfo.processInfo.environment["SOFTTOKEN_SERVER_BIN"] else {
            throw HostError.Failed(reason: "set SOFTTOKEN_SERVER_BIN to a softtoken-server binary (cargo build -p softtoken-server)")
        }
        return URL(fileURLWithPath: path)
    }

    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("softtoken-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `softtoken-server add-bank NAME --json --data-dir DIR`: the bank's key.
    static func addBank(_ dataDir: URL, _ name: String) throws -> String {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = ["add-bank", name, "--json", "--data-dir", dataDir.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard p.terminationStatus == 0, let key = json?["bank_key"] as? String else {
            throw HostError.Failed(reason: "add-bank failed: \(String(decoding: data, as: UTF8.self))")
        }
        return key
    }

    init(dataDir: URL) throws {
        self.dataDir = dataDir
        process.executableURL = try RealServer.binary()
        process.arguments = ["--listen", "127.0.0.1:0", "--data-dir", dataDir.path]
        let out = Pipe()
        process.standardOutput = out
        let found = DispatchSemaphore(value: 0)
        var address: String?
        var buffer = ""
        let lock = NSLock()
        out.fileHandleForReading.readabilityHandler = { handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            lock.lock(); defer { lock.unlock() }
            guard address == nil else { return }
            buffer += chunk
            if let range = buffer.range(of: #"127\.0\.0\.1:[1-9][0-9]*"#, options: .regularExpression) {
                address = "http://" + buffer[range]
                found.signal()
            }
        }
        try process.run()
        let waited = found.wait(timeout: .now() + 60)
        lock.lock()
        let bound = address
        lock.unlock()
        guard waited == .success, let bound else {
            process.terminate()
            throw HostError.Failed(reason: "softtoken-server printed no 127.0.0.1:PORT address within 60 s")
        }
        url = bound
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dataDir)
    }
}

/// A tiny HTTP server answering every request with the same bytes.
final class Canned {
    private let listener: NWListener
    private(set) var requests = 0
    let url: String

    init(_ status: String, _ body: String, headers: String = "") throws {
        let params = NWParameters.tcp
        params.requiredLocalEndpoint = NWEndpoint.hostPort(host: "127.0.0.1", port: .any)
        listener = try NWListener(using: params)
        let reply = Data("HTTP/1.1 \(status)\r\n\(headers)Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
        let ready = DispatchSemaphore(value: 0)
        listener.stateUpdateHandler = { if case .ready = $0 { ready.signal() } }
        listener.newConnectionHandler = { [weak self] connection in
            connection.start(queue: .global())
            connection.receive(minimumIncompleteLength: 1, maximumLength: 65536) { _, _, _, _ in
                self?.requests += 1
                connection.send(content: reply, completion: .contentProcessed { _ in connection.cancel() })
            }
        }
        listener.start(queue: .global())
        _ = ready.wait(timeout: .now() + 10)
        url = "http://127.0.0.1:\(listener.port?.rawValue ?? 0)"
    }

    deinit { listener.cancel() }
}

/// First start online through the Swift bindings: the same tests as tests/kotlin/ProvisionTest.kt.
final class ProvisionTests: XCTestCase {
    let transport = URLSessionTransport()

    /// POSTs as the bank: the answer's outcome and the whole answer.
    func bank(_ server: RealServer, _ key: String, _ contract: String, _ action: String, _ body: [String: Any]) throws -> (String?, [String: Any]) {
        var request = try URLSessionTransport.request("\(server.url)/v1/contracts/\(contract)/\(action)")
        request.httpMethod = "POST"
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let done = DispatchSemaphore(value: 0)
        var json: [String: Any] = [:]
        URLSession.shared.dataTask(with: request) { data, _, _ in
            json = (data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }) ?? [:]
            done.signal()
        }.resume()
        done.wait()
        return (json["outcome"] as? String, json)
    }

    /// A 6-digit code that is none of the token's codes from 5 steps back to 5 ahead.
    func wrongCode(_ vault: TokenVault, _ serial: String) throws -> String {
        let uri = try vault.exportUri(serial: serial)
        let secret = String(uri.split(separator: "=")[1].split(separator: "&")[0])
        let now = UInt64(Date().timeIntervalSince1970)
        let near = try Set((-5...5).map { try generateTotp(secretBase32: secret, unixTime: UInt64(Int64(now) + Int64($0) * 30), algorithm: .sha1, digits: 6, period: 30).value })
        return (0..<1_000_000).lazy.map { String(format: "%06d", ($0 * 7919) % 1_000_000) }.first { !near.contains($0) }!
    }

    func testAProvisionedCodeIsAcceptedByTheBank() throws {
        let dir = try RealServer.tempDir()
        let key = try RealServer.addBank(dir, "Swift Bank")
        let server = try RealServer(dataDir: dir)
        defer { server.stop() }
        let store = MapStore()
        let vault = try TokenVault.withPrefix(store: store, clock: nil, prefix: "SSTI")
        let token = try vault.provision(serviceUrl: server.url, transport: transport)
        XCTAssertTrue(token.serial.hasPrefix("SSTI"))
        XCTAssertTrue(token.issuedHere)
        XCTAssertEqual(try TokenVault(store: store, clock: nil).tokens(), [token])
        XCTAssertEqual(vault.clockOffset(), 0)
        XCTAssertEqual(try vault.syncTime(serviceUrl: server.url, transport: transport), 0)

        let code = try vault.code(serial: token.serial)
        XCTAssertEqual(try bank(server, key, "S-1", "register", ["serial": token.serial, "code": code.value]).0, "accepted")
        XCTAssertEqual(try bank(server, key, "S-1", "login", ["code": code.nextValue]).0, "accepted")
        XCTAssertEqual(try bank(server, key, "S-1", "login", ["code": code.nextValue]).0, "replayed")
        let wrong = try wrongCode(vault, token.serial)
        var outcome: String?
        var tries = 0
        while outcome != "locked" && tries < 20 {
            let (o, answer) = try bank(server, key, "S-1", "login", ["code": wrong])
            outcome = o
            tries += 1
            if o != "locked" { XCTAssertEqual(o, "wrong_code", "\(answer)") }
        }
        XCTAssertEqual(outcome, "locked")
        XCTAssertGreaterThan(tries, 1)
        XCTAssertEqual(try bank(server, key, "S-1", "login", ["code": try vault.code(serial: token.serial).value]).0, "locked")
    }

    func testAFailingStoreKeepsTheVault() throws {
        let server = try RealServer(dataDir: try RealServer.tempDir())
        defer { server.stop() }
        let map = MapStore()
        let a = try TokenVault(store: map, clock: nil).provision(serviceUrl: server.url, transport: transport)
        let before = map.items
        let failing = try TokenVault(store: FailingWrites(map), clock: nil)
        XCTAssertThrowsError(try failing.provision(serviceUrl: server.url, transport: transport)) { e in
            guard case SoftTokenError.Store = e else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(failing.tokens(), [a])
        XCTAssertEqual(map.items, before)
    }

    func testServerDownIsOfflineAndStoresNothing() throws {
        let store = MapStore()
        let vault = try TokenVault(store: store, clock: nil)
        XCTAssertThrowsError(try vault.provision(serviceUrl: "http://127.0.0.1:9", transport: transport)) { e in
            guard case SoftTokenError.Offline(let message) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(message.hasPrefix("cannot reach the token service at http://127.0.0.1:9"), message)
        }
        XCTAssertThrowsError(try vault.syncTime(serviceUrl: "http://127.0.0.1:9", transport: transport))
        XCTAssertTrue(vault.tokens().isEmpty)
        XCTAssertTrue(store.items.isEmpty)
    }

    func testRateLimitedSaysWhenToTryAgain() throws {
        let canned = try Canned("429 Too Many Requests", #"{"error":"too many tokens from this address","retry_after":42}"#, headers: "Retry-After: 42\r\n")
        let store = MapStore()
        XCTAssertThrowsError(try TokenVault(store: store, clock: nil).provision(serviceUrl: canned.url, transport: transport)) { e in
            guard case SoftTokenError.RateLimited(let message) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(message.hasSuffix("try again in 42 s"), message)
        }
        XCTAssertTrue(store.items.isEmpty)
    }

    func testGarbledOrForeignAnswersAreRefused() throws {
        let answers = [
            try Canned("201 Created", #"{"serial":"SSTA12345678","secret":"JBSW"#),
            try Canned("201 Created", "\u{1} not json"),
            try Canned("404 Not Found", "<html><h1>Not Found</h1></html>"),
            try Canned("200 OK", "<html>Sign in to the hotel Wi-Fi</html>"),
        ]
        for canned in answers {
            let store = MapStore()
            XCTAssertThrowsError(try TokenVault(store: store, clock: FixedClock(1_764_345_600)).provision(serviceUrl: canned.url, transport: transport)) { e in
                guard case SoftTokenError.BadResponse(let message) = e else { return XCTFail("\(e)") }
                XCTAssertTrue(message.contains("is not a softtoken service's answer"), message)
            }
            XCTAssertTrue(store.items.isEmpty)
        }
    }

    func testSyncTimeTakesTheServicesClock() throws {
        let canned = try Canned("200 OK", #"{"server_time":1700000600,"extra":{"ignored":[1.5,true]}}"#)
        let vault = try TokenVault(store: MapStore(), clock: FixedClock(1_700_000_000))
        XCTAssertEqual(try vault.syncTime(serviceUrl: canned.url, transport: transport), 600)
        XCTAssertEqual(vault.clockOffset(), 600)
    }
}
