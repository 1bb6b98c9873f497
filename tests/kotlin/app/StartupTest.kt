package dev.softtoken.tests.app

import dev.softtoken.HostException
import dev.softtoken.HttpResponse
import dev.softtoken.HttpTransport
import dev.softtoken.Outcome
import dev.softtoken.TokenVault
import dev.softtoken.iosPrefix
import dev.softtoken.app.core.ClockStatus
import dev.softtoken.app.core.FirstRun
import dev.softtoken.app.core.StartState
import dev.softtoken.app.core.Startup
import dev.softtoken.app.core.UrlConnectionTransport
import dev.softtoken.tests.MapStore
import java.net.InetAddress
import java.net.ServerSocket
import kotlin.math.abs
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** Counts the transport's calls and can fail them all, as a phone without a network does. */
class CountingTransport(private val inner: HttpTransport) : HttpTransport {
    @Volatile var offline = false
    var calls = 0
    override fun post(url: String, body: ByteArray): HttpResponse {
        calls += 1
        if (offline) throw HostException.Failed("network is unreachable")
        return inner.post(url, body)
    }
    override fun get(url: String): HttpResponse {
        calls += 1
        if (offline) throw HostException.Failed("network is unreachable")
        return inner.get(url)
    }
}

class StartupTest {
    private fun startup(store: MapStore, url: String, transport: HttpTransport, marker: MemoryMarker = MemoryMarker()) =
        Startup(FirstRun(marker) { store.map.clear() }, { TokenVault(store, null) }, url, transport, allowLoopbackCleartext = true)

    @Test fun theFirstStartProvisionsAndTheBankAcceptsItsCode() = FakeService().use { service ->
        service.skewSeconds = 120
        val store = MapStore()
        val seen = mutableListOf<StartState>()
        val start = startup(store, service.url, UrlConnectionTransport())
        val ready = start.run { seen += it } as StartState.Ready
        assertEquals(listOf<StartState>(StartState.Provisioning), seen)
        val token = assertNotNull(ready.provisioned).let { ready.provisioned!! }
        assertEquals(service.issued.single().serial, token.serial)
        assertTrue(Startup.isServiceToken(token))
        // The offset comes from the service's time (the service's clock is 120 s ahead here).
        val clock = ready.clock as ClockStatus.Synced
        assertTrue("offset ${clock.offsetSeconds}", abs(clock.offsetSeconds - 120) <= 2)
        assertEquals(clock.offsetSeconds, ready.vault.clockOffset())
        // The code this app shows is the one the bank's verifier accepts.
        val code = ready.vault.code(token.serial).value
        assertEquals(Outcome.Accepted, service.bank.register("contract-1", token.serial, code))
        // The request was the protocol's.
        assertTrue(service.requests.first(), service.requests.first().startsWith("POST /v1/tokens application/json"))
    }

    @Test fun everyLaterStartResyncsTheClockAndNeverProvisionsAgain() = FakeService().use { service ->
        val store = MapStore()
        val marker = MemoryMarker()
        val first = startup(store, service.url, UrlConnectionTransport(), marker).run() as StartState.Ready
        service.skewSeconds = -300
        val again = startup(store, service.url, UrlConnectionTransport(), marker).run() as StartState.Ready
        assertNull(again.provisioned)
        assertEquals(listOf(first.provisioned!!.serial), again.vault.tokens().map { it.serial })
        val synced = again.clock as ClockStatus.Synced
        assertTrue("offset ${synced.offsetSeconds}", abs(synced.offsetSeconds + 300) <= 2)
        assertEquals(1, service.issued.size)
        // The service's time unavailable: the start still succeeds, keeping the stored offset, and says why.
        service.timeStatus = 503
        val third = startup(store, service.url, UrlConnectionTransport(), marker)
        val notSynced = (third.run() as StartState.Ready).clock as ClockStatus.NotSynced
        assertEquals(synced.offsetSeconds, notSynced.offsetSeconds)
        assertTrue(notSynced.detail.isNotBlank())
        // On demand from the settings screen, once the service answers again.
        service.timeStatus = 200
        service.skewSeconds = 60
        val onDemand = third.syncClock() as ClockStatus.Synced
        assertTrue("offset ${onDemand.offsetSeconds}", abs(onDemand.offsetSeconds - 60) <= 2)
    }

    @Test fun offlineStoresNothingAndTheRetryProvisions() = FakeService().use { service ->
        val store = MapStore()
        val transport = CountingTransport(UrlConnectionTransport())
        transport.offline = true
        val start = startup(store, service.url, transport)
        val offline = start.run()
        assertTrue("$offline", offline is StartState.Offline)
        assertTrue((offline as StartState.Offline).detail.isNotBlank())
        assertTrue(TokenVault(store, null).tokens().isEmpty())
        transport.offline = false
        val ready = start.run() as StartState.Ready
        assertNotNull(ready.provisioned)
        assertEquals(1, TokenVault(store, null).tokens().size)
    }

