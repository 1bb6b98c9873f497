package dev.softtoken.app

import android.util.AtomicFile
import dev.softtoken.app.core.BlobFiles
import java.io.File

/** Files in the app's no-backup directory, replaced atomically with AtomicFile (write, fsync, rename). */
class PrivateFiles(private val dir: File) : BlobFiles {
    override fun read(name: String): ByteArray? {
        val file = AtomicFile(File(dir, name))
        return if (file.baseFile.exists()) file.readFully() else null
    }

    override fun writeAtomically(name: String, bytes: ByteArray) {
        val file = AtomicFile(File(dir, name))
        val out = file.startWrite()
        try {
            out.write(bytes)
            file.finishWrite(out)
        } catch (e: Exception) {
            file.failWrite(out)
            throw e
        }
    }

    override fun delete(name: String) {
        AtomicFile(File(dir, name)).delete()
    }
}
