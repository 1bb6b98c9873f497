package dev.softtoken.app.core

/**
 * What the build calls the bank and its branches, in the screen's language: the
 * guide's credit union says 当金庫 and お取引店舗, another bank its own words. The
 * Android build sets them as BuildConfig fields, the iOS build as Info.plist keys.
 */
data class BankNames(
    /** The bank as the user knows it: "your bank", "当金庫". */
    val bank: String,
    /** Where the written forms go: "your branch", "お取引店舗". */
    val branch: String,
) {
    companion object {
        /** The names for [language] ("ja" or anything else for English) from the build's four settings; blank ones fall back to the generic words. */
        fun of(language: String, bankEn: String, branchEn: String, bankJa: String, branchJa: String): BankNames =
            if (language.lowercase().startsWith("ja")) {
                BankNames(bankJa.ifBlank { GENERIC_JA.bank }, branchJa.ifBlank { GENERIC_JA.branch })
            } else {
                BankNames(bankEn.ifBlank { GENERIC_EN.bank }, branchEn.ifBlank { GENERIC_EN.branch })
            }

        /** The words of a build that names no bank. */
        val GENERIC_EN = BankNames("your bank", "your branch")

        /** The words of a build that names no bank, in Japanese. */
        val GENERIC_JA = BankNames("お取引の金融機関", "お取引店舗")
    }
}

/**
 * One paragraph of help: a string the shell looks up in its language (Android
 * `R.string.<id>`, the iOS catalog's key of the same name) and its arguments.
 */
data class HelpText(val id: String, val args: List<Any> = emptyList())

/** One answer of the guide's Q&A, as the app says it. */
data class HelpSection(val topic: HelpTopic, val title: HelpText, val paragraphs: List<HelpText>)

/** The guide's questions the help screen answers (seed README: B4, B6-B9, S1, S2, T4). */
enum class HelpTopic { REGISTER, REFUSED_OR_LOCKED, LOST_OR_STOLEN, NEW_PHONE_OLD_WORKS, NEW_PHONE_OLD_GONE, BEFORE_DISCARDING, CAUTIONS }

/**
 * The help screen's content, platform-free: which answers, in which order, with
 * the bank's names and the lockout threshold filled in. The words themselves are
 * the apps' localized strings (Android values/ and values-ja/, the iOS catalog),
 * which the JVM tests read in both languages.
 */
object Help {
    /** The sections of the help screen for a build that calls the bank [names] and locks after [lockoutTries] wrong codes (0: the bank does not say). */
    fun sections(names: BankNames, lockoutTries: Int): List<HelpSection> = listOf(
        HelpSection(
            HelpTopic.REGISTER,
            HelpText("help_register_title"),
            listOf(
                HelpText("help_register_body", listOf(names.bank)),
                HelpText("help_register_serial"),
            ),
        ),
        HelpSection(
            HelpTopic.REFUSED_OR_LOCKED,
            HelpText("help_locked_title"),
            listOf(
                HelpText("help_locked_clock"),
                if (lockoutTries > 0) {
                    HelpText("help_locked_tries", listOf(lockoutTries, names.bank))
                } else {
                    HelpText("help_locked_tries_unknown", listOf(names.bank))
                },
                HelpText("help_locked_unlock", listOf(names.branch)),
            ),
        ),
        HelpSection(
            HelpTopic.LOST_OR_STOLEN,
            HelpText("help_lost_title"),
            listOf(
                HelpText("help_lost_call", listOf(names.bank)),
                HelpText("help_lost_found", listOf(names.branch)),
            ),
        ),
        HelpSection(
            HelpTopic.NEW_PHONE_OLD_WORKS,
            HelpText("help_change_title"),
            listOf(
                HelpText("help_change_install"),
                HelpText("help_change_exchange"),
                HelpText("help_change_after"),
            ),
        ),
        HelpSection(
            HelpTopic.NEW_PHONE_OLD_GONE,
            HelpText("help_gone_title"),
            listOf(
                HelpText("help_gone_new_serial"),
                HelpText("help_gone_reissue", listOf(names.branch)),
            ),
        ),
        HelpSection(
            HelpTopic.BEFORE_DISCARDING,
            HelpText("help_discard_title"),
            listOf(HelpText("help_discard_body", listOf(names.branch))),
        ),
        HelpSection(
            HelpTopic.CAUTIONS,
            HelpText("help_cautions_title"),
            listOf(HelpText("help_cautions_spyware"), HelpText("help_cautions_updates")),
        ),
    )

    /** The re-issue confirmation: what really follows for the token [displaySerial]. */
    fun reissueWarning(displaySerial: String, names: BankNames): HelpText =
        HelpText("reissue_body", listOf(displaySerial, names.bank, names.branch))

    /** The delete confirmation for the token [displaySerial]. */
    fun deleteWarning(displaySerial: String, names: BankNames): HelpText =
        HelpText("delete_body", listOf(displaySerial, names.bank, names.branch))

    /** Every string id the help screen and its warnings use, for the shells' lookup tables and the tests. */
    fun allIds(): Set<String> {
        val names = BankNames.GENERIC_EN
        val texts = (sections(names, 10) + sections(names, 0)).flatMap { listOf(it.title) + it.paragraphs } +
            reissueWarning("", names) + deleteWarning("", names)
        return texts.map { it.id }.toSet()
    }
}
