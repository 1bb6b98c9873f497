package dev.softtoken.app.core

/**
 * Decides whether the code the app copied may be cleared from the clipboard
 * when its time is up, without reading the clipboard then: Android 10 and later
 * give an app out of focus no clip (`primaryClip` is null), so comparing the clip
 * would never clear the code. The app clears unless it saw something newer go on
 * the clipboard: its own later copy, or a clip with another label (the user copied
 * something else while the app was in focus, the only time Android tells it).
 * Not thread-safe: the Android shell calls it on the main thread only.
 */
class ClipboardGuard(
    /** The label the app puts on its own clips. */
    val label: String = LABEL,
) {
    private var issued = 0L
    private var latest = NONE

    /** Call when the app puts a clip; returns the ticket to pass to [shouldClear] when the clip's time is up. */
    fun copied(): Long {
        issued += 1
        latest = issued
        return issued
    }

    /**
     * Call when the clipboard changed, with the new clip's label if the platform
     * let the app read it (null when it did not: then nothing is known and the
     * app's clip is still taken to be there).
     */
    fun changed(newLabel: CharSequence?) {
        if (newLabel != null && newLabel.toString() != label) latest = NONE
    }

    /** True when the clip of [ticket] is still the newest the app knows of: clear the clipboard. */
    fun shouldClear(ticket: Long): Boolean = ticket != NONE && ticket == latest

    companion object {
        /** The label on the app's clips. */
        const val LABEL = "softtoken"
        private const val NONE = 0L
    }
}
