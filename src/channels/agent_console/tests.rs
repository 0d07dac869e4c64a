use super::accounts::Role;
use super::adapter::Desk;
use super::pages::{PAGES, TEMPLATES};
use super::signed_in::desk_of;

#[test]
fn every_console_template_parses() {
    for (name, _) in TEMPLATES {
        assert!(PAGES.get_template(name).is_ok(), "{name}");
    }
}

#[test]
fn supervisors_choose_their_desk() {
    assert_eq!(
        desk_of(Role::CallCenterAgent, Some("front")),
        Desk::CallCenter
    );
    assert_eq!(desk_of(Role::Supervisor, Some("front")), Desk::FrontOffice);
}
