//! The console's pages as server-rendered HTML (maud): plain forms, no
//! script, one style sheet from the console itself.

use super::text::{ActionText, Lang, Text};
use super::Action;
use crate::db::{AuditRecord, ContractStatus};
use maud::{html, Markup, DOCTYPE};
use softtoken_core::ledger::BindingState;

/// What every page's frame needs.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The language.
    pub lang: Lang,
    /// The staff member and the CSRF token of a signed-in session (for the sign-out form).
    pub signed_in: Option<(&'a str, &'a str)>,
    /// This page's address with its query, without `lang` (the switch link adds it).
    pub here: String,
}

fn switch_link(frame: &Frame<'_>) -> String {
    let separator = if frame.here.contains('?') { '&' } else { '?' };
    format!(
        "{}{separator}lang={}",
        frame.here,
        frame.lang.other().code()
    )
}

/// The page around `body`.
pub fn page(frame: &Frame<'_>, heading: &str, body: Markup) -> Markup {
    let t = frame.lang.text();
    html! {
        (DOCTYPE)
        html lang=(frame.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (heading) " — " (t.title) }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                header {
                    a.brand href="/console/contracts" { (t.title) }
                    nav {
                        a lang=(frame.lang.other().code()) href=(switch_link(frame)) { (t.switch_label) }
                        @if let Some((staff, csrf)) = frame.signed_in {
                            span.who { (t.signed_in_as) ": " strong { (staff) } }
                            form method="post" action="/console/signout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button.link type="submit" { (t.signout_button) }
                            }
                        }
                    }
                }
                main {
                    h1 { (heading) }
                    (body)
                }
            }
        }
    }
}

/// A notice box.
pub fn notice(kind: &str, message: &str) -> Markup {
    html! { p class=(format!("notice {kind}")) role="alert" { (message) } }
}

/// The sign-in form.
pub fn signin(t: &Text, csrf: &str, staff: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { (notice("error", e)) }
        p { (t.signin_help) }
        form.card method="post" action="/console/signin" {
            input type="hidden" name="csrf" value=(csrf);
            label for="key" { (t.branch_key) }
            input #key type="password" name="key" autocomplete="off" required maxlength="256";
            label for="staff" { (t.staff_name) }
            input #staff type="text" name="staff" value=(staff) required maxlength="100" autocomplete="name";
            small { (t.staff_hint) }
            button type="submit" { (t.signin_button) }
        }
    }
}

/// The search form, with the contract found below it (or a not-found notice).
pub fn find(t: &Text, contract: &str, found: Option<Markup>) -> Markup {
    html! {
        form.search method="get" action="/console/contracts" {
            label for="c" { (t.contract_label) }
            input #c type="search" name="c" value=(contract) required maxlength="128" autofocus;
            button type="submit" { (t.find_button) }
        }
        @if let Some(found) = found { (found) }
    }
}

/// The name of a contract state.
pub fn state_name(t: &Text, state: BindingState) -> &'static str {
    match state {
        BindingState::Unbound => t.state_unbound,
        BindingState::Active => t.state_active,
        BindingState::Locked => t.state_locked,
        BindingState::Stopped => t.state_stopped,
        BindingState::Suspended => t.state_suspended,
    }
}

/// The link to an action's confirmation page.
pub fn action_href(contract: &str, action: Action) -> String {
    let query =
        serde_urlencoded::to_string([("c", contract), ("a", action.name())]).unwrap_or_default();
    format!("/console/action?{query}")
}

/// The link to a contract.
pub fn contract_href(contract: &str) -> String {
    let query = serde_urlencoded::to_string([("c", contract)]).unwrap_or_default();
    format!("/console/contracts?{query}")
}