    @Test fun aServiceThatIsDownIsOfflineToo() {
        val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        val store = MapStore()
        val state = startup(store, "http://127.0.0.1:$port", UrlConnectionTransport(connectTimeoutMillis = 2000)).run()
        assertTrue("$state", state is StartState.Offline)
        assertTrue(TokenVault(store, null).tokens().isEmpty())
    }

    @Test fun rateLimitedGarbledAndRefusedAreStatesWithNothingStored() = FakeService().use { service ->
        val expected = mapOf(
            FakeService.Mode.RATE_LIMITED to StartState.RateLimited::class,
            FakeService.Mode.GARBLED to StartState.ServiceFailed::class,
            FakeService.Mode.REFUSED to StartState.ServiceFailed::class,
        )
        for ((mode, kind) in expected) {
            service.mode = mode
            val store = MapStore()
            val state = startup(store, service.url, UrlConnectionTransport()).run()
            assertEquals("$mode: $state", kind, state::class)
            assertTrue(TokenVault(store, null).tokens().isEmpty())
        }
        service.mode = FakeService.Mode.RATE_LIMITED
        val limited = startup(MapStore(), service.url, UrlConnectionTransport()).run() as StartState.RateLimited
        assertTrue(limited.detail, limited.detail.contains("7"))
    }

    @Test fun aReinstallNeverBringsBackTheOldSerial() = FakeService().use { service ->
        // A previous installation's items survived in the store (as Keychain items survive deleting an iOS app).
        val store = MapStore()
        val old = startup(store, service.url, UrlConnectionTransport()).run() as StartState.Ready
        val oldSerial = old.provisioned!!.serial
        // Reinstalled: the app's defaults (and the marker in them) are gone.
        val fresh = startup(store, service.url, UrlConnectionTransport(), MemoryMarker(present = false)).run() as StartState.Ready
        assertNotEquals(oldSerial, fresh.provisioned!!.serial)
        assertFalse(fresh.vault.tokens().any { it.serial == oldSerial })
        // Same installation, started again: the token stays.
        val marker = MemoryMarker(present = true)
        val same = startup(store, service.url, UrlConnectionTransport(), marker).run() as StartState.Ready
        assertEquals(listOf(fresh.provisioned!!.serial), same.vault.tokens().map { it.serial })
    }

    @Test fun aReleaseBuildRefusesACleartextServiceBeforeAnyRequest() {
        val store = MapStore()
        val transport = CountingTransport(UrlConnectionTransport())
        val start = Startup(FirstRun(MemoryMarker()) { store.map.clear() }, { TokenVault(store, null) }, "http://127.0.0.1:9", transport, false)
        val state = start.run()
        assertTrue("$state", state is StartState.Unreadable)
        assertEquals(0, transport.calls)
    }

    @Test fun theIosPrefixComesFromTheCoreAndAsksForAnIosToken() = FakeService().use { service ->
        assertEquals("SSTI", iosPrefix())
        val store = MapStore()
        val start = Startup(FirstRun(MemoryMarker()) { store.map.clear() }, { TokenVault.withPrefix(store, null, iosPrefix()) }, service.url, UrlConnectionTransport(), true)
        assertTrue(start.run() is StartState.Ready)
        assertTrue(service.requests.first(), service.requests.first().endsWith("""{"platform":"ios"}"""))
    }

    @Test fun reissueGetsANewTokenFromTheServiceAndKeepsTheOldWhenOffline() = FakeService().use { service ->
        val store = MapStore()
        val transport = CountingTransport(UrlConnectionTransport())
        val start = startup(store, service.url, transport)
        val first = (start.run() as StartState.Ready).provisioned!!
        transport.offline = true
        assertTrue(runCatching { start.reissue(first.serial) }.exceptionOrNull() is dev.softtoken.SoftTokenException.Offline)
        assertEquals(listOf(first.serial), TokenVault(store, null).tokens().map { it.serial })
        transport.offline = false
        val fresh = start.reissue(first.serial)
        assertNotEquals(first.serial, fresh.serial)
        assertEquals(service.issued.last().serial, fresh.serial)
        assertEquals(listOf(fresh.serial), TokenVault(store, null).tokens().map { it.serial })
        // The bank knows the new token: the service minted it.
        val vault = TokenVault(store, null)
        assertEquals(Outcome.Accepted, service.bank.register("contract-2", fresh.serial, vault.code(fresh.serial).value))
    }
}
