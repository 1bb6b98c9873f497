package dev.softtoken.app.core

import dev.softtoken.Code

/** What the countdown ring draws for a code: platform-free, so it is tested on the JVM. */
data class Countdown(
    /** Whole seconds until the code changes (1 to the period). */
    val secondsLeft: Int,
    /** Share of the ring still to run, 1.0 when the code is new, towards 0.0 as it ends. */
    val remaining: Float,
    /** True in the last five seconds: the ring turns to the warning colour. */
    val ending: Boolean,
) {
    companion object {
        /** The countdown of [code] at Unix time [now] (seconds), or null for counter-based codes. */
        fun of(code: Code, now: Long): Countdown? {
            val from = code.validFrom?.toLong() ?: return null
            val until = code.validUntil?.toLong() ?: return null
            val period = (until - from).coerceAtLeast(1)
            val left = (until - now).coerceIn(0, period)
            return Countdown(
                secondsLeft = left.toInt(),
                remaining = left.toFloat() / period.toFloat(),
                ending = left <= 5,
            )
        }

        /** Milliseconds from [nowMillis] to the next whole second, when the screen should redraw. */
        fun millisToNextSecond(nowMillis: Long): Long = 1000 - Math.floorMod(nowMillis, 1000L)
    }
}
