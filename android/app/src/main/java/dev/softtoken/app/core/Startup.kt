package dev.softtoken.app.core

import dev.softtoken.HttpTransport
import dev.softtoken.SoftTokenException
import dev.softtoken.TokenInfo
import dev.softtoken.TokenVault

/** How the clock offset stands, as the settings screen shows it. */
sealed class ClockStatus {
    /** The offset in seconds the vault applies to this device's clock. */
    abstract val offsetSeconds: Long

    /** Set from the service's time on this start (or on demand). */
    data class Synced(override val offsetSeconds: Long) : ClockStatus()

    /** The service's time could not be read: the stored offset stays, [detail] says why. */
    data class NotSynced(override val offsetSeconds: Long, val detail: String) : ClockStatus()

    /** Set by hand in the settings dialog. */
    data class Manual(override val offsetSeconds: Long) : ClockStatus()
}

/** The app's start, as the screen draws it before the token screen. */
sealed class StartState {
    /** Opening the store (and, on an installation's first start, clearing what a previous one left). */
    object Opening : StartState()

    /** Asking the service for this installation's token: a progress indicator. */
    object Provisioning : StartState()

    /** No connection to the service: say so, offer a retry. Nothing was stored. */
    data class Offline(val detail: String) : StartState()

    /** The service asked to wait (429): say so, offer a retry. Nothing was stored. */
    data class RateLimited(val detail: String) : StartState()

    /** The service refused or answered something that is not its answer: say so, offer a retry. Nothing was stored. */
    data class ServiceFailed(val detail: String) : StartState()

    /** The store cannot be read or the build's service URL is unusable: nothing to retry, nothing overwritten. */
    data class Unreadable(val detail: String) : StartState()

    /** The vault is open and holds this installation's token: the token screen takes over. */
    data class Ready(val vault: TokenVault, val provisioned: TokenInfo?, val clock: ClockStatus) : StartState()
}

/**
 * The app's start, free of Android and iOS: on an installation's first start it
 * clears what a previous installation left (T5, [FirstRun]); it opens the vault;
 * when the vault holds no token of the service yet it provisions one through the
 * FFI (T2) and otherwise re-reads the service's time, so the clock offset is fresh
 * on every start. Every failure is a state the screen can draw, never a crash, and
 * a failed provisioning stores nothing: [run] again is the retry. Blocking: the
 * Android shell calls it on Dispatchers.IO, one call at a time.
 */
class Startup(
    private val firstRun: FirstRun,
    private val openVault: () -> TokenVault,
    /** The service's base URL as the build sets it. */
    private val serviceUrl: String,
    private val transport: HttpTransport,
    /** True in development builds only: plain HTTP to this device's loopback. */
    private val allowLoopbackCleartext: Boolean,
) {
    private var vault: TokenVault? = null

    /** The last state [run] reached. */
    @Volatile
    var state: StartState = StartState.Opening
        private set

    /** Runs the start (again, as the retry); [progress] sees [StartState.Provisioning] before the request goes out. */
    fun run(progress: (StartState) -> Unit = {}): StartState {
        state = attempt(progress)
        return state
    }

    private fun attempt(progress: (StartState) -> Unit): StartState {
        val url = try {
            ServiceUrl.check(serviceUrl, allowLoopbackCleartext)
        } catch (e: IllegalArgumentException) {
            return StartState.Unreadable(e.message ?: "the service URL is unusable")
        }
        val v = vault ?: try {
            firstRun.prepare()
            openVault().also { vault = it }
        } catch (e: SoftTokenException) {
            return StartState.Unreadable(e.message ?: e.javaClass.simpleName)
        } catch (e: Exception) {
            return StartState.Unreadable(e.message ?: e.javaClass.simpleName)
        }
        if (v.tokens().any(::isServiceToken)) {
            return StartState.Ready(v, null, syncClock(v, url))
        }
        progress(StartState.Provisioning)
        return try {
            val token = v.provision(url, transport)
            StartState.Ready(v, token, ClockStatus.Synced(v.clockOffset()))
        } catch (e: SoftTokenException.Offline) {
            StartState.Offline(e.message ?: "")
        } catch (e: SoftTokenException.RateLimited) {
            StartState.RateLimited(e.message ?: "")
        } catch (e: SoftTokenException.BadResponse) {
            StartState.ServiceFailed(e.message ?: "")
        } catch (e: SoftTokenException.ServiceRefused) {
            StartState.ServiceFailed(e.message ?: "")
        } catch (e: SoftTokenException) {
            StartState.ServiceFailed(e.message ?: e.javaClass.simpleName)
        }
    }

    /**
     * Replaces this installation's token [serial] with a new one from the service (a
     * new serial, T5; a token issued on the phone would be unknown to the bank). The
     * new token is stored before the old one is deleted, so a failure to reach the
     * service leaves the old one as it was. Throws the core's typed errors.
     */
    fun reissue(serial: String): TokenInfo {
        val v = vault ?: throw IllegalStateException("the app has not started")
        val url = ServiceUrl.check(serviceUrl, allowLoopbackCleartext)
        val old = v.tokens().firstOrNull { it.serial == serial && isServiceToken(it) }
            ?: throw IllegalArgumentException("$serial is not this installation's token")
        val fresh = v.provision(url, transport)
        v.delete(old.serial)
        return fresh
    }

    /** Re-reads the service's time (on demand from the settings screen); needs a started vault. */
    fun syncClock(): ClockStatus? {
        val v = vault ?: return null
        val url = try {
            ServiceUrl.check(serviceUrl, allowLoopbackCleartext)
        } catch (e: IllegalArgumentException) {
            return ClockStatus.NotSynced(v.clockOffset(), e.message ?: "")
        }
        return syncClock(v, url)
    }

    private fun syncClock(v: TokenVault, url: String): ClockStatus = try {
        ClockStatus.Synced(v.syncTime(url, transport))
    } catch (e: SoftTokenException) {
        ClockStatus.NotSynced(v.clockOffset(), e.message ?: e.javaClass.simpleName)
    }

    companion object {
        /** True for the token the service issued to this installation (the bank's token). */
        fun isServiceToken(t: TokenInfo): Boolean = t.issuedHere
    }
}
