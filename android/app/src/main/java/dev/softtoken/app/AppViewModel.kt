package dev.softtoken.app

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import dev.softtoken.TokenVault
import dev.softtoken.app.core.ClockStatus
import dev.softtoken.app.core.EncryptedStore
import dev.softtoken.app.core.FirstRun
import dev.softtoken.app.core.Message
import dev.softtoken.app.core.ScreenState
import dev.softtoken.app.core.StartState
import dev.softtoken.app.core.Startup
import dev.softtoken.app.core.TokenScreenModel
import dev.softtoken.app.core.UrlConnectionTransport
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext

/** A one-off notice for the snackbar: the model's messages and the shell's own. */
sealed class Notice {
    /** A message of the token screen's model. */
    data class Model(val message: Message) : Notice()

    /** The code went to the clipboard (cleared after 60 s). */
    object CodeCopied : Notice()

    /** The serial went to the clipboard. */
    object SerialCopied : Notice()

    /** The device has no clipboard service. */
    object NoClipboard : Notice()

    /** The clock offset was set from the service's time. */
    data class ClockSynced(val offsetSeconds: Long) : Notice()

    /** The service's time could not be read. */
    data class ClockNotSynced(val detail: String) : Notice()
}

/**
 * The app's state across configuration changes, and the one place store and
 * network work happens: every call into the vault runs on Dispatchers.IO, one at
 * a time (a mutex), so the once-a-second tick and the user's actions never change
 * the state at once and nothing blocks the main thread. Screens read the flows.
 */
class AppViewModel(app: Application) : AndroidViewModel(app) {
    private val dir: File = app.noBackupFilesDir
    private val files = PrivateFiles(dir)
    private val cipher = KeystoreCipher()
    private val startup = Startup(
        firstRun = FirstRun(FileMarker(File(dir, "installed.marker"))) {
            // A previous installation's records and key (T5): the first token must be a new one.
            files.deleteAll(".sealed")
            cipher.deleteKey()
        },
        openVault = { TokenVault(EncryptedStore(cipher, files), null) },
        serviceUrl = BuildConfig.SERVICE_URL,
        transport = UrlConnectionTransport(),
        allowLoopbackCleartext = BuildConfig.ALLOW_LOOPBACK_CLEARTEXT,
    )
    private val work = Mutex()
    private var model: TokenScreenModel? = null
    private var vault: TokenVault? = null

    private val _start = MutableStateFlow<StartState>(StartState.Opening)

    /** The start: progress, offline with a retry, or ready. */
    val start: StateFlow<StartState> = _start.asStateFlow()

    private val _screen = MutableStateFlow<ScreenState>(ScreenState.Loading)

    /** The token screen once the start is ready. */
    val screen: StateFlow<ScreenState> = _screen.asStateFlow()

    private val _clock = MutableStateFlow<ClockStatus?>(null)

    /** How the clock offset stands, for the settings screen. */
    val clock: StateFlow<ClockStatus?> = _clock.asStateFlow()

    private val _notices = Channel<Notice>(Channel.BUFFERED)

    /** Notices to show once each, in order (a snackbar), whatever the tick does to the screen state. */
    val notices = _notices.receiveAsFlow()

    init {
        retry()
    }

    /** Runs the start (first start: provisioning); again after "no connection". */
    fun retry() {
        viewModelScope.launch {
            val state = serial {
                startup.run { progress -> _start.value = progress }
            }
            if (state is StartState.Ready) {
                vault = state.vault
                _clock.value = state.clock
                val m = TokenScreenModel(openVault = { state.vault }, renew = startup::reissue)
                model = m
                val screen = serial { m.start() }
                state.provisioned?.let { _notices.send(Notice.Model(Message(Message.Kind.ISSUED, it.displaySerial))) }
                show(screen)
            }
            _start.value = state
        }
    }

    /** Recomputes the codes; the activity calls it once a second while it is started. */
    suspend fun tick() {
        val m = model ?: return
        _screen.value = serial { m.tick() }
    }

    /** Copies the code of [serial] (main thread: the clipboard is the main thread's). */
    fun copyCode(serial: String, clipboard: Clipboard) {
        val m = model ?: return
        viewModelScope.launch {
            val request = serial { m.copy(serial) }
            if (request == null) {
                show(m.state)
            } else {
                _notices.send(if (clipboard.put(request)) Notice.CodeCopied else Notice.NoClipboard)
            }
        }
    }

    /** Copies the serial for the bank's form. */
    fun copySerial(serial: String, clipboard: Clipboard) {
        val m = model ?: return
        viewModelScope.launch {
            val request = serial { m.copySerial(serial) } ?: return@launch
            _notices.send(if (clipboard.put(request)) Notice.SerialCopied else Notice.NoClipboard)
        }
    }

    /** Imports a pasted or scanned key URI. */
    fun import(uri: String) = act { it.import(uri) }

    /** Deletes a token (after the confirmation). */
    fun delete(serial: String) = act { it.delete(serial) }

    /** Replaces the token with a new one from the service (after the confirmation); the old one stays if that fails. */
    fun reissue(serial: String) = act { it.reissue(serial) }

    /** Sets the clock offset by hand. */
    fun setClockOffset(seconds: Long) {
        val m = model ?: return
        val v = vault ?: return
        viewModelScope.launch {
            show(serial { m.setClockOffset(seconds) })
            _clock.value = ClockStatus.Manual(serial { v.clockOffset() })
        }
    }

    /** Re-reads the service's time (the settings screen's button). */
    fun syncClock() {
        viewModelScope.launch {
            val status = serial { startup.syncClock() } ?: return@launch
            _clock.value = status
            _notices.send(
                when (status) {
                    is ClockStatus.NotSynced -> Notice.ClockNotSynced(status.detail)
                    else -> Notice.ClockSynced(status.offsetSeconds)
                },
            )
            tick()
        }
    }

    private fun act(action: (TokenScreenModel) -> ScreenState) {
        val m = model ?: return
        viewModelScope.launch { show(serial { action(m) }) }
    }

    private suspend fun show(state: ScreenState) {
        _screen.value = state
        (state as? ScreenState.Ready)?.message?.let { _notices.send(Notice.Model(it)) }
    }

    private suspend fun <T> serial(block: () -> T): T = work.withLock { withContext(Dispatchers.IO) { block() } }
}
