package dev.softtoken.app.core

/** How codes and serials are shown and spoken: platform-free, tested on the JVM. */
object Format {
    /** A code in two groups for reading: "287 082", "1234 567", "1234 5678". */
    fun groupedCode(code: String): String {
        if (code.length < 6) return code
        val split = maxOf(3, (code.length + 1) / 2)
        return code.substring(0, split) + " " + code.substring(split)
    }

    /** A code spelled digit by digit, so TalkBack reads "2 8 7 0 8 2", not "two hundred eighty-seven thousand". */
    fun spokenDigits(code: String): String = code.toCharArray().joinToString(" ")

    /** A serial as the bank's form wants it typed, spelled out for TalkBack letter by letter. */
    fun spokenSerial(displaySerial: String): String =
        displaySerial.filter { !it.isWhitespace() }.toCharArray().joinToString(" ")
}
