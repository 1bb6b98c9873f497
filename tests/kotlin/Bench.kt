package dev.softtoken.tests

import dev.softtoken.Algorithm
import dev.softtoken.IntegrityCheckingUniffiLib
import dev.softtoken.RustBuffer
import dev.softtoken.TokenVault
import dev.softtoken.formatSerial
import dev.softtoken.generateTotp
import java.lang.management.ManagementFactory

/**
 * Microseconds per call after warming up, printed, never asserted: wall time, and the
 * calling thread's CPU time, which a busy machine (other builds on the same cores)
 * inflates far less. Neither counts JNA's cleaner thread freeing native memory later.
 */
fun bench(name: String, calls: Int, f: () -> Unit) {
    val threads = ManagementFactory.getThreadMXBean()
    repeat(calls) { f() }
    val runs = (1..5).map {
        val c0 = threads.currentThreadCpuTime
        val t0 = System.nanoTime()
        repeat(calls) { f() }
        val wall = (System.nanoTime() - t0) / 1000.0 / calls
        Pair(wall, (threads.currentThreadCpuTime - c0) / 1000.0 / calls)
    }
    val wall = runs.map { it.first }.sorted()[2]
    val cpu = runs.map { it.second }.sorted()[2]
    println("bench: %-32s %8.2f µs per call, %8.2f µs CPU (medians of 5 × %d)".format(name, wall, cpu, calls))
}

/** What a call from Kotlin costs, through JNA into the release library: the simplest call up to a code with a Kotlin clock. */
fun runBenchmarks(calls: Int = 20_000) {
    // The floor under every call in uniffi's generated Kotlin: a JNA direct call alone (a checksum:
    // no arguments, an Int back, no structure), and the two calls with a call-status structure each
    // that every String argument and every String or record result adds (allocate, free).
    bench("floor: JNA call, no structure", calls) {
        IntegrityCheckingUniffiLib.uniffi_softtoken_ffi_checksum_func_format_serial()
    }
    bench("floor: RustBuffer alloc + free", calls) { RustBuffer.free(RustBuffer.alloc(16uL)) }
    val vault = TokenVault(MapStore(), null)
    val serial = vault.issue().serial
    bench("TokenVault.clockOffset()", calls) { vault.clockOffset() }
    bench("formatSerial(serial)", calls) { formatSerial(serial) }
    bench("TokenVault.code(serial)", calls) { vault.code(serial) }
    val clocked = TokenVault(MapStore(), FixedClock(1_700_000_010uL))
    val clockedSerial = clocked.issue().serial
    bench("code(serial), Kotlin clock", calls) { clocked.code(clockedSerial) }
    // A screen of three tokens redrawn: one call for the whole screen against one per token and one for the list.
    listOf("GitHub", "Example").forEach {
        clocked.importUri("otpauth://totp/$it:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=$it")
    }
    bench("screen: tokens() + code() × 3", calls / 4) { clocked.tokens().forEach { clocked.code(it.serial) } }
    bench("screen: cards()", calls / 4) { clocked.cards() }
    bench("generateTotp(...)", calls) {
        generateTotp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1_700_000_000uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
    }
}

/** `bench/kotlin.sh`: the benchmarks alone. */
object Bench {
    @JvmStatic fun main(args: Array<String>) = runBenchmarks(args.firstOrNull()?.toInt() ?: 20_000)
}
