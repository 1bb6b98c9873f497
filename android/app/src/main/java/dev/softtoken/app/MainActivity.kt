package dev.softtoken.app

import android.os.Bundle
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import dev.softtoken.TokenVault
import dev.softtoken.app.core.EncryptedStore
import dev.softtoken.app.core.TokenScreenModel
import dev.softtoken.app.ui.SoftTokenApp

/** The one screen: the serial and the code. It draws and stores; the core decides. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // No screenshots, no recents thumbnail, no screen sharing of the code.
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        val store = EncryptedStore(KeystoreCipher(), PrivateFiles(noBackupFilesDir))
        val model = TokenScreenModel(openVault = { TokenVault(store, null) })
        val clipboard = Clipboard(this)
        setContent { SoftTokenApp(model, clipboard::put) }
    }
}
