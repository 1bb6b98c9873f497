package dev.softtoken.tests.app

import dev.softtoken.Algorithm
import dev.softtoken.Origin
import dev.softtoken.HostException
import dev.softtoken.SoftTokenException
import dev.softtoken.TokenVault
import dev.softtoken.app.core.BlobFiles
import dev.softtoken.app.core.ClipRequest
import dev.softtoken.app.core.Countdown
import dev.softtoken.app.core.EncryptedStore
import dev.softtoken.app.core.Message
import dev.softtoken.app.core.RecordCipher
import dev.softtoken.app.core.ScreenState
import dev.softtoken.app.core.TokenScreenModel
import dev.softtoken.formatSerial
import dev.softtoken.generateHotp
import dev.softtoken.generateTotp
import dev.softtoken.tests.FixedClock
import dev.softtoken.tests.MapStore
import java.io.File
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.spec.GCMParameterSpec
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** AES-256-GCM in software: the same transformation the app runs with its Keystore key. */
class SoftwareAesGcm : RecordCipher {
    private val key = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    private val random = SecureRandom()
    override fun seal(plain: ByteArray, associated: ByteArray): RecordCipher.Sealed {
        val iv = ByteArray(12).also(random::nextBytes)
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, iv))
        c.updateAAD(associated)
        return RecordCipher.Sealed(iv, c.doFinal(plain))
    }
    override fun open(sealed: RecordCipher.Sealed, associated: ByteArray): ByteArray {
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, sealed.iv))
        c.updateAAD(associated)
        return c.doFinal(sealed.ciphertext)
    }
}

/** Files in a directory, written atomically, as the app does in its private storage. */
class DirFiles(val dir: File) : BlobFiles {
    override fun read(name: String): ByteArray? = File(dir, name).takeIf { it.exists() }?.readBytes()
    override fun writeAtomically(name: String, bytes: ByteArray) {
        val tmp = File(dir, "$name.tmp")
        tmp.outputStream().use { it.write(bytes); it.fd.sync() }
        Files.move(tmp.toPath(), File(dir, name).toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
    }
    override fun delete(name: String) { File(dir, name).delete() }
}

class AppCoreTest {
    private val seed20 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

    @Test fun countdownCarriesWhatTheCoreComputed() {
        // RFC 6238, SHA-1, 6 digits: at t=59 the code is 287082 with 1 s left.
        val c = Countdown.of(generateTotp(seed20, 59uL, Algorithm.SHA1, 6u.toUByte(), 30uL))!!
        assertEquals(1, c.secondsLeft)
        assertEquals(1f / 30f, c.remaining, 1e-6f)
        assertTrue(c.ending)
        val fresh = Countdown.of(generateTotp(seed20, 30uL, Algorithm.SHA1, 6u.toUByte(), 30uL))!!
        assertEquals(30, fresh.secondsLeft)
        assertEquals(1f, fresh.remaining, 1e-6f)
        assertFalse(fresh.ending)
        assertNull(Countdown.of(generateHotp(seed20, 0uL, Algorithm.SHA1, 6u.toUByte())))
        assertEquals(250, Countdown.millisToNextSecond(1_700_000_000_750))
        assertEquals(1000, Countdown.millisToNextSecond(1_700_000_000_000))
    }

