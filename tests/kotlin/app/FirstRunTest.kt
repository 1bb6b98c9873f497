package dev.softtoken.tests.app

import dev.softtoken.app.core.FirstRun
import dev.softtoken.app.core.InstallMarker
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** The marker as the app's defaults keep it: here a flag that counts its writes. */
class MemoryMarker(var present: Boolean = false) : InstallMarker {
    var writes = 0
    override fun isSet(): Boolean = present
    override fun set() { present = true; writes += 1 }
}

class FirstRunTest {
    @Test fun theFirstStartClearsLeftoversThenMarks() {
        val marker = MemoryMarker()
        val events = mutableListOf<String>()
        val firstRun = FirstRun(marker) { events += "clear"; assertFalse("cleared before the marker", marker.present) }
        assertEquals(FirstRun.Outcome.FIRST_START, firstRun.prepare())
        assertEquals(listOf("clear"), events)
        assertTrue(marker.present)
        // Later starts of the same installation touch nothing.
        assertEquals(FirstRun.Outcome.KNOWN_INSTALL, firstRun.prepare())
        assertEquals(listOf("clear"), events)
        assertEquals(1, marker.writes)
    }

    @Test fun aFailedClearingLeavesNoMarkerAndIsTriedAgain() {
        val marker = MemoryMarker()
        var fail = true
        var clears = 0
        val firstRun = FirstRun(marker) { clears += 1; if (fail) throw IllegalStateException("keychain is locked") }
        assertThrows(IllegalStateException::class.java) { firstRun.prepare() }
        assertFalse(marker.present)
        fail = false
        assertEquals(FirstRun.Outcome.FIRST_START, firstRun.prepare())
        assertEquals(2, clears)
        assertTrue(marker.present)
    }
}
