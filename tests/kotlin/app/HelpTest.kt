package dev.softtoken.tests.app

import dev.softtoken.app.core.BankNames
import dev.softtoken.app.core.Help
import dev.softtoken.app.core.HelpText
import dev.softtoken.app.core.HelpTopic
import java.io.File
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

/** The app's string resources of one language, as Android reads them (apostrophes unescaped). */
class Strings(path: String) {
    val map: Map<String, String> = Regex("<string name=\"([a-z_0-9]+)\">(.*?)</string>", RegexOption.DOT_MATCHES_ALL)
        .findAll(File(path).readText())
        .associate { it.groupValues[1] to it.groupValues[2].replace("\\'", "'").replace("&amp;", "&").replace("&lt;", "<") }

    /** A help text in this language, its placeholders filled as `Resources.getString(id, args)` does. */
    fun format(text: HelpText): String {
        val pattern = map[text.id] ?: throw AssertionError("no string ${text.id}")
        return String.format(pattern, *text.args.toTypedArray())
    }

    companion object {
        val EN = Strings("android/app/src/main/res/values/strings.xml")
        val JA = Strings("android/app/src/main/res/values-ja/strings.xml")
    }
}

class HelpTest {
    private val shinkin = BankNames("当金庫", "お取引店舗")
    private val english = BankNames("Example Bank", "your Example Bank branch")

    private fun sectionText(strings: Strings, names: BankNames, topic: HelpTopic, tries: Int = 10): String {
        val section = Help.sections(names, tries).single { it.topic == topic }
        return (listOf(section.title) + section.paragraphs).joinToString("\n") { strings.format(it) }
    }

    @Test fun everyHelpTextExistsInBothLanguagesWithItsArguments() {
        for (strings in listOf(Strings.EN, Strings.JA)) {
            for (tries in listOf(0, 10)) {
                for (section in Help.sections(shinkin, tries)) {
                    for (text in listOf(section.title) + section.paragraphs) {
                        val pattern = strings.map[text.id] ?: throw AssertionError("${text.id} missing")
                        // As many placeholders as arguments: none left over, none unfilled.
                        val placeholders = Regex("%(\\d)\\$[sd]").findAll(pattern).map { it.groupValues[1].toInt() }.toSet()
                        assertEquals(text.id, (1..text.args.size).toSet(), placeholders)
                        val out = strings.format(text)
                        assertFalse(out, out.contains('%'))
                        assertTrue(out.isNotBlank())
                    }
                }
            }
        }
    }

    @Test fun theAndroidShellHasAStringForEveryHelpId() {
        val shell = File("android/app/src/main/java/dev/softtoken/app/ui/SoftTokenApp.kt").readText()
        for (id in Help.allIds()) {
            assertTrue("SoftTokenApp.kt does not map $id", shell.contains("\"$id\" -> R.string.$id"))
        }
    }

    @Test fun theGuidesAnswersInJapanese() {
        val locked = sectionText(Strings.JA, shinkin, HelpTopic.REFUSED_OR_LOCKED)
        assertTrue(locked, locked.contains("10回") && locked.contains("お取引店舗") && locked.contains("ロック"))
        val lockedUnknown = sectionText(Strings.JA, shinkin, HelpTopic.REFUSED_OR_LOCKED, tries = 0)
        assertTrue(lockedUnknown, lockedUnknown.contains("一定回数") && !lockedUnknown.contains("0回"))
        val lost = sectionText(Strings.JA, shinkin, HelpTopic.LOST_OR_STOLEN)
        assertTrue(lost, lost.contains("速やかに当金庫までご連絡ください") && lost.contains("一時停止") && lost.contains("戻ってきた場合でも"))
        val change = sectionText(Strings.JA, shinkin, HelpTopic.NEW_PHONE_OLD_WORKS)
        assertTrue(change, change.contains("利用登録/交換") && change.contains("古い") && change.contains("新しいトークンのシリアル番号"))
        val gone = sectionText(Strings.JA, shinkin, HelpTopic.NEW_PHONE_OLD_GONE)
        assertTrue(gone, gone.contains("お取引店舗へ所定の書面(トークン再発行)"))
        val discard = sectionText(Strings.JA, shinkin, HelpTopic.BEFORE_DISCARDING)
        assertTrue(discard, discard.contains("利用中止") && discard.contains("お取引店舗への届出は不要"))
        val cautions = sectionText(Strings.JA, shinkin, HelpTopic.CAUTIONS)
        assertTrue(cautions, cautions.contains("スパイウェア") && cautions.contains("最新の状態") && cautions.contains("メール"))
    }

