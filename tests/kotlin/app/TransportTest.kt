package dev.softtoken.tests.app

import com.sun.net.httpserver.HttpServer
import dev.softtoken.HostException
import dev.softtoken.app.core.ServiceUrl
import dev.softtoken.app.core.UrlConnectionTransport
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

class TransportTest {
    @Test fun serviceUrlsAreHttpsOrLoopbackInDevelopmentOnly() {
        assertEquals("https://token.example.jp", ServiceUrl.check("https://token.example.jp/", false))
        assertEquals("https://token.example.jp/base", ServiceUrl.check(" https://token.example.jp/base ", false))
        assertEquals("http://127.0.0.1:8080", ServiceUrl.check("http://127.0.0.1:8080", true))
        assertEquals("http://localhost:8080", ServiceUrl.check("http://localhost:8080/", true))
        assertEquals("http://[::1]:8080", ServiceUrl.check("http://[::1]:8080", true))
        for ((url, dev) in listOf(
            "http://127.0.0.1:8080" to false, // a release build: no cleartext at all
            "http://token.example.jp" to true, // cleartext off the device, even in development
            "http://127.0.0.1.example.jp" to true,
            "http://10.0.2.2:8080" to true,
            "ftp://token.example.jp" to true,
            "https://token.example.jp/?x=1" to false,
            "token.example.jp" to false,
            "https://" to false,
        )) {
            assertThrows(url, IllegalArgumentException::class.java) { ServiceUrl.check(url, dev) }
        }
        assertTrue(ServiceUrl.isLoopback("127.3.2.1"))
        assertFalse(ServiceUrl.isLoopback("127.0.0.256"))
        assertFalse(ServiceUrl.isLoopback("localhost.example.jp"))
    }

    @Test fun postsJsonAndReturnsEveryAnswerWithItsStatus() {
        val server = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4)
        val seen = mutableListOf<String>()
        server.createContext("/echo") { ex ->
            val body = ex.requestBody.readBytes()
            seen += "${ex.requestMethod} ${ex.requestHeaders.getFirst("Content-Type")} ${body.decodeToString()}"
            ex.sendResponseHeaders(201, body.size.toLong())
            ex.responseBody.use { it.write(body) }
        }
        server.createContext("/busy") { ex ->
            ex.responseHeaders.add("Retry-After", "42")
            val body = """{"error":"slow down","retry_after":42}""".toByteArray()
            ex.sendResponseHeaders(429, body.size.toLong())
            ex.responseBody.use { it.write(body) }
        }
        server.createContext("/big") { ex ->
            ex.sendResponseHeaders(200, 0)
            ex.responseBody.use { out -> repeat(100) { out.write(ByteArray(1024) { 'x'.code.toByte() }) } }
        }
        server.start()
        try {
            val base = "http://127.0.0.1:${server.address.port}"
            val transport = UrlConnectionTransport(maxBodyBytes = 4096)
            val echo = transport.post("$base/echo", """{"platform":"android"}""".toByteArray())
            assertEquals(201.toUShort(), echo.status)
            assertEquals("""{"platform":"android"}""", echo.body.decodeToString())
            assertNull(echo.retryAfterSeconds)
            assertEquals(listOf("""POST application/json {"platform":"android"}"""), seen)
            // An error status is an answer, not a transport failure: the core judges it.
            val busy = transport.get("$base/busy")
            assertEquals(429.toUShort(), busy.status)
            assertEquals(42uL, busy.retryAfterSeconds)
            assertTrue(busy.body.decodeToString().contains("slow down"))
            assertEquals(404.toUShort(), transport.get("$base/nothing-here").status)
            // Answers are cut at the cap, never read without bound.
            assertEquals(4096, transport.get("$base/big").body.size)
        } finally {
            server.stop(0)
        }
    }

    @Test fun noAnswerAtAllIsAHostException() {
        val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        val e = assertThrows(HostException.Failed::class.java) {
            UrlConnectionTransport(connectTimeoutMillis = 2000).post("http://127.0.0.1:$port/v1/tokens", "{}".toByteArray())
        }
        assertTrue(e.message, e.message!!.contains("no answer from http://127.0.0.1:$port/v1/tokens"))
        assertEquals(null, UrlConnectionTransport.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT"))
        assertEquals(3uL, UrlConnectionTransport.retryAfterSeconds(" 3 "))
    }

    @Test fun cleartextReachesTheLoopbackInDevelopmentBuildsOnly() {
        val cleartextDomains = Regex("<domain-config cleartextTrafficPermitted=\"true\">(.*?)</domain-config>", RegexOption.DOT_MATCHES_ALL)
        val domain = Regex("<domain[^>]*>([^<]+)</domain>")
        // Android release (main): no cleartext anywhere; debug: only to the loopback.
        val main = java.io.File("android/app/src/main/res/xml/network_security_config.xml").readText()
        assertTrue(main.contains("<base-config cleartextTrafficPermitted=\"false\">"))
        assertFalse(main.contains("cleartextTrafficPermitted=\"true\""))
        val debug = java.io.File("android/app/src/debug/res/xml/network_security_config.xml").readText()
        assertTrue(debug.contains("<base-config cleartextTrafficPermitted=\"false\">"))
        val allowed = cleartextDomains.findAll(debug).flatMap { block -> domain.findAll(block.groupValues[1]).map { it.groupValues[1].trim() } }.toList()
        assertEquals(listOf("localhost", "127.0.0.1"), allowed)
        assertTrue(allowed.all(ServiceUrl::isLoopback))
        val manifest = java.io.File("android/app/src/main/AndroidManifest.xml").readText()
        assertTrue(manifest.contains("android:networkSecurityConfig=\"@xml/network_security_config\""))
        // iOS: the ATS exception (localhost only) sits inside the Debug-only preprocessor block.
        val plist = java.io.File("ios/App/SoftTokenApp/Info.plist").readText()
        val block = plist.substringAfter("#if SOFTTOKEN_DEV_LOOPBACK").substringBefore("#endif")
        assertTrue(block.contains("<key>localhost</key>") && block.contains("NSExceptionAllowsInsecureHTTPLoads"))
        assertFalse(plist.replace(block, "").contains("NSAppTransportSecurity"))
        assertFalse(plist.contains("NSAllowsArbitraryLoads") || plist.contains("NSAllowsLocalNetworking"))
        val project = java.io.File("ios/App/project.yml").readText()
        assertEquals(1, Regex("SOFTTOKEN_DEV_LOOPBACK=1").findAll(project).count())
        val debugStart = project.indexOf("      configs:\n        Debug:\n")
        val releaseStart = project.indexOf("        Release:\n", debugStart)
        assertTrue(debugStart in 0 until releaseStart)
        assertTrue(project.substring(debugStart, releaseStart).contains("SOFTTOKEN_DEV_LOOPBACK=1"))
    }
}
