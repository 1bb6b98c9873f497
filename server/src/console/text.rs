//! Every string of the console in Japanese and English: one struct per
//! language, so a string missing in one language does not compile.

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 日本語.
    Ja,
    /// English.
    En,
}

impl Lang {
    /// The language's code (`ja`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The language a code names.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language (the switch link's target).
    pub fn other(self) -> Self {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// The first of ja/en an `Accept-Language` header prefers (highest q, then order); Japanese when it names neither.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::from_code(primary) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Ja, |(_, l)| l)
    }

    /// The strings in this language.
    pub fn text(self) -> &'static Text {
        match self {
            Lang::Ja => &JA,
            Lang::En => &EN,
        }
    }
}

/// The console's strings in one language.
#[derive(Debug)]
pub struct Text {
    /// The product name in the header.
    pub title: &'static str,
    /// The language switch link's label (names the other language).
    pub switch_label: &'static str,
    /// Sign-in page heading.
    pub signin_heading: &'static str,
    /// Sign-in explanation.
    pub signin_help: &'static str,
    /// Branch key field.
    pub branch_key: &'static str,
    /// Staff name field.
    pub staff_name: &'static str,
    /// Staff name hint.
    pub staff_hint: &'static str,
    /// Sign-in button.
    pub signin_button: &'static str,
    /// A key that does not sign in.
    pub signin_refused: &'static str,
    /// A staff name missing or malformed.
    pub staff_invalid: &'static str,
    /// Too many failed sign-ins: before the seconds to wait.
    pub too_many: &'static str,
    /// Too many failed sign-ins: after the seconds to wait.
    pub too_many_after: &'static str,
    /// "Signed in as".
    pub signed_in_as: &'static str,
    /// Sign-out button.
    pub signout_button: &'static str,
    /// Search page heading.
    pub find_heading: &'static str,
    /// Contract field.
    pub contract_label: &'static str,
    /// Search button.
    pub find_button: &'static str,
    /// Contract heading prefix.
    pub contract_heading: &'static str,
    /// No such contract at this bank.
    pub not_found: &'static str,
    /// Page not found.
    pub page_not_found: &'static str,
    /// Serial row.
    pub serial: &'static str,
    /// No token bound.
    pub no_token: &'static str,
    /// State row.
    pub state: &'static str,
    /// Consecutive wrong codes row.
    pub failures: &'static str,
    /// Attempts left row.
    pub attempts_left: &'static str,
    /// State: unbound.
    pub state_unbound: &'static str,
    /// State: active.
    pub state_active: &'static str,
    /// State: locked.
    pub state_locked: &'static str,
    /// State: stopped.
    pub state_stopped: &'static str,
    /// State: suspended.
    pub state_suspended: &'static str,
    /// Actions heading.
    pub actions: &'static str,
    /// No action applies.
    pub no_actions: &'static str,
    /// History heading.
    pub history: &'static str,
    /// History empty.
    pub history_empty: &'static str,
    /// History column: time.
    pub col_time: &'static str,
    /// History column: event.
    pub col_event: &'static str,
    /// History column: outcome.
    pub col_outcome: &'static str,
    /// History column: staff.
    pub col_staff: &'static str,
    /// History column: serial.
    pub col_serial: &'static str,
    /// Confirmation question prefix (before the action's name).
    pub confirm_question: &'static str,
    /// Confirm button.
    pub confirm_button: &'static str,
    /// Cancel link.
    pub cancel: &'static str,
    /// Done heading suffix.
    pub done: &'static str,
    /// Nothing to do (the action does not apply in this state).
    pub not_applicable: &'static str,
    /// The action's outcome on the result page.
    pub outcome_label: &'static str,
    /// Back to the contract.
    pub back_to_contract: &'static str,
    /// The customer's next step heading.
    pub next_step: &'static str,
    /// "Recorded in the history as".
    pub recorded_as: &'static str,
    /// A form without its session's token.
    pub forged: &'static str,
    /// Session expired.
    pub session_expired: &'static str,
    /// Service unavailable.
    pub unavailable: &'static str,
    /// Unlock (B4): button, what it does, what the customer does next.
    pub unlock: ActionText,
    /// Unbind for re-issue (B5, B7).
    pub unbind: ActionText,
    /// Suspend (B9).
    pub suspend: ActionText,
    /// Resume (B9).
    pub resume: ActionText,
    /// Audit event names, by the log's name.
    pub events: [(&'static str, &'static str); 8],
    /// Audit outcome names, by the log's name.
    pub outcomes: [(&'static str, &'static str); 10],
}

/// One branch action's strings.
#[derive(Debug)]
pub struct ActionText {
    /// The button and heading.
    pub name: &'static str,
    /// What the action does, shown before confirming.
    pub effect: &'static str,
    /// What the customer must do next, shown after it is done.
    pub customer_next: &'static str,
}