    @Test fun groupingAndSpeakingComeFromTheCore() {
        val six = generateTotp(seed20, 59uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
        assertEquals("287 082", six.groupedValue)
        assertEquals("2 8 7, 0 8 2", six.spokenValue)
        assertEquals("359 152", six.groupedNextValue)
        assertEquals("9428 7082", generateTotp(seed20, 59uL, Algorithm.SHA1, 8u.toUByte(), 30uL).groupedValue)
        assertEquals("4287 082", generateTotp(seed20, 59uL, Algorithm.SHA1, 7u.toUByte(), 30uL).groupedValue)
        val token = TokenVault(MapStore(), FixedClock(1_700_000_010uL)).issue()
        assertEquals(formatSerial(token.serial), token.displaySerial)
        val groups = token.displaySerial.split(" ")
        assertEquals(groups.joinToString(", ") { it.toList().joinToString(" ") }, token.spokenSerial)
        assertEquals("softtoken", token.title)
        assertEquals(Origin.ISSUED, token.origin)
        assertEquals("issued here", token.originText)
    }

    @Test fun encryptedStoreSealsEachRecordWithAFreshIv() {
        val dir = Files.createTempDirectory("softtoken-app").toFile()
        val store = EncryptedStore(SoftwareAesGcm(), DirFiles(dir))
        store.write("softtoken.vault", "hello".toByteArray())
        val first = File(dir, EncryptedStore.fileName("softtoken.vault")).readBytes()
        store.write("softtoken.vault", "hello".toByteArray())
        val second = File(dir, EncryptedStore.fileName("softtoken.vault")).readBytes()
        assertNotEquals(first.copyOfRange(1, 13).toList(), second.copyOfRange(1, 13).toList())
        assertFalse("the plaintext is not on disk", String(second).contains("hello"))
        assertArrayEquals("hello".toByteArray(), store.read("softtoken.vault"))
        assertNull(store.read("other"))
        // A flipped bit, a record moved to another key, or another key altogether: a typed error.
        second[20] = (second[20].toInt() xor 1).toByte()
        File(dir, EncryptedStore.fileName("softtoken.vault")).writeBytes(second)
        val e = assertThrows(HostException.Failed::class.java) { store.read("softtoken.vault") }
        // Read as the reason itself (the exported Rust Display), as it is quoted in SoftTokenException.Store.
        assertEquals(e.reason, e.toString())
        assertTrue(e.toString(), e.toString().startsWith("cannot decrypt the secure record"))
        File(dir, EncryptedStore.fileName("moved")).writeBytes(first)
        assertThrows(HostException.Failed::class.java) { store.read("moved") }
        assertThrows(HostException.Failed::class.java) { EncryptedStore(SoftwareAesGcm(), DirFiles(dir)).read("softtoken.vault") }
        store.delete("softtoken.vault")
        assertNull(store.read("softtoken.vault"))
        dir.deleteRecursively()
    }

    @Test fun aVaultOverTheEncryptedStore() {
        val dir = Files.createTempDirectory("softtoken-app").toFile()
        val cipher = SoftwareAesGcm()
        val clock = FixedClock(1_700_000_010uL)
        val token = TokenVault(EncryptedStore(cipher, DirFiles(dir)), clock).issue()
        val reopened = TokenVault(EncryptedStore(cipher, DirFiles(dir)), clock)
        assertEquals(listOf(token), reopened.tokens())
        // Without the key (a new install, a wiped Keystore): a typed store error, the file left as it was.
        val before = dir.listFiles()!!.associate { it.name to it.readBytes().toList() }
        val e = assertThrows(SoftTokenException.Store::class.java) { TokenVault(EncryptedStore(SoftwareAesGcm(), DirFiles(dir)), clock) }
        assertTrue(e.message!!, e.message!!.contains("cannot decrypt"))
        assertEquals(before, dir.listFiles()!!.associate { it.name to it.readBytes().toList() })
        dir.deleteRecursively()
    }

    @Test fun theScreenModelIssuesShowsCopiesAndExplains() {
        val store = MapStore()
        val clock = FixedClock(1_700_000_010uL)
        // The app's start put the bank's token in the vault (from the service, StartupTest); re-issue goes
        // through the start too, stood in for here by a new token in place of the old.
        val vault = TokenVault(store, clock)
        vault.issue()
        val model = TokenScreenModel({ vault }, renew = { old -> vault.issue().also { vault.delete(old) } })
        val started = model.start() as ScreenState.Ready
        assertNull(started.message)
        val card = started.cards.single()
        assertTrue(card.issuedHere)
        val secret = TokenVault(store, clock).exportUri(card.serial).substringAfter("secret=").substringBefore("&")
        val want = generateTotp(secret, 1_700_000_010uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
        assertEquals(want.value, card.code)
        assertEquals(want.groupedValue, card.groupedCode)
        assertEquals(want.spokenValue, card.spokenCode)
        assertEquals(want.groupedNextValue, card.nextCode)
        assertEquals("softtoken", card.title)
        assertEquals(30, card.countdown!!.secondsLeft)
        assertEquals(ClipRequest(want.value, sensitive = true, clearAfterMillis = 60_000), model.copy(card.serial))
        // The serial is copied without spaces: a 12-character bank field would cut the grouped form.
        assertEquals(card.serial, model.copySerial(card.serial)!!.text)
        assertEquals(12, model.copySerial(card.serial)!!.text.length)
        // Time passes: the code and countdown follow.
        clock.now += 30uL
        val later = (model.tick() as ScreenState.Ready).cards.single()
        assertEquals(want.nextValue, later.code)
        // The countdown follows the vault's clock with its offset, not the phone's.
        clock.now += 5uL
        assertEquals(25, (model.tick() as ScreenState.Ready).cards.single().countdown!!.secondsLeft)
        model.setClockOffset(-10)
        assertEquals(5, (model.tick() as ScreenState.Ready).cards.single().countdown!!.secondsLeft)
        model.setClockOffset(0)
        // A second start finds the token and issues nothing.
        assertNull((TokenScreenModel({ TokenVault(store, clock) }, { error("no re-issue") }).start() as ScreenState.Ready).message)
        // Imports: a good one below the bank's token, a bad one explained.
        val imported = model.import(" otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN ") as ScreenState.Ready
        assertEquals(Message.Kind.IMPORTED, imported.message!!.kind)
        assertEquals(listOf(card.serial, "SYMC26070843"), imported.cards.map { it.serial })
        assertEquals("VIP Access", imported.cards[1].title)
        val bad = model.import("otpauth://totp/x?secret=JBSWY3DP") as ScreenState.Ready
        assertEquals(Message.Kind.IMPORT_FAILED, bad.message!!.kind)
        assertTrue(bad.message!!.detail.contains("at least 10"))
        // Re-issue shows the new serial; delete removes; a failure is a message, not a crash.
        val renewed = model.reissue(card.serial) as ScreenState.Ready
        assertEquals(Message.Kind.REISSUED, renewed.message!!.kind)
        assertNotEquals(card.serial, renewed.cards.first().serial)
        assertEquals(Message.Kind.FAILED, (model.delete("NOPE") as ScreenState.Ready).message!!.kind)
        assertEquals(Message.Kind.OFFSET_SET, (model.setClockOffset(-30) as ScreenState.Ready).message!!.kind)
        // A counter-based account: no code is drawn (it would use one up); copying takes the next code.
        val hotp = (model.import("otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0") as ScreenState.Ready).cards.last()
        assertNull(hotp.code)
        assertEquals("755224", model.copy(hotp.serial)!!.text)
        assertEquals("287082", model.copy(hotp.serial)!!.text)
    }

    @Test fun anUnreadableStoreIsAScreenNotACrashNorAReset() {
        val store = MapStore()
        store.map["softtoken.vault"] = "not a vault".toByteArray()
        val model = TokenScreenModel({ TokenVault(store, FixedClock(0uL)) }, { error("no re-issue") })
        val state = model.start()
        assertTrue(state is ScreenState.Unreadable)
        assertTrue((state as ScreenState.Unreadable).detail.contains("left untouched"))
        assertEquals("not a vault", String(store.map["softtoken.vault"]!!))
        assertEquals(state, model.import("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"))
    }
}
