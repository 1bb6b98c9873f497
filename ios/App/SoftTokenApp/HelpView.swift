import SwiftUI

/// One answer of the guide's Q&A, in the app's words.
struct HelpSection: Identifiable {
    let id: String
    let title: String
    let paragraphs: [String]
}

/// The help screen's content (the same answers as Android's, seed README B4, B6-B9, S1, S2, T4),
/// with the bank's names and the lockout threshold the build sets.
enum HelpContent {
    static func sections(_ names: BankNames, lockoutTries: Int) -> [HelpSection] {
        let bank = names.bank, branch = names.branch
        return [
            HelpSection(id: "register", title: String(localized: "Registering this token"), paragraphs: [
                String(localized: "In \(bank)'s internet banking, open the one-time password registration and type this app's serial number and the security code shown now. The code changes every 30 seconds."),
                String(localized: "Type the serial number exactly as shown: its letters are capitals. “Copy serial number” copies it without spaces, as a 12-character field expects."),
            ]),
            HelpSection(id: "locked", title: String(localized: "The code is refused or locked"), paragraphs: [
                String(localized: "Type the code shown now, before the ring runs out. If codes are refused although typed correctly, this phone's clock may be wrong: in Settings, set the correction from the service."),
                lockoutTries > 0
                    ? String(localized: "After \(lockoutTries) wrong codes, \(bank) locks the one-time password and internet banking cannot be used.")
                    : String(localized: "After a certain number of wrong codes, \(bank) locks the one-time password and internet banking cannot be used."),
                String(localized: "This app cannot unlock it: hand in the unlock form at \(branch)."),
            ]),
            HelpSection(id: "lost", title: String(localized: "The phone is lost or stolen"), paragraphs: [
                String(localized: "Contact \(bank) at once: it suspends your internet banking so that nobody can use the token."),
                String(localized: "Even if the phone turns up again, resuming needs a written procedure at \(branch)."),
            ]),
            HelpSection(id: "change", title: String(localized: "New phone, and the old one still works"), paragraphs: [
                String(localized: "Install this app on the new phone: it gets a new serial number of its own."),
                String(localized: "In internet banking open “Register / exchange”, type the code of the OLD phone's token, then the NEW token's serial number and code, and register."),
                String(localized: "Only then delete the token on the old phone."),
            ]),
            HelpSection(id: "gone", title: String(localized: "New phone, and the old one is lost, broken or its token deleted"), paragraphs: [
                String(localized: "The old token cannot be brought back: installing again gives a new serial number that is not registered anywhere yet."),
                String(localized: "Hand in the token re-issue form at \(branch), then register the new token's serial number and code in internet banking."),
            ]),
            HelpSection(id: "discard", title: String(localized: "Before you discard or hand on a phone"), paragraphs: [
                String(localized: "Stop the token first: in internet banking, “Stop using”, with its current code. Then the change needs no form at \(branch)."),
            ]),
            HelpSection(id: "cautions", title: String(localized: "Cautions"), paragraphs: [
                String(localized: "The one-time password lowers the risk when your ID and password are stolen, for example by spyware; it does not make the phone itself secure."),
                String(localized: "Keep the operating system, browser and security software up to date, and do not open unknown mail, attachments or links."),
            ]),
        ]
    }

    /// The re-issue confirmation: what really follows for the bank registration.
    static func reissueWarning(_ displaySerial: String, _ names: BankNames) -> String {
        String(localized: "Token \(displaySerial) and its codes are removed from this phone at once and a new serial number takes its place. If it is registered with \(names.bank), stop it there first (“Stop using”, with the code shown now): once it is replaced it can no longer be exchanged or stopped, and \(names.branch) must re-issue before you can register the new serial number.")
    }

    /// The delete confirmation.
    static func deleteWarning(_ displaySerial: String, _ names: BankNames) -> String {
        String(localized: "Token \(displaySerial) cannot be recovered once deleted. If it is registered with \(names.bank), stop it first in internet banking (“Stop using”, with the code shown now); otherwise \(names.branch) must re-issue before you can register a new token.")
    }
}

/// The help screen, reachable from the main screen's toolbar.
struct HelpView: View {
    let config: AppConfig

    var body: some View {
        List(HelpContent.sections(config.names, lockoutTries: config.lockoutTries)) { section in
            Section(section.title) {
                ForEach(section.paragraphs, id: \.self) { Text(verbatim: $0) }
            }
        }
        .navigationTitle("Help")
    }
}
