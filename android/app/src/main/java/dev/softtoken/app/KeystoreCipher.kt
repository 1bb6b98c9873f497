package dev.softtoken.app

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import dev.softtoken.app.core.RecordCipher
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * AES-256-GCM with a non-exportable key generated in the Android Keystore; the
 * Keystore picks a fresh IV per record. From Android 9 (API 28) the key is usable
 * only while the device is unlocked, so a locked phone's store cannot be opened.
 */
class KeystoreCipher(private val alias: String = "softtoken.vault.key") : RecordCipher {
    private val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    private fun key(): SecretKey =
        (keyStore.getEntry(alias, null) as? KeyStore.SecretKeyEntry)?.secretKey ?: KeyGenerator
            .getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
            .apply {
                val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setKeySize(256)
                    .setRandomizedEncryptionRequired(true)
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) spec.setUnlockedDeviceRequired(true)
                init(spec.build())
            }
            .generateKey()

    override fun seal(plain: ByteArray, associated: ByteArray): RecordCipher.Sealed {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key())
        cipher.updateAAD(associated)
        return RecordCipher.Sealed(cipher.iv, cipher.doFinal(plain))
    }

    override fun open(sealed: RecordCipher.Sealed, associated: ByteArray): ByteArray {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, sealed.iv))
        cipher.updateAAD(associated)
        return cipher.doFinal(sealed.ciphertext)
    }

    /** Deletes the key (a previous installation's leftovers, before the first token): records sealed with it can no longer be opened. */
    fun deleteKey() {
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }
}
