package dev.softtoken.tests

import dev.softtoken.Clock
import dev.softtoken.HostException
import dev.softtoken.SecureStore
import dev.softtoken.SoftTokenException
import dev.softtoken.TokenVault
import dev.softtoken.formatSerial
import dev.softtoken.parseSerial
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicInteger
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** Whether `parseSerial` refuses `input`. */
private fun refused(input: String): Boolean =
    try { parseSerial(input); false } catch (e: SoftTokenException) { true }

/**
 * The bindings reuse one call status per thread and nesting depth (uniffi-bindgen/src/kotlin.rs):
 * an error never leaks into the next call, a call made from inside a callback never disturbs the
 * call waiting on it, and threads never share one.
 */
class CallsTest {
    private val serial = "SSTA00000000"

    @Test fun anErrorDoesNotLeakIntoTheNextCall() {
        repeat(1_000) {
            assertTrue(refused("not a serial"))
            assertEquals("SSTA 0000 0000", formatSerial(serial))
            assertEquals(serial, parseSerial("ssta-0000-0000"))
        }
    }

    /** A clock that calls into Rust while Rust waits for its answer, the last of those calls failing. */
    class CallingClock(private val now: ULong) : Clock {
        val nestedRefusals = AtomicInteger()
        override fun nowUnixSeconds(): ULong {
            check(formatSerial("SSTA00000000") == "SSTA 0000 0000")
            if (refused("still not a serial")) nestedRefusals.incrementAndGet()
            return now
        }
    }

    @Test fun callsFromInsideACallbackLeaveTheWaitingCallIntact() {
        val clock = CallingClock(1_700_000_010uL)
        val store = MapStore()
        val vault = TokenVault(store, clock)
        val token = vault.issue()
        val plain = TokenVault(store, FixedClock(1_700_000_010uL))
        repeat(200) {
            assertEquals(plain.code(token.serial).value, vault.code(token.serial).value)
        }
        assertTrue("the nested refusals happened", clock.nestedRefusals.get() >= 200)
    }

    /** Writes fail after a successful call into Rust from inside the callback. */
    class CallingFailingStore(private val inner: MapStore) : SecureStore {
        override fun read(key: String): ByteArray? = inner.read(key)
        override fun write(key: String, value: ByteArray) {
            check(formatSerial("SSTA00000000") == "SSTA 0000 0000")
            throw HostException.Failed("keychain is locked")
        }
        override fun delete(key: String) = inner.delete(key)
    }

    @Test fun anErrorAfterANestedCallStillReachesTheCaller() {
        val vault = TokenVault(CallingFailingStore(MapStore()), FixedClock(1_700_000_010uL))
        repeat(50) {
            try {
                vault.issue()
                fail("the store's failure must reach the caller")
            } catch (e: SoftTokenException) {
                assertTrue(e.message ?: "", (e.message ?: "").contains("keychain is locked"))
            }
            assertEquals("SSTA 0000 0000", formatSerial(serial))
        }
    }

    @Test fun eightThreadsMixingErrorsAndResultsEachSeeTheirOwn() {
        val go = CountDownLatch(1)
        val refusals = AtomicInteger()
        val wrong = AtomicInteger()
        val threads = (1..8).map { t ->
            Thread {
                go.await()
                repeat(2_000) { i ->
                    if ((i + t) % 2 == 0) {
                        if (refused("bad $t $i")) refusals.incrementAndGet() else wrong.incrementAndGet()
                    } else if (formatSerial(serial) != "SSTA 0000 0000") {
                        wrong.incrementAndGet()
                    }
                }
            }.also { it.start() }
        }
        go.countDown()
        threads.forEach { it.join(60_000) }
        assertEquals(0, wrong.get())
        assertEquals(8 * 1_000, refusals.get())
    }
}
