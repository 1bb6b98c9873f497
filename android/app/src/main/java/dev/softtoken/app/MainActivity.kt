package dev.softtoken.app

import android.os.Bundle
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.viewModels
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import dev.softtoken.app.core.Countdown
import dev.softtoken.app.ui.SoftTokenApp
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch

/** The one activity: it draws and stores; the core decides. */
class MainActivity : ComponentActivity() {
    private val app: AppViewModel by viewModels()
    private lateinit var clipboard: Clipboard

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // No screenshots, no recents thumbnail, no screen sharing of the code.
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        clipboard = Clipboard(this)
        // The codes are recomputed once a second while the screen is visible, never in the background.
        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                while (true) {
                    app.tick()
                    delay(Countdown.millisToNextSecond(System.currentTimeMillis()))
                }
            }
        }
        setContent { SoftTokenApp(app, clipboard) }
    }

    override fun onDestroy() {
        clipboard.close()
        super.onDestroy()
    }
}
