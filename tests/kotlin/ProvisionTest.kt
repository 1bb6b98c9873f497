package dev.softtoken.tests

import dev.softtoken.Algorithm
import dev.softtoken.HostException
import dev.softtoken.HttpResponse
import dev.softtoken.HttpTransport
import dev.softtoken.SoftTokenException
import dev.softtoken.TokenVault
import dev.softtoken.generateTotp
import com.sun.net.httpserver.HttpServer
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.TimeUnit
import java.net.http.HttpResponse as JavaHttpResponse

/** HttpTransport over java.net.http, as a JVM or Android app writes it: every answer returned, no redirects followed. */
class JavaHttpTransport : HttpTransport {
    private val client = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(5))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build()

    override fun post(url: String, body: ByteArray): HttpResponse = send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/json").header("Accept", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build()
    )

    override fun get(url: String): HttpResponse = send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
            .header("Accept", "application/json").GET().build()
    )

    private fun send(request: HttpRequest): HttpResponse = try {
        val r = client.send(request, JavaHttpResponse.BodyHandlers.ofByteArray())
        val retryAfter = r.headers().firstValue("Retry-After").map { it.trim().toULongOrNull() }.orElse(null)
        HttpResponse(r.statusCode().toUShort(), r.body(), retryAfter)
    } catch (e: java.io.IOException) {
        throw HostException.Failed(e.toString())
    }
}

/** The real softtoken-server on a free loopback port, its SQLite database in a temporary directory. */
class RealServer(val dataDir: File, vararg options: String) : AutoCloseable {
    val process: Process
    val url: String

    init {
        process = ProcessBuilder(listOf(binary(), "--listen", "127.0.0.1:0", "--data-dir", dataDir.path) + options)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .also { it.environment().remove("DATABASE_URL") }
            .start()
        val found = java.util.concurrent.LinkedBlockingQueue<String>()
        Thread {
            // Reads to the end, so the server never blocks on a full pipe.
            process.inputStream.bufferedReader().forEachLine { line ->
                Regex("""127\.0\.0\.1:(\d+)""").findAll(line).map { it.groupValues[1] }
                    .firstOrNull { it != "0" }?.let { found.add("http://127.0.0.1:$it") }
            }
        }.apply { isDaemon = true }.start()
        val address = found.poll(60, TimeUnit.SECONDS)
        if (address == null) {
            process.destroyForcibly()
            throw AssertionError("softtoken-server printed no 127.0.0.1:PORT address within 60 s")
        }
        url = address
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
    }

    companion object {
        /** The binary: -Dsofttoken.server=PATH or SOFTTOKEN_SERVER_BIN (scripts/kotlin-test.sh builds and passes it). */
        fun binary(): String = System.getProperty("softtoken.server") ?: System.getenv("SOFTTOKEN_SERVER_BIN")
            ?: throw AssertionError("no softtoken-server: pass -Dsofttoken.server=PATH (scripts/kotlin-test.sh builds it)")

        /** `softtoken-server add-bank NAME --json`: the bank's key. */
        fun addBank(dataDir: File, name: String): String {
            val p = ProcessBuilder(binary(), "add-bank", name, "--json", "--data-dir", dataDir.path)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .also { it.environment().remove("DATABASE_URL") }
                .start()
            val out = p.inputStream.bufferedReader().readText()
            assertTrue("add-bank exits", p.waitFor(60, TimeUnit.SECONDS))
            assertEquals("add-bank: $out", 0, p.exitValue())
            return jsonText(out, "bank_key") ?: throw AssertionError("no bank_key in $out")
        }

        /** A string field of a flat JSON object (enough for the service's answers). */
        fun jsonText(json: String, key: String): String? =
            Regex("\"" + Regex.escape(key) + "\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)

        /** A whole-number field of a flat JSON object. */
        fun jsonNumber(json: String, key: String): Long? =
            Regex("\"" + Regex.escape(key) + "\"\\s*:\\s*(-?\\d+)").find(json)?.groupValues?.get(1)?.toLong()
    }
}

/** A bank's calls to the service, over plain HTTP with its key. */
class Bank(private val url: String, private val key: String) {
    private val client = HttpClient.newHttpClient()

    /** POSTs to /v1/contracts/{contract}/{action}: the answer's outcome, and the whole answer. */
    fun call(contract: String, action: String, json: String): Pair<String?, String> {
        val request = HttpRequest.newBuilder(URI.create("$url/v1/contracts/$contract/$action"))
            .header("Authorization", "Bearer $key").header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)).build()
        val r = client.send(request, JavaHttpResponse.BodyHandlers.ofString())
        assertEquals("$action: ${r.body()}", 200, r.statusCode())
        return RealServer.jsonText(r.body(), "outcome") to r.body()
    }
}

