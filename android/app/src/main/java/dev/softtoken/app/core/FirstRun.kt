package dev.softtoken.app.core

/**
 * A flag that lives and dies with the app's installation: iOS keeps it in the
 * app's UserDefaults, Android as a file in the no-backup directory. Neither
 * survives deleting the app; the iOS Keychain does, which is why the flag exists.
 */
interface InstallMarker {
    /** True once this installation has started before. */
    fun isSet(): Boolean

    /** Records that this installation has started (durably, before returning). */
    fun set()
}

/**
 * T5 on a reinstall: every installation gets a new serial, so a token that
 * survived deleting the app (iOS Keychain items do) must not come back. On the
 * first start of an installation the leftover store items are cleared before
 * the vault opens and the first token is provisioned; the marker is written only
 * after the clearing succeeded, so a failed clearing is tried again next start
 * and never leads to showing the old serial.
 */
class FirstRun(private val marker: InstallMarker, private val clearLeftovers: () -> Unit) {
    /** What [prepare] did. */
    enum class Outcome {
        /** This installation had started before: nothing touched. */
        KNOWN_INSTALL,

        /** First start of this installation: leftovers cleared, marker written. */
        FIRST_START,
    }

    /** Call before opening the vault. Throws what [clearLeftovers] or the marker throws; then the vault must not be opened. */
    fun prepare(): Outcome {
        if (marker.isSet()) return Outcome.KNOWN_INSTALL
        clearLeftovers()
        marker.set()
        return Outcome.FIRST_START
    }
}
