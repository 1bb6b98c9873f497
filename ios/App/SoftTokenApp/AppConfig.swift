import Foundation

/// What the build sets (project.yml → Info.plist): the token service's URL, whether this
/// is a development build that may reach a service on the loopback over plain HTTP, and
/// what the help calls the bank and its branches.
struct AppConfig {
    let serviceURL: String
    let allowLoopbackCleartext: Bool
    let names: BankNames
    let lockoutTries: Int

    static func fromBundle(_ bundle: Bundle = .main) -> AppConfig {
        func value(_ key: String) -> String {
            (bundle.object(forInfoDictionaryKey: key) as? String)?.trimmingCharacters(in: .whitespaces) ?? ""
        }
        // The language the app's strings resolved to, so the names match the words around them.
        let language = bundle.preferredLocalizations.first ?? "en"
        return AppConfig(
            serviceURL: value("SoftTokenServiceURL"),
            allowLoopbackCleartext: value("SoftTokenAllowLoopbackCleartext") == "YES",
            names: BankNames.of(language: language,
                                bankEn: value("SoftTokenBankNameEn"), branchEn: value("SoftTokenBranchNameEn"),
                                bankJa: value("SoftTokenBankNameJa"), branchJa: value("SoftTokenBranchNameJa")),
            lockoutTries: Int(value("SoftTokenLockoutTries")) ?? 0
        )
    }
}

/// What the build calls the bank and its branches (the guide's credit union: 当金庫, お取引店舗).
struct BankNames: Equatable {
    let bank: String
    let branch: String

    static let genericEn = BankNames(bank: "your bank", branch: "your branch")
    static let genericJa = BankNames(bank: "お取引の金融機関", branch: "お取引店舗")

    static func of(language: String, bankEn: String, branchEn: String, bankJa: String, branchJa: String) -> BankNames {
        if language.lowercased().hasPrefix("ja") {
            return BankNames(bank: bankJa.isEmpty ? genericJa.bank : bankJa, branch: branchJa.isEmpty ? genericJa.branch : branchJa)
        }
        return BankNames(bank: bankEn.isEmpty ? genericEn.bank : bankEn, branch: branchEn.isEmpty ? genericEn.branch : branchEn)
    }
}
