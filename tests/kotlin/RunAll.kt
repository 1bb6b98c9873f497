package dev.softtoken.tests

import org.junit.runner.JUnitCore
import kotlin.system.exitProcess

/** Runs every Kotlin test, then the benchmark; ends with the line CI counts: "N passed, M failed". */
fun main() {
    val result = JUnitCore.runClasses(
        VectorsTest::class.java, VaultTest::class.java, VerifierTest::class.java, ThreadsTest::class.java,
        ProvisionTest::class.java, CallsTest::class.java,
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
        runBenchmarks(5_000)
    }
    val failed = result.failureCount
    println("kotlin: ${result.runCount - failed} passed, $failed failed")
    exitProcess(if (result.wasSuccessful()) 0 else 1)
}
