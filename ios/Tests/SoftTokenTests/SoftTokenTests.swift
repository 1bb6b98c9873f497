import Foundation
import XCTest
@testable import SoftToken

/// A SecureStore over a dictionary, as an app would write one over the Keychain.
final class MapStore: SecureStore, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var items: [String: Data] = [:]
    func read(key: String) throws -> Data? { lock.lock(); defer { lock.unlock() }; return items[key] }
    func write(key: String, value: Data) throws { lock.lock(); defer { lock.unlock() }; items[key] = value }
    func delete(key: String) throws { lock.lock(); defer { lock.unlock() }; items[key] = nil }
}

/// Reads from `inner`; every write fails as a locked Keychain does.
final class FailingWrites: SecureStore, @unchecked Sendable {
    let inner: MapStore
    init(_ inner: MapStore) { self.inner = inner }
    func read(key: String) throws -> Data? { try inner.read(key: key) }
    func write(key: String, value: Data) throws { throw HostError.Failed(reason: "keychain is locked") }
    func delete(key: String) throws { throw HostError.Failed(reason: "keychain is locked") }
}

/// Returns garbage for every key.
final class GarbageStore: SecureStore, @unchecked Sendable {
    let bytes: Data
    init(_ bytes: Data) { self.bytes = bytes }
    func read(key: String) throws -> Data? { bytes }
    func write(key: String, value: Data) throws {}
    func delete(key: String) throws {}
}

/// A clock the test sets.
final class FixedClock: Clock, @unchecked Sendable {
    var now: UInt64
    init(_ now: UInt64) { self.now = now }
    func nowUnixSeconds() throws -> UInt64 { now }
}

final class SoftTokenTests: XCTestCase {
    let seed20 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    let seed32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
    let seed64 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA"
    let start: UInt64 = 1_700_000_010

    func secret(_ vault: TokenVault, _ serial: String) throws -> String {
        let uri = try vault.exportUri(serial: serial)
        return String(uri.split(separator: "=")[1].split(separator: "&")[0])
    }