/** A tiny HTTP server answering every request with the same status, headers and body. */
class Canned(status: Int, body: String, headers: Map<String, String> = emptyMap()) : AutoCloseable {
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    val url = "http://127.0.0.1:${server.address.port}"
    @Volatile var requests = 0

    init {
        server.createContext("/") { exchange ->
            requests++
            exchange.requestBody.readAllBytes()
            headers.forEach { (k, v) -> exchange.responseHeaders.add(k, v) }
            val bytes = body.toByteArray()
            exchange.sendResponseHeaders(status, if (bytes.isEmpty()) -1 else bytes.size.toLong())
            exchange.responseBody.use { it.write(bytes) }
        }
        server.start()
    }

    override fun close() = server.stop(0)
}

/** First start online: a token from the real service through the FFI, accepted by the bank; and every failure typed, nothing stored. */
class ProvisionTest {
    /** One real server for the tests that need it, with a bank added before it starts. */
    class Fixture : AutoCloseable {
        val dataDir: File = Files.createTempDirectory("softtoken-kotlin-server").toFile()
        val bankKey = RealServer.addBank(dataDir, "Kotlin Bank")
        val server = RealServer(dataDir, "--lockout", "$LOCKOUT")

        override fun close() {
            server.close()
            dataDir.deleteRecursively()
        }
    }

    companion object {
        /** Wrong codes in a row that lock a contract, as the bank's service is configured here. */
        const val LOCKOUT = 3
        private val fixture = lazy { Fixture() }

        @JvmStatic @AfterClass fun stop() {
            if (fixture.isInitialized()) fixture.value.close()
        }
    }

    private val server get() = fixture.value.server
    private val bankKey get() = fixture.value.bankKey

    private val transport = JavaHttpTransport()

    /** A 6-digit code that is none of the token's codes from 5 steps back to 5 ahead. */
    private fun wrongCode(vault: TokenVault, serial: String): String {
        val secret = vault.exportUri(serial).substringAfter("secret=").substringBefore("&")
        val now = System.currentTimeMillis() / 1000
        val near = (-5..5).map { generateTotp(secret, (now + it * 30).toULong(), Algorithm.SHA1, 6u.toUByte(), 30uL).value }.toSet()
        return (0..999_999).asSequence().map { "%06d".format((it * 7919) % 1_000_000) }.first { it !in near }
    }

    @Test fun aProvisionedCodeIsAcceptedByTheBank() {
        val store = MapStore()
        val vault = TokenVault(store, null)
        val token = vault.provision(server.url, transport)
        assertTrue(token.serial, token.serial.startsWith("SSTA") && token.serial.length == 12)
        assertTrue(token.issuedHere)
        assertEquals(listOf(token), TokenVault(store, null).tokens())
        // The service runs on this machine's clock: no offset.
        assertEquals(0L, vault.clockOffset())
        assertEquals(0L, vault.syncTime(server.url, transport))

        val bank = Bank(server.url, bankKey)
        val code = vault.code(token.serial)
        assertEquals("accepted", bank.call("K-1", "register", """{"serial":"${token.serial}","code":"${code.value}"}""").first)
        assertEquals("accepted", bank.call("K-1", "login", """{"code":"${code.nextValue}"}""").first)
        assertEquals("replayed", bank.call("K-1", "login", """{"code":"${code.nextValue}"}""").first)
        // Wrong codes count down to the lockout at the threshold; then even a right code is refused.
        val wrong = wrongCode(vault, token.serial)
        val left = (1..LOCKOUT).map {
            val (outcome, body) = bank.call("K-1", "login", """{"code":"$wrong"}""")
            assertEquals(body, "wrong_code", outcome)
            RealServer.jsonNumber(body, "attempts_left")
        }
        assertEquals((LOCKOUT - 1 downTo 0).map { it.toLong() }, left)
        val fresh = vault.code(token.serial)
        assertEquals("locked", bank.call("K-1", "login", """{"code":"${fresh.value}"}""").first)
    }

    @Test fun theRealServiceRateLimitsAndNothingIsStored() {
        val dir = Files.createTempDirectory("softtoken-kotlin-limited").toFile()
        RealServer(dir, "--issue-per-minute", "1", "--issue-burst", "1").use { limited ->
            val store = MapStore()
            val vault = TokenVault(store, null)
            val first = vault.provision(limited.url, transport)
            val before = store.map.mapValues { it.value.toList() }
            val e = assertThrows(SoftTokenException.RateLimited::class.java) { vault.provision(limited.url, transport) }
            val seconds = Regex("""try again in (\d+) s$""").find(e.message!!)?.groupValues?.get(1)?.toLong()
            assertTrue(e.message!!, seconds != null && seconds in 1..60)
            assertEquals(listOf(first), vault.tokens())
            assertEquals(before, store.map.mapValues { it.value.toList() })
        }
        dir.deleteRecursively()
    }

