package dev.softtoken.app

import android.content.ClipData
import android.content.ClipDescription
import android.content.ClipboardManager
import android.content.Context
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.os.PersistableBundle
import dev.softtoken.app.core.ClipRequest
import dev.softtoken.app.core.ClipboardGuard

/**
 * Puts text on the clipboard as the request says: marked sensitive, and cleared
 * after a while unless the app saw something newer go on the clipboard. It never
 * reads the clip to decide (Android 10+ returns null to an app out of focus); the
 * [ClipboardGuard] decides from what the app itself saw. Main thread only.
 */
class Clipboard(context: Context) {
    // Nullable in android.jar: a device without a clipboard service gets no copy, not a crash.
    private val manager: ClipboardManager? = context.getSystemService(ClipboardManager::class.java)
    private val handler = Handler(Looper.getMainLooper())
    private val guard = ClipboardGuard()
    private val listener = ClipboardManager.OnPrimaryClipChangedListener {
        // Called only while the app is in focus (Android 10+), when reading the description is allowed.
        guard.changed(runCatching { manager?.primaryClipDescription?.label }.getOrNull())
    }

    init {
        manager?.addPrimaryClipChangedListener(listener)
    }

    /** Copies the request's text; false when this device has no clipboard service. */
    fun put(request: ClipRequest): Boolean {
        val clipboard = manager ?: return false
        val clip = ClipData.newPlainText(guard.label, request.text)
        if (request.sensitive) {
            clip.description.extras = PersistableBundle().apply {
                val key = if (Build.VERSION.SDK_INT >= 33) ClipDescription.EXTRA_IS_SENSITIVE else "android.content.extra.IS_SENSITIVE"
                putBoolean(key, true)
            }
        }
        val ticket = guard.copied()
        clipboard.setPrimaryClip(clip)
        if (request.clearAfterMillis > 0) {
            handler.postDelayed({ if (guard.shouldClear(ticket)) clear(clipboard) }, request.clearAfterMillis)
        }
        return true
    }

    /** Stops listening (the activity is destroyed); pending clears still run. */
    fun close() {
        manager?.removePrimaryClipChangedListener(listener)
    }

    private fun clear(clipboard: ClipboardManager) {
        if (Build.VERSION.SDK_INT >= 28) clipboard.clearPrimaryClip() else clipboard.setPrimaryClip(ClipData.newPlainText("", ""))
    }
}
