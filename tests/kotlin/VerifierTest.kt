package dev.softtoken.tests

import dev.softtoken.BindingState
import dev.softtoken.Outcome
import dev.softtoken.TokenVault
import dev.softtoken.Verifier
import org.junit.Assert.assertEquals
import org.junit.Test

/** The bank side from Kotlin (banks run Java): register, log in, lock, unlock. */
class VerifierTest {
    @Test fun registerLoginLockUnlock() {
        val clock = FixedClock(1_700_000_010uL)
        val phone = TokenVault(MapStore(), clock)
        val token = phone.issue()
        val bank = Verifier.withPolicy(clock, 1u, 1u, 3u, 5u)
        assertEquals(token.serial, bank.addKeyUri(phone.exportUri(token.serial)))

        // B1: register with the serial as printed and the current code.
        assertEquals(Outcome.Accepted, bank.register("contract-1", token.displaySerial, phone.code(token.serial).value))
        // B2: the next code logs in once.
        clock.now += 30uL
        val code = phone.code(token.serial).value
        assertEquals(Outcome.Accepted, bank.login("contract-1", code))
        assertEquals(Outcome.Replayed, bank.login("contract-1", code))
        // B4: three wrong codes lock, even the right code is then refused, until the branch unlocks.
        val wrong = ((code.toInt() + 500_000) % 1_000_000).toString().padStart(6, '0')
        assertEquals(Outcome.WrongCode(2u), bank.login("contract-1", wrong))
        assertEquals(Outcome.WrongCode(1u), bank.login("contract-1", wrong))
        assertEquals(Outcome.WrongCode(0u), bank.login("contract-1", wrong))
        clock.now += 30uL
        assertEquals(Outcome.Locked, bank.login("contract-1", phone.code(token.serial).value))
        assertEquals(BindingState.LOCKED, bank.status("contract-1")!!.state)
        assertEquals(Outcome.Accepted, bank.unlock("contract-1"))
        assertEquals(Outcome.Accepted, bank.login("contract-1", phone.code(token.serial).value))
        assertEquals(null, bank.status("nobody"))
    }

    @Test fun issuedByTheServiceImportedByThePhone() {
        val clock = FixedClock(1_700_000_010uL)
        val bank = Verifier(clock)
        val issued = bank.issueToken("SSTI")
        val phone = TokenVault.withPrefix(MapStore(), clock, "SSTI")
        val token = phone.importUri(issued.keyUri).single()
        assertEquals(issued.serial, token.serial)
        assertEquals(Outcome.Accepted, bank.register("c", issued.displaySerial, phone.code(token.serial).value))
        assertEquals(Outcome.AlreadyBound, bank.register("c", issued.displaySerial, phone.code(token.serial).value))
    }
}
