package dev.softtoken.app.core

import dev.softtoken.HostException
import dev.softtoken.SecureStore

/** Authenticated encryption with a fresh IV per message (AES-256-GCM in the app, its key in the Android Keystore). */
interface RecordCipher {
    /** Encrypts [plain]; returns the IV and the ciphertext with its tag. */
    fun seal(plain: ByteArray, associated: ByteArray): Sealed
    /** Decrypts and authenticates; throws when the bytes or the associated data were altered. */
    fun open(sealed: Sealed, associated: ByteArray): ByteArray

    /** One encrypted record. */
    class Sealed(val iv: ByteArray, val ciphertext: ByteArray)
}

/** Files in app-private storage, written atomically (a temporary file, then a rename). */
interface BlobFiles {
    fun read(name: String): ByteArray?
    fun writeAtomically(name: String, bytes: ByteArray)
    fun delete(name: String)
}

/**
 * The core's storage hook over encrypted files: each record sealed with a fresh IV,
 * bound to its key name, and written atomically. Platform-free: the Android app
 * passes a Keystore-backed [RecordCipher] and its files directory; the JVM tests
 * pass a software AES-GCM and a temporary directory.
 */
class EncryptedStore(private val cipher: RecordCipher, private val files: BlobFiles) : SecureStore {
    override fun read(key: String): ByteArray? {
        val bytes = guard("read") { files.read(fileName(key)) } ?: return null
        if (bytes.size < HEADER + IV_BYTES || bytes[0] != VERSION) {
            throw HostException.Failed("the stored file for $key is not a softtoken record (format ${bytes.firstOrNull()})")
        }
        val sealed = RecordCipher.Sealed(bytes.copyOfRange(HEADER, HEADER + IV_BYTES), bytes.copyOfRange(HEADER + IV_BYTES, bytes.size))
        return guard("decrypt") { cipher.open(sealed, key.toByteArray()) }
    }

    override fun write(key: String, value: ByteArray) {
        val sealed = guard("encrypt") { cipher.seal(value, key.toByteArray()) }
        require(sealed.iv.size == IV_BYTES) { "the cipher must use $IV_BYTES-byte IVs" }
        guard("write") { files.writeAtomically(fileName(key), byteArrayOf(VERSION) + sealed.iv + sealed.ciphertext) }
    }

    override fun delete(key: String) {
        guard("delete") { files.delete(fileName(key)) }
    }

    private fun <T> guard(what: String, action: () -> T): T =
        try {
            action()
        } catch (e: HostException) {
            throw e
        } catch (e: Exception) {
            throw HostException.Failed("cannot $what the secure record: ${e.message ?: e.javaClass.simpleName}")
        }

    companion object {
        const val VERSION: Byte = 1
        const val HEADER = 1
        const val IV_BYTES = 12

        /** A file name for a key: letters, digits, dot, dash and underscore only. */
        fun fileName(key: String): String = key.map { if (it.isLetterOrDigit() || it in "._-") it else '_' }.joinToString("") + ".sealed"
    }
}
