package dev.softtoken.tests

import dev.softtoken.Algorithm
import dev.softtoken.SoftTokenException
import dev.softtoken.TokenKind
import dev.softtoken.TokenVault
import dev.softtoken.generateTotp
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** The vault from Kotlin: a store over a map, failing and garbage stores, the clock hook. */
class VaultTest {
    private val start = 1_700_000_010uL

    private fun secretOf(vault: TokenVault, serial: String): String =
        vault.exportUri(serial).substringAfter("secret=").substringBefore("&")

    @Test fun issueStoreReopen() {
        val store = MapStore()
        val clock = FixedClock(start)
        val vault = TokenVault(store, clock)
        assertTrue(vault.tokens().isEmpty())
        val token = vault.issue()
        assertTrue(token.serial.startsWith("SSTA"))
        assertEquals(14, token.displaySerial.length)
        assertEquals(TokenKind.TOTP, token.kind)
        assertTrue(token.issuedHere)
        val code = vault.code(token.displaySerial)
        val again = TokenVault(store, clock)
        assertEquals(listOf(token), again.tokens())
        assertEquals(code, again.code(token.serial))
        // The code is the one any TOTP implementation computes from the exported secret.
        val expected = generateTotp(secretOf(vault, token.serial), start, Algorithm.SHA1, 6u.toUByte(), 30uL)
        assertEquals(expected, code)
        assertEquals(start - start % 30uL, code.validFrom)
    }

    @Test fun clockHookAndOffset() {
        val clock = FixedClock(start)
        val vault = TokenVault(MapStore(), clock)
        val t = vault.issue()
        val secret = secretOf(vault, t.serial)
        clock.now = 2_000_000_000uL
        assertEquals(generateTotp(secret, 2_000_000_000uL, Algorithm.SHA1, 6u.toUByte(), 30uL).value, vault.code(t.serial).value)
        vault.setClockOffset(-60)
        assertEquals(-60L, vault.clockOffset())
        assertEquals(generateTotp(secret, 2_000_000_000uL - 60uL, Algorithm.SHA1, 6u.toUByte(), 30uL).value, vault.code(t.serial).value)
    }

    @Test fun aFailingStoreKeepsTheOldToken() {
        val map = MapStore()
        val clock = FixedClock(start)
        val token = TokenVault(map, clock).issue()
        val before = map.map.mapValues { it.value.toList() }
        for (unexpected in listOf(false, true)) {
            val vault = TokenVault(FailingWrites(map, unexpected), clock)
            val e = assertThrows(SoftTokenException.Store::class.java) { vault.reissue(token.serial) }
            assertTrue(e.message!!, e.message!!.startsWith("the secure store failed:"))
            // The app's reason itself: no "reason=", no stack trace.
            val reason = if (unexpected) "java.lang.IllegalStateException: disk on fire" else "keychain is locked"
            assertEquals("the secure store failed: $reason", e.message)
            assertThrows(SoftTokenException.Store::class.java) { vault.issue() }
            assertThrows(SoftTokenException.Store::class.java) { vault.delete(token.serial) }
            // Nothing changed, in memory or in the store.
            assertEquals(listOf(token), vault.tokens())
        }
        assertEquals(before, map.map.mapValues { it.value.toList() })
        assertEquals(listOf(token), TokenVault(map, clock).tokens())
    }

    @Test fun garbageBytesAreATypedError() {
        for (bytes in listOf("hello".toByteArray(), ByteArray(0), "softtoken-vault 1 sha256=00\n{}".toByteArray(), "softtoken-vault 9 sha256=00\n{}".toByteArray())) {
            val e = assertThrows(SoftTokenException.CorruptStore::class.java) { TokenVault(GarbageStore(bytes), null) }
            assertTrue(e.message!!, e.message!!.contains("left untouched"))
        }
    }

    @Test fun importExportDeleteReissue() {
        val vault = TokenVault(MapStore(), FixedClock(start))
        val seed = vault.issue()
        val vip = vault.importUri("otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN").single()
        assertEquals("SYMC26070843", vip.serial)
        assertFalse(vip.issuedHere)
        val migrated = vault.importUri("otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZSABKAEwAhABGAEgAA%3D%3D")
        assertEquals("alice@google.com", migrated.single().label)
        assertEquals(listOf(seed.serial, "SYMC26070843", migrated.single().serial), vault.tokens().map { it.serial })
        assertThrows(SoftTokenException.AlreadyPresent::class.java) {
            vault.importUri("otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN")
        }
        assertThrows(SoftTokenException.NotAllowed::class.java) { vault.reissue("SYMC26070843") }
        val renewed = vault.reissue(seed.serial)
        assertNotEquals(seed.serial, renewed.serial)
        assertNotEquals(secretOf(vault, renewed.serial), "")
        val gone = assertThrows(SoftTokenException.NotFound::class.java) { vault.code(seed.serial) }
        assertEquals("no token with serial '${seed.serial}' in this vault: list the tokens to see their serials", gone.message)
        assertEquals("SYMC26070843", vault.delete("symc 2607 0843").serial)
        assertThrows(SoftTokenException.InvalidUri::class.java) { vault.importUri("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9") }
    }
}
