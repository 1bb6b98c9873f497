package dev.softtoken.tests

import dev.softtoken.Algorithm
import dev.softtoken.TokenVault
import dev.softtoken.generateTotp
import org.junit.runner.JUnitCore
import kotlin.system.exitProcess

/** Microseconds per call, after warming up: printed, never asserted. */
fun bench(name: String, calls: Int, f: () -> Unit) {
    repeat(calls) { f() }
    val runs = (1..5).map {
        val t0 = System.nanoTime()
        repeat(calls) { f() }
        (System.nanoTime() - t0) / 1000.0 / calls
    }.sorted()
    println("bench: %-28s %8.2f µs per call (median of 5 × %d)".format(name, runs[2], calls))
}

/** Runs every Kotlin test, then the benchmark; ends with the line CI counts: "N passed, M failed". */
fun main() {
    val result = JUnitCore.runClasses(
        VectorsTest::class.java, VaultTest::class.java, VerifierTest::class.java, ThreadsTest::class.java,
        ProvisionTest::class.java,
        dev.softtoken.tests.app.AppCoreTest::class.java,
        dev.softtoken.tests.app.HelpTest::class.java, dev.softtoken.tests.app.FirstRunTest::class.java,
        dev.softtoken.tests.app.ClipboardGuardTest::class.java, dev.softtoken.tests.app.TransportTest::class.java,
        dev.softtoken.tests.app.StartupTest::class.java,
    )
    for (f in result.failures) {
        println("FAILED ${f.testHeader}: ${f.message}")
        println(f.trace.lines().take(12).joinToString("\n"))
    }
    if (result.wasSuccessful()) {
        val vault = TokenVault(MapStore(), null)
        val serial = vault.issue().serial
        bench("TokenVault.code(serial)", 20_000) { vault.code(serial) }
        bench("generateTotp(...)", 20_000) {
            generateTotp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1_700_000_000uL, Algorithm.SHA1, 6u.toUByte(), 30uL)
        }
    }
    val failed = result.failureCount
    println("kotlin: ${result.runCount - failed} passed, $failed failed")
    exitProcess(if (result.wasSuccessful()) 0 else 1)
}
