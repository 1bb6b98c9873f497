package dev.softtoken.app.core

import dev.softtoken.HostException
import dev.softtoken.HttpResponse
import dev.softtoken.HttpTransport
import java.io.ByteArrayOutputStream
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.URI

/** The token service's address as the build sets it, checked before any request: HTTPS, or plain HTTP to this device's loopback in development builds. */
object ServiceUrl {
    /** [url] without a trailing slash, or an [IllegalArgumentException] that says what is wrong with it. */
    fun check(url: String, allowLoopbackCleartext: Boolean): String {
        val uri = try {
            URI(url.trim())
        } catch (e: Exception) {
            throw IllegalArgumentException("the service URL \"$url\" is not a URL")
        }
        val host = uri.host ?: throw IllegalArgumentException("the service URL \"$url\" has no host")
        when (uri.scheme?.lowercase()) {
            "https" -> Unit
            "http" -> require(allowLoopbackCleartext && isLoopback(host)) {
                "the service URL \"$url\" is not HTTPS (plain HTTP is allowed to this device's loopback in development builds only)"
            }
            else -> throw IllegalArgumentException("the service URL \"$url\" is not HTTPS")
        }
        require(uri.rawQuery == null && uri.rawFragment == null) { "the service URL \"$url\" must not have a query or fragment" }
        return url.trim().trimEnd('/')
    }

    /** True for localhost, 127.0.0.0/8 and ::1, the only hosts cleartext may reach. */
    fun isLoopback(host: String): Boolean {
        val h = host.lowercase().removePrefix("[").removeSuffix("]")
        if (h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1") return true
        val parts = h.split('.')
        return parts.size == 4 && parts[0] == "127" && parts.all { p -> p.toIntOrNull()?.let { it in 0..255 } == true }
    }
}

/**
 * The core's HTTP hook over `java.net.HttpURLConnection`: the Android app's
 * transport, and the JVM tests' too. Blocking: call it off the main thread (the
 * app does, on Dispatchers.IO). No answer at all (no network, refused, timed out)
 * is a [HostException], which the core reports as "cannot reach the service";
 * any answer, whatever its status, goes back to the core to judge.
 */
class UrlConnectionTransport(
    private val connectTimeoutMillis: Int = 10_000,
    private val readTimeoutMillis: Int = 15_000,
    /** Answers longer than this are cut (the service's are a few hundred bytes). */
    private val maxBodyBytes: Int = 64 * 1024,
) : HttpTransport {
    override fun post(url: String, body: ByteArray): HttpResponse = exchange(url) { c ->
        c.requestMethod = "POST"
        c.doOutput = true
        c.setRequestProperty("Content-Type", "application/json")
        c.setFixedLengthStreamingMode(body.size)
        c.outputStream.use { it.write(body) }
    }

    override fun get(url: String): HttpResponse = exchange(url) { c -> c.requestMethod = "GET" }

    private fun exchange(url: String, send: (HttpURLConnection) -> Unit): HttpResponse {
        val connection = try {
            URI(url).toURL().openConnection() as HttpURLConnection
        } catch (e: Exception) {
            throw HostException.Failed("cannot open $url: ${e.message ?: e.javaClass.simpleName}")
        }
        try {
            connection.connectTimeout = connectTimeoutMillis
            connection.readTimeout = readTimeoutMillis
            connection.instanceFollowRedirects = false
            connection.useCaches = false
            connection.setRequestProperty("Accept", "application/json")
            send(connection)
            val status = connection.responseCode
            if (status < 0) throw HostException.Failed("$url answered with no HTTP status")
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val bytes = stream?.use { readCapped(it) } ?: ByteArray(0)
            return HttpResponse(status.toUShort(), bytes, retryAfterSeconds(connection.getHeaderField("Retry-After")))
        } catch (e: HostException) {
            throw e
        } catch (e: IOException) {
            throw HostException.Failed("no answer from $url: ${e.message ?: e.javaClass.simpleName}")
        } finally {
            connection.disconnect()
        }
    }

    private fun readCapped(input: InputStream): ByteArray {
        val out = ByteArrayOutputStream()
        val buffer = ByteArray(8192)
        while (out.size() < maxBodyBytes) {
            val n = input.read(buffer, 0, minOf(buffer.size, maxBodyBytes - out.size()))
            if (n < 0) break
            out.write(buffer, 0, n)
        }
        return out.toByteArray()
    }

    companion object {
        /** The `Retry-After` header in seconds (the service sends seconds; an HTTP date is left to the body's `retry_after`). */
        fun retryAfterSeconds(header: String?): ULong? = header?.trim()?.toULongOrNull()
    }
}
