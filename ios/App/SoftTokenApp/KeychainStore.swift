import Foundation
import Security
import SoftToken

/// The core's storage hook on the Keychain: generic-password items in the app's service,
/// readable only while this device is unlocked and never in backups or on another device.
final class KeychainStore: SecureStore, @unchecked Sendable {
    private let service: String

    init(service: String = "dev.softtoken.app.vault") {
        self.service = service
    }

    private func query(_ key: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: key]
    }

    func read(key: String) throws -> Data? {
        var q = query(key)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &item)
        switch status {
        case errSecSuccess: return item as? Data
        case errSecItemNotFound: return nil
        default: throw HostError.Failed(reason: "Keychain read failed (\(status))")
        }
    }

    /// Updates in place when the item exists (one atomic Keychain call), else adds it:
    /// an item is never deleted and re-added, so it is never half-written or missing.
    func write(key: String, value: Data) throws {
        let attributes: [String: Any] = [
            kSecValueData as String: value,
            kSecAttrAccessible as String: kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
        ]
        var status = SecItemUpdate(query(key) as CFDictionary, attributes as CFDictionary)
        if status == errSecItemNotFound {
            var add = query(key)
            add.merge(attributes) { $1 }
            status = SecItemAdd(add as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw HostError.Failed(reason: "Keychain write failed (\(status))") }
    }

    func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw HostError.Failed(reason: "Keychain delete failed (\(status))")
        }
    }

    /// Deletes every item of the app's service: what a previous installation left (Keychain
    /// items survive deleting the app), before this installation's first token (T5).
    func clearAll() throws {
        let status = SecItemDelete([kSecClass as String: kSecClassGenericPassword,
                                    kSecAttrService as String: service] as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw HostError.Failed(reason: "Keychain clear failed (\(status))")
        }
    }
}
