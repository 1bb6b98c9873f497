package dev.softtoken.tests.app

import com.sun.net.httpserver.HttpServer
import dev.softtoken.Clock
import dev.softtoken.IssuedToken
import dev.softtoken.Verifier
import java.net.InetAddress
import java.net.InetSocketAddress
import java.util.concurrent.CopyOnWriteArrayList

/**
 * A stand-in for softtoken-server on 127.0.0.1 speaking the protocol's app side
 * (POST /v1/tokens, GET /v1/time), with a real Verifier minting the tokens, so a
 * test can check that the bank accepts the provisioned token's codes. [mode] picks
 * how POST /v1/tokens answers; the real server's end-to-end test is the provisioning
 * engineer's (tests/kotlin).
 */
class FakeService : AutoCloseable {
    enum class Mode { ISSUE, RATE_LIMITED, GARBLED, REFUSED }

    @Volatile var mode = Mode.ISSUE

    /** How far the service's clock (and its bank's) is ahead of this machine's. */
    @Volatile var skewSeconds = 0L

    /** The bank behind the service, on the service's clock. */
    val bank = Verifier(object : Clock {
        override fun nowUnixSeconds(): ULong = (System.currentTimeMillis() / 1000 + skewSeconds).toULong()
    })
    @Volatile var timeStatus = 200
    val requests = CopyOnWriteArrayList<String>()
    val issued = CopyOnWriteArrayList<IssuedToken>()
    private val server = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16)

    init {
        server.createContext("/v1/tokens") { ex ->
            val body = ex.requestBody.readBytes().decodeToString()
            requests += "${ex.requestMethod} ${ex.requestURI.path} ${ex.requestHeaders.getFirst("Content-Type")} $body"
            val (status, reply) = when (mode) {
                Mode.ISSUE -> 201 to issue()
                Mode.RATE_LIMITED -> {
                    ex.responseHeaders.add("Retry-After", "7")
                    429 to """{"error":"too many tokens from this address; try again in 7 s","retry_after":7}"""
                }
                Mode.GARBLED -> 201 to "<html><body>captive portal</body></html>"
                Mode.REFUSED -> 400 to """{"error":"unknown platform"}"""
            }
            send(ex, status, reply)
        }
        server.createContext("/v1/time") { ex ->
            requests += "${ex.requestMethod} ${ex.requestURI.path}"
            val now = System.currentTimeMillis() / 1000 + skewSeconds
            if (timeStatus == 200) send(ex, 200, """{"server_time":$now}""") else send(ex, timeStatus, """{"error":"maintenance"}""")
        }
        server.start()
    }

    /** The base URL, e.g. http://127.0.0.1:40123. */
    val url: String get() = "http://127.0.0.1:${server.address.port}"

    private fun issue(): String {
        val token = bank.issueToken("SSTA")
        issued += token
        val secret = Regex("[?&]secret=([A-Z2-7]+)").find(token.keyUri)!!.groupValues[1]
        val now = System.currentTimeMillis() / 1000 + skewSeconds
        return """{"serial":"${token.serial}","secret":"$secret","algorithm":"SHA1","digits":6,"period":30,""" +
            """"key_uri":"${token.keyUri}","server_time":$now,"future_field":true}"""
    }

    private fun send(ex: com.sun.net.httpserver.HttpExchange, status: Int, body: String) {
        val bytes = body.toByteArray()
        ex.responseHeaders.add("Content-Type", "application/json")
        ex.sendResponseHeaders(status, bytes.size.toLong())
        ex.responseBody.use { it.write(bytes) }
    }

    override fun close() = server.stop(0)
}