    @Test fun theGuidesAnswersInEnglish() {
        val locked = sectionText(Strings.EN, english, HelpTopic.REFUSED_OR_LOCKED, tries = 5)
        assertTrue(locked, locked.contains("After 5 wrong codes, Example Bank locks") && locked.contains("your Example Bank branch"))
        val lost = sectionText(Strings.EN, english, HelpTopic.LOST_OR_STOLEN)
        assertTrue(lost, lost.contains("Contact Example Bank at once") && lost.contains("suspends"))
        val change = sectionText(Strings.EN, english, HelpTopic.NEW_PHONE_OLD_WORKS)
        assertTrue(change, change.contains("Register / exchange") && change.contains("OLD") && change.contains("NEW"))
        val gone = sectionText(Strings.EN, english, HelpTopic.NEW_PHONE_OLD_GONE)
        assertTrue(gone, gone.contains("re-issue form at your Example Bank branch"))
        val discard = sectionText(Strings.EN, english, HelpTopic.BEFORE_DISCARDING)
        assertTrue(discard, discard.contains("Stop the token first"))
        val cautions = sectionText(Strings.EN, english, HelpTopic.CAUTIONS)
        assertTrue(cautions, cautions.contains("spyware") && cautions.contains("up to date"))
        val register = sectionText(Strings.EN, english, HelpTopic.REGISTER)
        assertTrue(register, register.contains("without spaces") && register.contains("every 30 seconds"))
    }

    @Test fun reissueSaysWhatReallyFollows() {
        val en = Strings.EN.format(Help.reissueWarning("SSTA 1234 5678", english))
        assertTrue(en, en.contains("SSTA 1234 5678") && en.contains("Example Bank") && en.contains("stop it there first"))
        assertTrue(en, en.contains("can no longer be exchanged or stopped") && en.contains("your Example Bank branch must re-issue"))
        val ja = Strings.JA.format(Help.reissueWarning("SSTI 1234 5678", shinkin))
        assertTrue(ja, ja.contains("当金庫") && ja.contains("利用中止") && ja.contains("交換") && ja.contains("お取引店舗での再発行"))
        val delete = Strings.JA.format(Help.deleteWarning("SSTI 1234 5678", shinkin))
        assertTrue(delete, delete.contains("利用中止") && delete.contains("お取引店舗での再発行"))
    }

    @Test fun theBankIsCalledWhatTheBuildSaysNeverAFixedWord() {
        // No Japanese string names 銀行 itself: the build's name (当金庫, or the generic words) stands there.
        for ((id, text) in Strings.JA.map) assertFalse("$id says 銀行: $text", text.contains("銀行"))
        assertEquals(shinkin, BankNames.of("ja", "Example Bank", "branch", "当金庫", "お取引店舗"))
        assertEquals(BankNames("Example Bank", "branch"), BankNames.of("en", "Example Bank", "branch", "当金庫", "お取引店舗"))
        assertEquals(BankNames.GENERIC_JA, BankNames.of("ja-JP", "", "", " ", ""))
        assertEquals(BankNames.GENERIC_EN, BankNames.of("fr", "", "", "当金庫", "お取引店舗"))
        val generic = Strings.JA.format(Help.sections(BankNames.GENERIC_JA, 10).single { it.topic == HelpTopic.LOST_OR_STOLEN }.paragraphs[0])
        assertTrue(generic, generic.contains("速やかにお取引の金融機関までご連絡ください"))
    }
}
