package dev.softtoken.tests

import dev.softtoken.Outcome
import dev.softtoken.TokenVault
import dev.softtoken.Verifier
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** Calls from 8 threads at once. */
class ThreadsTest {
    @Test fun eightThreadsShareOneVault() {
        val store = MapStore()
        val vault = TokenVault(store, FixedClock(1_700_000_010uL))
        val seed = vault.issue()
        val pool = Executors.newFixedThreadPool(8)
        val go = CountDownLatch(1)
        val issued = java.util.Collections.synchronizedList(mutableListOf<String>())
        val codes = java.util.Collections.synchronizedSet(mutableSetOf<String>())
        repeat(8) { i ->
            pool.submit {
                go.await()
                repeat(25) {
                    codes.add(vault.code(seed.serial).value)
                    vault.tokens()
                    if (it % 5 == 0) issued.add(vault.issue().serial)
                }
            }
        }
        go.countDown()
        pool.shutdown()
        assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS))
        assertEquals("one clock, one code", 1, codes.size)
        assertEquals(40, issued.toSet().size)
        // Every token committed by any thread is in the store.
        assertEquals(41, TokenVault(store, null).tokens().size)
    }

    @Test fun eightThreadsSameCodeOneAccepted() {
        val clock = FixedClock(1_700_000_010uL)
        val phone = TokenVault(MapStore(), clock)
        val token = phone.issue()
        val bank = Verifier(clock)
        bank.addKeyUri(phone.exportUri(token.serial))
        bank.register("c", token.serial, phone.code(token.serial).value)
        clock.now += 30uL
        val code = phone.code(token.serial).value
        val accepted = AtomicInteger()
        val go = CountDownLatch(1)
        val threads = (1..8).map {
            Thread {
                go.await()
                if (bank.login("c", code) == Outcome.Accepted) accepted.incrementAndGet()
            }.also { it.start() }
        }
        go.countDown()
        threads.forEach { it.join() }
        assertEquals(1, accepted.get())
    }
}