/// A contract: its token, state, the actions that apply, and its history.
pub fn contract(t: &Text, status: &ContractStatus, history: &[AuditRecord]) -> Markup {
    let actions = Action::applicable(status);
    let state_class = status.state.name();
    html! {
        section.card {
            h2 { (t.contract_heading) " " span.contract { (status.contract) } }
            dl {
                dt { (t.serial) }
                dd.serial { @match &status.serial { Some(s) => (grouped(s)), None => em { (t.no_token) } } }
                dt { (t.state) }
                dd { span class=(format!("state {state_class}")) #state { (state_name(t, status.state)) } }
                dt { (t.failures) }
                dd #failures { (status.failures) }
                dt { (t.attempts_left) }
                dd { (status.attempts_left) }
            }
            h3 { (t.actions) }
            @if actions.is_empty() {
                p { (t.no_actions) }
            } @else {
                p.actions {
                    @for a in actions {
                        a class=(format!("button {}", a.name())) href=(action_href(&status.contract, a)) { (a.text(t).name) }
                    }
                }
            }
        }
        section {
            h2 { (t.history) }
            @if history.is_empty() {
                p { (t.history_empty) }
            } @else {
                table #history {
                    thead { tr { th { (t.col_time) } th { (t.col_event) } th { (t.col_outcome) } th { (t.col_staff) } th { (t.col_serial) } } }
                    tbody {
                        @for e in history.iter().rev() {
                            tr {
                                td { (utc(e.time)) }
                                td { (t.event(&e.event)) }
                                td class=(format!("outcome {}", e.outcome)) { (t.outcome(&e.outcome)) }
                                td { (e.staff.as_deref().unwrap_or("")) }
                                td.serial { (e.serial.as_deref().map(grouped).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The confirmation asked before an action.
pub fn confirm(t: &Text, contract: &str, action: Action, text: &ActionText, csrf: &str) -> Markup {
    html! {
        section.card.confirm {
            p { (t.confirm_question) " " strong.contract { (contract) } }
            p { (text.effect) }
            form method="post" action="/console/action" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="c" value=(contract);
                input type="hidden" name="a" value=(action.name());
                button class=(format!("danger {}", action.name())) type="submit" #confirm { (t.confirm_button) }
                " "
                a href=(contract_href(contract)) { (t.cancel) }
            }
        }
    }
}

/// The page after an action: what happened and what the customer must do next.
pub fn done(
    t: &Text,
    contract: &str,
    text: &ActionText,
    outcome: &str,
    applied: bool,
    staff: &str,
) -> Markup {
    html! {
        section.card.done {
            p { (t.contract_heading) " " strong.contract { (contract) } }
            p { (t.outcome_label) ": " strong #outcome class=(format!("outcome {outcome}")) { (t.outcome(outcome)) } }
            @if applied {
                h2 { (t.next_step) }
                p.next { (text.customer_next) }
            } @else {
                (notice("warning", t.not_applicable))
            }
            p { small { (t.recorded_as) ": " (staff) } }
            p { a.button href=(contract_href(contract)) { (t.back_to_contract) } }
        }
    }
}

/// A serial as shown to people: ours grouped in fours (`SSTA 1234 5678`), anything else as stored.
pub fn grouped(serial: &str) -> String {
    let ours = serial.len() == 12
        && serial.is_ascii()
        && serial[..4].bytes().all(|b| b.is_ascii_uppercase())
        && serial[4..].bytes().all(|b| b.is_ascii_digit());
    if ours {
        format!("{} {} {}", &serial[..4], &serial[4..8], &serial[8..])
    } else {
        serial.to_string()
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn utc(time: i64) -> String {
    let days = time.div_euclid(86_400);
    let secs = time.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_700_000_010), "2023-11-14 22:13:30");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_764_345_600), "2025-11-28 16:00:00");
        assert_eq!(utc(-1), "1969-12-31 23:59:59");
    }

    #[test]
    fn our_serials_are_grouped_and_others_kept() {
        assert_eq!(grouped("SSTA12345678"), "SSTA 1234 5678");
        assert_eq!(grouped("VSMT1234567"), "VSMT1234567");
        assert_eq!(grouped("ab"), "ab");
        assert_eq!(grouped("ééé€€"), "ééé€€");
    }

    #[test]
    fn text_is_escaped() {
        let t = Lang::En.text();
        let html = find(t, "<script>alert(1)</script>", None).into_string();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