impl Text {
    /// The audit event's name in this language (the log's own name when unknown).
    pub fn event<'a>(&self, name: &'a str) -> &'a str {
        self.events
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(name, |(_, v)| v)
    }

    /// The outcome's name in this language (the log's own name when unknown).
    pub fn outcome<'a>(&self, name: &'a str) -> &'a str {
        self.outcomes
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(name, |(_, v)| v)
    }
}

const EVENT_KEYS: [&str; 8] = [
    "register", "login", "stop", "exchange", "unlock", "unbind", "suspend", "resume",
];
const OUTCOME_KEYS: [&str; 10] = [
    "accepted",
    "wrong_code",
    "replayed",
    "locked",
    "stopped",
    "suspended",
    "not_registered",
    "unknown_serial",
    "already_registered",
    "not_applicable",
];

const fn zip<const N: usize>(
    keys: [&'static str; N],
    values: [&'static str; N],
) -> [(&'static str, &'static str); N] {
    let mut out = [("", ""); N];
    let mut i = 0;
    while i < N {
        out[i] = (keys[i], values[i]);
        i += 1;
    }
    out
}

/// English.
pub static EN: Text = Text {
    title: "softtoken branch console",
    switch_label: "日本語",
    signin_heading: "Sign in",
    signin_help: "Sign in with your bank's branch key. Your name is recorded with every action you take.",
    branch_key: "Branch key",
    staff_name: "Your name",
    staff_hint: "As it should appear in the history (1 to 100 characters).",
    signin_button: "Sign in",
    signin_refused: "This key does not sign in to the console. Use your bank's branch key (the bank key does not sign in).",
    staff_invalid: "Enter your name (1 to 100 printable characters).",
    too_many: "Too many failed sign-ins from this address. Try again in",
    too_many_after: "s.",
    signed_in_as: "Signed in as",
    signout_button: "Sign out",
    find_heading: "Find a contract",
    contract_label: "Contract ID",
    find_button: "Find",
    contract_heading: "Contract",
    not_found: "Your bank has no contract with this ID.",
    page_not_found: "There is no such page.",
    serial: "Token serial",
    no_token: "no token registered",
    state: "State",
    failures: "Consecutive wrong codes",
    attempts_left: "Attempts left",
    state_unbound: "No token (may register one)",
    state_active: "Active",
    state_locked: "Locked after wrong codes",
    state_stopped: "Stopped by the customer",
    state_suspended: "Suspended",
    actions: "Actions",
    no_actions: "No branch action applies in this state.",
    history: "History",
    history_empty: "Nothing recorded yet.",
    col_time: "Time (UTC)",
    col_event: "Event",
    col_outcome: "Outcome",
    col_staff: "Staff",
    col_serial: "Serial",
    confirm_question: "Confirm for contract",
    confirm_button: "Confirm",
    cancel: "Cancel",
    done: "done",
    not_applicable: "Nothing was changed: this action does not apply to the contract in its present state.",
    outcome_label: "Result",
    back_to_contract: "Back to the contract",
    next_step: "Tell the customer",
    recorded_as: "Recorded in the history under the name",
    forged: "This form is out of date or did not come from the console. Open the page again and repeat the action.",
    session_expired: "Your session has ended. Sign in again.",
    unavailable: "The service's database is unavailable. Try again in a moment.",
    unlock: ActionText {
        name: "Unlock",
        effect: "Unlocks the token after too many wrong codes (B4): the count of wrong codes starts again from zero.",
        customer_next: "The customer can log in again with the current security code shown in the app.",
    },
    unbind: ActionText {
        name: "Re-issue (unbind the token)",
        effect: "Removes the token from the contract (B5, B7), so that a new token can be registered. The old token no longer works for this contract.",
        customer_next: "The customer must register the new token as at first registration (B1): open the app, then enter its serial and current security code in internet banking.",
    },
    suspend: ActionText {
        name: "Suspend",
        effect: "Suspends the contract at once (B9, lost or stolen device): every login and registration is refused until the branch resumes it.",
        customer_next: "Internet banking is stopped for this contract. Even if the device is found, the customer must ask the branch to resume it.",
    },
    resume: ActionText {
        name: "Resume",
        effect: "Ends the suspension (B9): the contract returns to the state it had before.",
        customer_next: "The customer can log in again with the current security code. If the device is not found, re-issue instead and have the customer register a new token.",
    },
    events: zip(
        EVENT_KEYS,
        [
            "Registration",
            "Login",
            "Stop (by customer)",
            "Token exchange",
            "Unlock",
            "Re-issue (unbind)",
            "Suspend",
            "Resume",
        ],
    ),
    outcomes: zip(
        OUTCOME_KEYS,
        [
            "Accepted",
            "Wrong code",
            "Code already used",
            "Locked",
            "Stopped",
            "Suspended",
            "No token registered",
            "Unknown serial",
            "Already registered",
            "Not applicable",
        ],
    ),
};

/// 日本語.
pub static JA: Text = Text {
    title: "softtoken 店舗管理画面",
    switch_label: "English",
    signin_heading: "サインイン",
    signin_help: "銀行の店舗用キーでサインインしてください。操作ごとにお名前が履歴に記録されます。",
    branch_key: "店舗用キー",
    staff_name: "担当者名",
    staff_hint: "履歴に記録されるお名前（1〜100文字）",
    signin_button: "サインイン",
    signin_refused: "このキーではサインインできません。銀行の店舗用キーを使ってください（銀行システム用キーではサインインできません）。",
    staff_invalid: "担当者名を入力してください（1〜100文字）。",
    too_many: "このアドレスからのサインイン失敗が多すぎます。",
    too_many_after: "秒後にもう一度お試しください。",
    signed_in_as: "担当者",
    signout_button: "サインアウト",
    find_heading: "契約の検索",
    contract_label: "契約者番号",
    find_button: "検索",
    contract_heading: "契約",
    not_found: "この番号の契約は貴行にありません。",
    page_not_found: "このページはありません。",
    serial: "トークンのシリアル番号",
    no_token: "トークン未登録",
    state: "状態",
    failures: "連続誤入力回数",
    attempts_left: "残り入力可能回数",
    state_unbound: "トークンなし（登録できます）",
    state_active: "利用中",
    state_locked: "誤入力によるロック中",
    state_stopped: "お客さまが利用中止",
    state_suspended: "一時停止中",
    actions: "操作",
    no_actions: "この状態で店舗が行える操作はありません。",
    history: "履歴",
    history_empty: "記録はまだありません。",
    col_time: "日時（UTC）",
    col_event: "操作",
    col_outcome: "結果",
    col_staff: "担当者",
    col_serial: "シリアル番号",
    confirm_question: "次の契約に対して実行します：",
    confirm_button: "実行する",
    cancel: "やめる",
    done: "完了",
    not_applicable: "変更はありません。現在の状態の契約には、この操作は当てはまりません。",
    outcome_label: "結果",
    back_to_contract: "契約に戻る",
    next_step: "お客さまへのご案内",
    recorded_as: "履歴に記録した担当者名",
    forged: "このフォームは古いか、管理画面から送られたものではありません。ページを開き直して、もう一度操作してください。",
    session_expired: "セッションが終了しました。もう一度サインインしてください。",
    unavailable: "サービスのデータベースに接続できません。しばらくしてからもう一度お試しください。",
    unlock: ActionText {
        name: "ロック解除",
        effect: "誤入力でロックされたワンタイムパスワードのロックを解除します（B4）。誤入力回数は0に戻ります。",
        customer_next: "お客さまは、アプリに表示されている現在のワンタイムパスワードで再びログインできます。",
    },
    unbind: ActionText {
        name: "再発行（トークンの登録解除）",
        effect: "契約からトークンの登録を外し（B5・B7）、新しいトークンを登録できるようにします。古いトークンはこの契約では使えなくなります。",
        customer_next: "お客さまは、新しいトークンを初回と同じ手順で利用登録してください（B1）：アプリを開き、シリアル番号と現在のワンタイムパスワードをインターネットバンキングで入力します。",
    },
    suspend: ActionText {
        name: "一時停止",
        effect: "契約を直ちに一時停止します（B9、端末の紛失・盗難）。店舗が再開するまで、ログインも利用登録もできません。",
        customer_next: "この契約のインターネットバンキングは停止しました。端末が見つかった場合も、再開には店舗での手続きが必要です。",
    },
    resume: ActionText {
        name: "再開",
        effect: "一時停止を解除し（B9）、停止前の状態に戻します。",
        customer_next: "お客さまは現在のワンタイムパスワードで再びログインできます。端末が見つからない場合は、再発行して新しいトークンを登録していただいてください。",
    },
    events: zip(
        EVENT_KEYS,
        [
            "利用登録",
            "ログイン",
            "利用中止（お客さま）",
            "トークン交換",
            "ロック解除",
            "再発行（登録解除）",
            "一時停止",
            "再開",
        ],
    ),
    outcomes: zip(
        OUTCOME_KEYS,
        [
            "成功",
            "誤入力",
            "使用済みのコード",
            "ロック中",
            "利用中止",
            "一時停止中",
            "トークン未登録",
            "不明なシリアル番号",
            "登録済み",
            "該当なし",
        ],
    ),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_ja_and_en() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("ja,en-US;q=0.8"), Lang::Ja);
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, ja;q=0.7"),
            Lang::Ja
        );
        assert_eq!(Lang::from_accept_language("de"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("en;q=0, ja;q=0.1"), Lang::Ja);
        assert_eq!(Lang::from_accept_language(""), Lang::Ja);
    }

    #[test]
    fn every_event_and_outcome_has_a_name_in_both_languages() {
        for text in [&EN, &JA] {
            for key in EVENT_KEYS {
                assert_ne!(text.event(key), key);
            }
            for key in OUTCOME_KEYS {
                assert_ne!(text.outcome(key), key);
            }
        }
        assert_eq!(EN.event("something_new"), "something_new");
    }
}