    func testRfc6238AllEighteenRows() throws {
        let rows: [(UInt64, [String])] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1111111109, ["07081804", "68084774", "25091201"]),
            (1111111111, ["14050471", "67062674", "99943326"]),
            (1234567890, ["89005924", "91819424", "93441116"]),
            (2000000000, ["69279037", "90698825", "38618901"]),
            (20000000000, ["65353130", "77737706", "47863826"]),
        ]
        for (time, codes) in rows {
            for (i, (algorithm, seed)) in [(Algorithm.sha1, seed20), (.sha256, seed32), (.sha512, seed64)].enumerated() {
                let code = try generateTotp(secretBase32: seed, unixTime: time, algorithm: algorithm, digits: 8, period: 30)
                XCTAssertEqual(code.value, codes[i], "\(algorithm) at \(time)")
            }
        }
    }

    func testRfc4226AppendixD() throws {
        let want = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
        for (counter, code) in want.enumerated() {
            XCTAssertEqual(try generateHotp(secretBase32: seed20, counter: UInt64(counter), algorithm: .sha1, digits: 6).value, code)
        }
    }

    func testIssueStoreReopen() throws {
        let store = MapStore()
        let clock = FixedClock(start)
        let vault = try TokenVault(store: store, clock: clock)
        let token = try vault.issue()
        XCTAssertTrue(token.serial.hasPrefix("SSTA"))
        XCTAssertEqual(token.displaySerial.count, 14)
        let code = try vault.code(serial: token.displaySerial)
        let again = try TokenVault(store: store, clock: clock)
        XCTAssertEqual(again.tokens(), [token])
        XCTAssertEqual(try again.code(serial: token.serial), code)
        let expected = try generateTotp(secretBase32: try secret(vault, token.serial), unixTime: start, algorithm: .sha1, digits: 6, period: 30)
        XCTAssertEqual(code, expected)
    }

    func testClockHookAndOffset() throws {
        let clock = FixedClock(start)
        let vault = try TokenVault(store: MapStore(), clock: clock)
        let token = try vault.issue()
        let key = try secret(vault, token.serial)
        clock.now = 2_000_000_000
        XCTAssertEqual(try vault.code(serial: token.serial).value,
                       try generateTotp(secretBase32: key, unixTime: 2_000_000_000, algorithm: .sha1, digits: 6, period: 30).value)
        try vault.setClockOffset(seconds: -60)
        XCTAssertEqual(vault.clockOffset(), -60)
        XCTAssertEqual(try vault.code(serial: token.serial).value,
                       try generateTotp(secretBase32: key, unixTime: 2_000_000_000 - 60, algorithm: .sha1, digits: 6, period: 30).value)
    }

    func testAFailingStoreKeepsTheOldToken() throws {
        let map = MapStore()
        let token = try TokenVault(store: map, clock: FixedClock(start)).issue()
        let before = map.items
        let vault = try TokenVault(store: FailingWrites(map), clock: FixedClock(start))
        XCTAssertThrowsError(try vault.reissue(serial: token.serial)) { error in
            guard case let SoftTokenError.Store(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("keychain is locked"), message)
        }
        XCTAssertEqual(vault.tokens(), [token])
        XCTAssertEqual(map.items, before)
    }

    func testGarbageBytesAreATypedError() {
        for bytes in [Data("hello".utf8), Data(), Data("softtoken-vault 9 sha256=00\n{}".utf8)] {
            XCTAssertThrowsError(try TokenVault(store: GarbageStore(bytes), clock: nil)) { error in
                guard case SoftTokenError.CorruptStore = error else { return XCTFail("\(error)") }
                XCTAssertTrue((error as! SoftTokenError).message.contains("left untouched"))
            }
        }
    }

    func testErrorMessagesAreTheCores() {
        XCTAssertThrowsError(try generateTotp(secretBase32: "GEZDGNBVGY3TQ", unixTime: 0, algorithm: .sha1, digits: 6, period: 30)) { error in
            XCTAssertEqual((error as? SoftTokenError)?.message, "secret is 8 bytes; at least 10 are needed (ask the issuer for a longer key)")
        }
        XCTAssertThrowsError(try parseSerial(input: "SSTA 1234 5672")) { error in
            XCTAssertEqual((error as? SoftTokenError)?.message, "serial SSTA 1234 5672: check digit is wrong, please re-type it")
        }
    }

    func testPresentationComesFromTheCore() throws {
        let code = try generateTotp(secretBase32: seed20, unixTime: 59, algorithm: .sha1, digits: 6, period: 30)
        XCTAssertEqual(code.groupedValue, "287 082")
        XCTAssertEqual(code.spokenValue, "2 8 7, 0 8 2")
        XCTAssertEqual(code.groupedNextValue, "359 152")
        XCTAssertEqual(code.secondsLeft, 1)
        XCTAssertTrue(code.ending)
        let clock = FixedClock(start)
        let vault = try TokenVault(store: MapStore(), clock: clock)
        let seed = try vault.issue()
        _ = try vault.importUri(uri: "otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN")
        let cards = try vault.cards()
        XCTAssertEqual(cards.map(\.token.title), ["softtoken", "VIP Access"])
        XCTAssertEqual(cards.first?.token.serial, seed.serial)
        XCTAssertEqual(cards.first?.code?.secondsLeft, 30 - start % 30)
        try vault.setClockOffset(seconds: -10)
        XCTAssertEqual(try vault.cards().first?.code?.secondsLeft, (30 - (start - 10) % 30))
    }

    func testImportsAndVipSerials() throws {
        let vault = try TokenVault(store: MapStore(), clock: FixedClock(start))
        let seed = try vault.issue()
        let vip = try vault.importUri(uri: "otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN")
        XCTAssertEqual(vip.first?.serial, "SYMC26070843")
        XCTAssertEqual(vault.tokens().map(\.serial), [seed.serial, "SYMC26070843"])
        XCTAssertThrowsError(try vault.reissue(serial: "SYMC26070843"))
    }

    func testVerifierRegisterLoginLockUnlock() throws {
        let clock = FixedClock(start)
        let phone = try TokenVault(store: MapStore(), clock: clock)
        let token = try phone.issue()
        let bank = try Verifier.withPolicy(clock: clock, stepsBack: 1, stepsForward: 1, lockoutThreshold: 3, maxDrift: 5)
        XCTAssertEqual(try bank.addKeyUri(uri: try phone.exportUri(serial: token.serial)), token.serial)
        XCTAssertEqual(try bank.register(contract: "c", serial: token.displaySerial, code: try phone.code(serial: token.serial).value), .accepted)
        clock.now += 30
        let code = try phone.code(serial: token.serial).value
        XCTAssertEqual(try bank.login(contract: "c", code: code), .accepted)
        XCTAssertEqual(try bank.login(contract: "c", code: code), .replayed)
        let wrong = String(format: "%06d", (Int(code)! + 500_000) % 1_000_000)
        XCTAssertEqual(try bank.login(contract: "c", code: wrong), .wrongCode(attemptsLeft: 2))
        XCTAssertEqual(try bank.login(contract: "c", code: wrong), .wrongCode(attemptsLeft: 1))
        XCTAssertEqual(try bank.login(contract: "c", code: wrong), .wrongCode(attemptsLeft: 0))
        clock.now += 30
        XCTAssertEqual(try bank.login(contract: "c", code: try phone.code(serial: token.serial).value), .locked)
        XCTAssertEqual(try bank.unlock(contract: "c"), .accepted)
        XCTAssertEqual(try bank.login(contract: "c", code: try phone.code(serial: token.serial).value), .accepted)
    }

    func testEightTasksAtOnce() async throws {
        let store = MapStore()
        let vault = try TokenVault(store: store, clock: FixedClock(start))
        let seed = try vault.issue()
        let serials = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var issued: [String] = []
                    for i in 0..<25 {
                        _ = try await vault.currentCode(serial: seed.serial)
                        if i % 5 == 0 { issued.append(try vault.issue().serial) }
                    }
                    return issued
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        XCTAssertEqual(Set(serials).count, 40)
        XCTAssertEqual(try TokenVault(store: store, clock: nil).tokens().count, 41)
    }
}
