package dev.softtoken.app

import android.util.AtomicFile
import dev.softtoken.app.core.BlobFiles
import dev.softtoken.app.core.InstallMarker
import java.io.File
import java.io.FileNotFoundException

/** Files in the app's no-backup directory, replaced atomically with AtomicFile (write, fsync, rename). */
class PrivateFiles(private val dir: File) : BlobFiles {
    /**
     * The file's last complete contents. AtomicFile.readFully() recovers from its
     * backup when a write was cut short (the base file may be missing then), so the
     * base file's existence is not checked first: only "neither exists" is no record.
     */
    override fun read(name: String): ByteArray? =
        try {
            AtomicFile(File(dir, name)).readFully()
        } catch (e: FileNotFoundException) {
            null
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

    /** Deletes every file whose name ends with [suffix] (with AtomicFile's backup and new copies). */
    fun deleteAll(suffix: String) {
        dir.listFiles()?.forEach { f ->
            val n = f.name
            if (n.endsWith(suffix) || n.endsWith("$suffix.bak") || n.endsWith("$suffix.new")) {
                if (!f.delete() && f.exists()) throw java.io.IOException("cannot delete ${f.name}")
            }
        }
    }
}

/** The first-run marker as an empty file in the no-backup directory: gone with the app, never restored from a backup. */
class FileMarker(private val file: File) : InstallMarker {
    override fun isSet(): Boolean = file.exists()

    override fun set() {
        val atomic = AtomicFile(file)
        val out = atomic.startWrite()
        try {
            out.write(byteArrayOf(1))
            atomic.finishWrite(out)
        } catch (e: Exception) {
            atomic.failWrite(out)
            throw e
        }
    }
}
