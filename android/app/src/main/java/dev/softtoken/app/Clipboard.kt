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

/** Puts text on the clipboard as the request says: marked sensitive, and cleared after a while if still ours. */
class Clipboard(context: Context) {
    private val manager = context.getSystemService(ClipboardManager::class.java)
    private val handler = Handler(Looper.getMainLooper())

    fun put(request: ClipRequest) {
        val clip = ClipData.newPlainText("softtoken", request.text)
        if (request.sensitive) {
            clip.description.extras = PersistableBundle().apply {
                val key = if (Build.VERSION.SDK_INT >= 33) ClipDescription.EXTRA_IS_SENSITIVE else "android.content.extra.IS_SENSITIVE"
                putBoolean(key, true)
            }
        }
        manager.setPrimaryClip(clip)
        if (request.clearAfterMillis > 0) {
            handler.postDelayed({
                val current = manager.primaryClip?.getItemAt(0)?.text?.toString()
                if (current == request.text) {
                    if (Build.VERSION.SDK_INT >= 28) manager.clearPrimaryClip() else manager.setPrimaryClip(ClipData.newPlainText("", ""))
                }
            }, request.clearAfterMillis)
        }
    }
}
