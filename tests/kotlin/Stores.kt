package dev.softtoken.tests

import dev.softtoken.Clock
import dev.softtoken.HostException
import dev.softtoken.SecureStore
import java.util.concurrent.ConcurrentHashMap

/** A SecureStore over a map, as an app would write one over Keychain or Keystore files. */
class MapStore : SecureStore {
    val map = ConcurrentHashMap<String, ByteArray>()
    override fun read(key: String): ByteArray? = map[key]?.copyOf()
    override fun write(key: String, value: ByteArray) { map[key] = value.copyOf() }
    override fun delete(key: String) { map.remove(key) }
}

/** Reads from `inner`, but every write fails the way a full or locked keychain does. */
class FailingWrites(private val inner: MapStore, private val unexpected: Boolean = false) : SecureStore {
    override fun read(key: String): ByteArray? = inner.read(key)
    override fun write(key: String, value: ByteArray) {
        if (unexpected) throw IllegalStateException("disk on fire")
        throw HostException.Failed("keychain is locked")
    }
    override fun delete(key: String) = throw HostException.Failed("keychain is locked")
}

/** Returns the same garbage for every key. */
class GarbageStore(private val bytes: ByteArray) : SecureStore {
    override fun read(key: String): ByteArray? = bytes
    override fun write(key: String, value: ByteArray) {}
    override fun delete(key: String) {}
}

/** A clock the test sets. */
class FixedClock(@Volatile var now: ULong) : Clock {
    override fun nowUnixSeconds(): ULong = now
}
