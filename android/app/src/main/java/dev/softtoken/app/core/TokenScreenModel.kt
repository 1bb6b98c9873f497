package dev.softtoken.app.core

import dev.softtoken.SoftTokenException
import dev.softtoken.TokenInfo
import dev.softtoken.TokenVault
import dev.softtoken.TokenCard as CoreCard

/** One token as the screen draws it: every text comes from the core's presentation model. */
data class TokenCard(
    val serial: String,
    /** The serial as shown (`SSTA 1234 5678`). */
    val displaySerial: String,
    /** The serial for TalkBack, character by character. */
    val spokenSerial: String,
    /** The token's name: `softtoken` for the bank's token, `GitHub · alice` for an imported account. */
    val title: String,
    val issuedHere: Boolean,
    val code: String?,
    val groupedCode: String?,
    /** The code for TalkBack, digit by digit (`1 6 5, 8 7 3`). */
    val spokenCode: String?,
    val nextCode: String?,
    val countdown: Countdown?,
)

/** What the screen shows. */
sealed class ScreenState {
    object Loading : ScreenState()

    /** The tokens, the bank's token first, and a message to show once. */
    data class Ready(val cards: List<TokenCard>, val message: Message? = null) : ScreenState()

    /** The store cannot be read: say so and offer nothing that would overwrite it. */
    data class Unreadable(val detail: String) : ScreenState()
}

/** A message for the user: a kind the UI turns into a localized string, with details. */
data class Message(val kind: Kind, val detail: String = "") {
    enum class Kind { ISSUED, IMPORTED, IMPORT_FAILED, DELETED, REISSUED, OFFSET_SET, FAILED }
}

/** A request to put a code on the clipboard: marked sensitive and cleared after a while. */
data class ClipRequest(val text: String, val sensitive: Boolean = true, val clearAfterMillis: Long = 60_000)

/**
 * The token screen's logic, free of Android: it shows the vault the start opened
 * (and provisioned from the service, see [Startup]), keeps codes current, and turns
 * every error into a state or a message, never a crash and never a silent reset.
 * The Compose screen only draws [state]; the codes, titles and countdowns come from
 * the core (`TokenVault.cards`), which reads the vault's own clock with its offset.
 */
class TokenScreenModel(
    private val openVault: () -> TokenVault,
    /** A new token from the service in place of the one with this serial (re-issue, T5); [Startup.reissue] in the app. */
    private val renew: (String) -> TokenInfo,
) {
    var state: ScreenState = ScreenState.Loading
        private set
    private var vault: TokenVault? = null

    /** Opens the vault. The token itself comes from the service at the app's start, never from the phone. */
    fun start(): ScreenState {
        state = try {
            val v = openVault()
            vault = v
            ScreenState.Ready(cards(v))
        } catch (e: SoftTokenException.CorruptStore) {
            ScreenState.Unreadable(e.message ?: "")
        } catch (e: SoftTokenException.Store) {
            ScreenState.Unreadable(e.message ?: "")
        } catch (e: SoftTokenException) {
            ScreenState.Unreadable(e.message ?: "")
        }
        return state
    }

    /** Recomputes the codes (call once a second). */
    fun tick(): ScreenState {
        val v = vault ?: return state
        val current = state
        if (current is ScreenState.Ready) {
            state = current.copy(cards = cards(v), message = null)
        }
        return state
    }

    /** The code of [serial] for the clipboard; for a counter-based token, its next code (which uses it up). */
    fun copy(serial: String): ClipRequest? {
        val card = (state as? ScreenState.Ready)?.cards?.firstOrNull { it.serial == serial } ?: return null
        card.code?.let { return ClipRequest(it) }
        val v = vault ?: return null
        return try {
            ClipRequest(v.code(serial).value)
        } catch (e: SoftTokenException) {
            state = ScreenState.Ready(cards(v), Message(Message.Kind.FAILED, e.message ?: ""))
            null
        }
    }

    /**
     * The serial as the bank's form wants it (T4): without the spaces of the grouped
     * form, which a 12-character field would cut. Not secret, so not marked sensitive, never cleared.
     */
    fun copySerial(serial: String): ClipRequest? =
        (state as? ScreenState.Ready)?.cards?.firstOrNull { it.serial == serial }?.let {
            ClipRequest(it.serial, sensitive = false, clearAfterMillis = 0)
        }

    /** Imports a pasted or scanned key URI. */
    fun import(uri: String): ScreenState = act { v ->
        val added = v.importUri(uri.trim())
        Message(Message.Kind.IMPORTED, added.joinToString { it.displaySerial })
    }

    /** Deletes a token (after the UI's confirmation that the bank must be told). */
    fun delete(serial: String): ScreenState = act { v -> Message(Message.Kind.DELETED, v.delete(serial).displaySerial) }

    /** Replaces the bank's token with a new one from the service (T5); the UI confirms first, and the old one stays if that fails. */
    fun reissue(serial: String): ScreenState = act { _ -> Message(Message.Kind.REISSUED, renew(serial).displaySerial) }

    /** Sets the clock offset from the settings screen. */
    fun setClockOffset(seconds: Long): ScreenState = act { v ->
        v.setClockOffset(seconds)
        Message(Message.Kind.OFFSET_SET, seconds.toString())
    }

    private fun act(action: (TokenVault) -> Message): ScreenState {
        val v = vault ?: return state
        val message = try {
            action(v)
        } catch (e: SoftTokenException.InvalidUri) {
            Message(Message.Kind.IMPORT_FAILED, e.message ?: "")
        } catch (e: SoftTokenException.InvalidSecret) {
            Message(Message.Kind.IMPORT_FAILED, e.message ?: "")
        } catch (e: SoftTokenException) {
            Message(Message.Kind.FAILED, e.message ?: "")
        } catch (e: IllegalArgumentException) {
            Message(Message.Kind.FAILED, e.message ?: "")
        }
        state = ScreenState.Ready(cards(v), message)
        return state
    }

    /** The screen in one call; when the clock cannot be read, the tokens without codes rather than no screen. */
    private fun cards(v: TokenVault): List<TokenCard> =
        try {
            v.cards().map(::card)
        } catch (e: SoftTokenException.Clock) {
            v.tokens().map { card(CoreCard(it, null)) }
        }

    private fun card(c: CoreCard): TokenCard = TokenCard(
        serial = c.token.serial,
        displaySerial = c.token.displaySerial,
        spokenSerial = c.token.spokenSerial,
        title = c.token.title,
        issuedHere = c.token.issuedHere,
        code = c.code?.value,
        groupedCode = c.code?.groupedValue,
        spokenCode = c.code?.spokenValue,
        nextCode = c.code?.groupedNextValue,
        countdown = c.code?.let(Countdown::of),
    )
}
