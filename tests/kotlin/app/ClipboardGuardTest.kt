package dev.softtoken.tests.app

import dev.softtoken.app.core.ClipboardGuard
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class ClipboardGuardTest {
    @Test fun clearsWhenNothingNewerWasSeenEvenIfTheClipCannotBeRead() {
        val guard = ClipboardGuard()
        val ticket = guard.copied()
        guard.changed("softtoken") // the app's own clip arriving
        guard.changed(null) // a change the app could not read (out of focus): nothing known
        assertTrue(guard.shouldClear(ticket))
    }

    @Test fun skipsOnlyWhenTheUserCopiedSomethingElse() {
        val guard = ClipboardGuard()
        val ticket = guard.copied()
        guard.changed("Chrome")
        assertFalse(guard.shouldClear(ticket))
        // A later copy by the app is the newest again, and its own timer clears it.
        val next = guard.copied()
        assertTrue(guard.shouldClear(next))
    }

    @Test fun anOlderTimerLeavesANewerCopyToItsOwnTimer() {
        val guard = ClipboardGuard()
        val first = guard.copied()
        val second = guard.copied()
        assertFalse(guard.shouldClear(first))
        assertTrue(guard.shouldClear(second))
        assertFalse(guard.shouldClear(0))
    }
}