    @Test fun twoProvisionsGiveTwoTokensAndAFailingStoreKeepsTheVault() {
        val map = MapStore()
        val vault = TokenVault.withPrefix(map, null, "SSTI")
        val a = vault.provision(server.url, transport)
        val b = vault.provision(server.url + "/", transport)
        assertTrue(a.serial.startsWith("SSTI"))
        assertNotEquals(a.serial, b.serial)
        assertEquals(listOf(a, b), vault.tokens())
        val before = map.map.mapValues { it.value.toList() }
        val failing = TokenVault.withPrefix(FailingWrites(map), null, "SSTI")
        assertThrows(SoftTokenException.Store::class.java) { failing.provision(server.url, transport) }
        assertEquals(listOf(a, b), failing.tokens())
        assertEquals(before, map.map.mapValues { it.value.toList() })
    }

    @Test fun serverDownIsOfflineAndStoresNothing() {
        val port = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
        val store = MapStore()
        val vault = TokenVault(store, null)
        val e = assertThrows(SoftTokenException.Offline::class.java) { vault.provision("http://127.0.0.1:$port", transport) }
        assertTrue(e.message!!, e.message!!.startsWith("cannot reach the token service at http://127.0.0.1:$port"))
        assertThrows(SoftTokenException.Offline::class.java) { vault.syncTime("http://127.0.0.1:$port", transport) }
        assertTrue(vault.tokens().isEmpty())
        assertTrue(store.map.isEmpty())
        // Any exception the transport throws arrives the same way.
        val broken = object : HttpTransport {
            override fun post(url: String, body: ByteArray): HttpResponse = throw IllegalStateException("no network stack")
            override fun get(url: String): HttpResponse = throw IllegalStateException("no network stack")
        }
        val thrown = assertThrows(SoftTokenException.Offline::class.java) { vault.provision("http://127.0.0.1:$port", broken) }
        assertTrue(thrown.message!!, thrown.message!!.contains("no network stack"))
        assertTrue(store.map.isEmpty())
    }

    @Test fun rateLimitedSaysWhenToTryAgain() {
        Canned(429, """{"error":"too many tokens from this address","retry_after":42}""", mapOf("Retry-After" to "42")).use { canned ->
            val store = MapStore()
            val e = assertThrows(SoftTokenException.RateLimited::class.java) { TokenVault(store, null).provision(canned.url, transport) }
            assertTrue(e.message!!, e.message!!.endsWith("try again in 42 s"))
            assertEquals(1, canned.requests)
            assertTrue(store.map.isEmpty())
        }
    }

    @Test fun garbledOrForeignAnswersAreRefused() {
        val answers = listOf(
            Canned(201, """{"serial":"SSTA12345678","secret":"JBSW"""),
            Canned(201, "\u0000\u0001 not json"),
            Canned(404, "<html><h1>Not Found</h1></html>"),
            Canned(200, "<html>Sign in to the hotel Wi-Fi</html>"),
            Canned(302, "", mapOf("Location" to "http://portal.example/")),
        )
        for (canned in answers) canned.use {
            val store = MapStore()
            val vault = TokenVault(store, FixedClock(1_764_345_600uL))
            val e = assertThrows(SoftTokenException.BadResponse::class.java) { vault.provision(it.url, transport) }
            assertTrue(e.message!!, e.message!!.contains("is not a softtoken service's answer"))
            assertTrue(store.map.isEmpty())
        }
        Canned(200, """{"server_time":"soon"}""").use {
            val vault = TokenVault(MapStore(), null)
            assertThrows(SoftTokenException.BadResponse::class.java) { vault.syncTime(it.url, transport) }
            assertEquals(0L, vault.clockOffset())
        }
    }

    @Test fun syncTimeTakesTheServicesClock() {
        val clock = FixedClock(1_700_000_000uL)
        Canned(200, """{"server_time":1700000600,"extra":{"ignored":[1.5,true]}}""").use {
            val vault = TokenVault(MapStore(), clock)
            assertEquals(600L, vault.syncTime(it.url, transport))
            assertEquals(600L, vault.clockOffset())
        }
        assertThrows(SoftTokenException.InvalidParameter::class.java) { TokenVault(MapStore(), clock).syncTime("localhost:8080", transport) }
    }
}
