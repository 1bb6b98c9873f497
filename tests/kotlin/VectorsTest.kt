package dev.softtoken.tests

import dev.softtoken.Algorithm
import dev.softtoken.SoftTokenException
import dev.softtoken.formatSerial
import dev.softtoken.generateHotp
import dev.softtoken.generateTotp
import dev.softtoken.parseKeyUri
import dev.softtoken.parseSerial
import dev.softtoken.TokenKind
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** RFC 4226 and RFC 6238 through the FFI, and the stateless helpers. */
class VectorsTest {
    // Base32 of the RFC seeds "1234567890" repeated to 20, 32 and 64 bytes.
    private val seed20 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    private val seed32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
    private val seed64 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA"

    @Test fun rfc6238AllEighteenRows() {
        val rows = listOf(
            Triple(59uL, listOf("94287082", "46119246", "90693936"), 0),
            Triple(1111111109uL, listOf("07081804", "68084774", "25091201"), 0),
            Triple(1111111111uL, listOf("14050471", "67062674", "99943326"), 0),
            Triple(1234567890uL, listOf("89005924", "91819424", "93441116"), 0),
            Triple(2000000000uL, listOf("69279037", "90698825", "38618901"), 0),
            Triple(20000000000uL, listOf("65353130", "77737706", "47863826"), 0),
        )
        var checked = 0
        for ((time, codes, _) in rows) {
            val algs = listOf(Algorithm.SHA1 to seed20, Algorithm.SHA256 to seed32, Algorithm.SHA512 to seed64)
            for ((i, pair) in algs.withIndex()) {
                val code = generateTotp(pair.second, time, pair.first, 8u.toUByte(), 30uL)
                assertEquals("${pair.first} at $time", codes[i], code.value)
                checked++
            }
        }
        assertEquals(18, checked)
    }

    @Test fun rfc4226AppendixD() {
        val want = listOf("755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489")
        for ((counter, code) in want.withIndex()) {
            val c = generateHotp(seed20, counter.toULong(), Algorithm.SHA1, 6u.toUByte())
            assertEquals(code, c.value)
            assertNull(c.validUntil)
        }
    }

    @Test fun windowAndNextCode() {
        val c = generateTotp(seed20, 59uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
        assertEquals("287082", c.value)
        assertEquals("359152", c.nextValue)
        assertEquals(30uL, c.validFrom)
        assertEquals(60uL, c.validUntil)
        assertEquals(1uL, c.secondsLeft)
        assertEquals(29.0 / 30.0, c.progress!!, 1e-9)
    }

    @Test fun serialsAndUris() {
        val serial = parseSerial("ssta-1234-5671")
        assertEquals(serial, parseSerial(formatSerial(serial)))
        assertEquals("SYMC26070843", formatSerial("SYMC26070843"))
        val e = assertThrows(SoftTokenException.InvalidSerial::class.java) { parseSerial("SSTA 1234 5672") }
        assertEquals("serial SSTA 1234 5672: check digit is wrong, please re-type it", e.message)
        val info = parseKeyUri("otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&image=https%3A%2F%2Fexample.com%2Fx.png")
        assertEquals("SYMC26070843", info.serial)
        assertEquals("VIP Access", info.issuer)
        assertEquals(TokenKind.TOTP, info.kind)
        assertEquals(30uL, info.period)
    }

    @Test fun errorsCarryTheCoreMessage() {
        // "12345678": 8 bytes.
        val short = assertThrows(SoftTokenException.InvalidSecret::class.java) {
            generateTotp("GEZDGNBVGY3TQ", 0uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
        }
        assertEquals("secret is 8 bytes; at least 10 are needed (ask the issuer for a longer key)", short.message)
        val typo = assertThrows(SoftTokenException.InvalidSecret::class.java) {
            generateTotp("GEZDGNBVGY3TQOJ0", 0uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
        }
        assertTrue(typo.message!!.contains("character 16 ('0') is not base32"))
        val digits = assertThrows(SoftTokenException.InvalidParameter::class.java) {
            generateTotp(seed20, 0uL, Algorithm.SHA1, 9u.toUByte(), 30uL)
        }
        assertEquals("9 digits are not supported: use 6, 7 or 8", digits.message)
        val period = assertThrows(SoftTokenException.InvalidParameter::class.java) {
            generateTotp(seed20, 0uL, Algorithm.SHA1, 6u.toUByte(), 0uL)
        }
        assertTrue(period.message!!.contains("period of 0 seconds"))
        val uri = assertThrows(SoftTokenException.InvalidUri::class.java) { parseKeyUri("https://example.com") }
        assertTrue(uri.message!!.startsWith("not a key URI"))
    }
}
