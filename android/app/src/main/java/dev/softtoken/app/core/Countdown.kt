package dev.softtoken.app.core

import dev.softtoken.Code

/** What the countdown ring draws for a code. The core computes it from the vault's own clock; this only carries it. */
data class Countdown(
    /** Whole seconds until the code changes (1 to the period). */
    val secondsLeft: Int,
    /** Share of the ring still to run, 1.0 when the code is new, towards 0.0 as it ends. */
    val remaining: Float,
    /** True in the last seconds: the ring turns to the warning colour. */
    val ending: Boolean,
) {
    companion object {
        /** The countdown the core gave with [code], or null for counter-based codes. */
        fun of(code: Code): Countdown? {
            val left = code.secondsLeft ?: return null
            val remaining = code.remaining ?: return null
            return Countdown(secondsLeft = left.toInt(), remaining = remaining.toFloat(), ending = code.ending)
        }

        /** Milliseconds from [nowMillis] to the next whole second, when the screen should redraw (scheduling only). */
        fun millisToNextSecond(nowMillis: Long): Long = 1000 - Math.floorMod(nowMillis, 1000L)
    }
}
