package dev.softtoken.tests

import dev.softtoken.Algorithm
import dev.softtoken.TokenVault
import dev.softtoken.formatSerial
import dev.softtoken.generateTotp

/** Microseconds per call, after warming up: printed, never asserted. */
fun bench(name: String, calls: Int, f: () -> Unit) {
    repeat(calls) { f() }
    val runs = (1..5).map {
        val t0 = System.nanoTime()
        repeat(calls) { f() }
        (System.nanoTime() - t0) / 1000.0 / calls
    }.sorted()
    println("bench: %-32s %8.2f µs per call (median of 5 × %d)".format(name, runs[2], calls))
}

/** What a call from Kotlin costs, through JNA into the release library: the simplest call up to a code with a Kotlin clock. */
fun runBenchmarks(calls: Int = 20_000) {
    val vault = TokenVault(MapStore(), null)
    val serial = vault.issue().serial
    bench("TokenVault.clockOffset()", calls) { vault.clockOffset() }
    bench("formatSerial(serial)", calls) { formatSerial(serial) }
    bench("TokenVault.code(serial)", calls) { vault.code(serial) }
    val clocked = TokenVault(MapStore(), FixedClock(1_700_000_010uL))
    val clockedSerial = clocked.issue().serial
    bench("code(serial), Kotlin clock", calls) { clocked.code(clockedSerial) }
    bench("generateTotp(...)", calls) {
        generateTotp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1_700_000_000uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
    }
}

/** `bench/kotlin.sh`: the benchmarks alone. */
object Bench {
    @JvmStatic fun main(args: Array<String>) = runBenchmarks(args.firstOrNull()?.toInt() ?: 20_000)
}
