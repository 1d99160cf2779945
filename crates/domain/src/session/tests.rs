use jiff::civil::{date, DateTime};

use super::booking::{conflicts, free_slots, Booked, Conflict, OfficeHours, SlotRequest};
use super::checks::{check_document, check_registration};
use super::*;
use crate::calendar::WorkCalendar;
use crate::policy::{LoadedPolicy, McuCapacity, Policy};

fn policy(profile: &str) -> Policy {
    LoadedPolicy::load(profile, &toml::Table::new())
        .unwrap()
        .policy
}

fn at(text: &str) -> DateTime {
    parse_date_time(text).unwrap()
}

fn form() -> RegistrationForm {
    RegistrationForm {
        host_unit_id: "1".into(),
        host_endpoint_id: "10".into(),
        member_endpoint_ids: vec!["11, 12".into(), "12".into(), "10".into()],
        title: "Giao ban công tác phòng chống lụt bão".into(),
        meeting_type: "periodic_briefing".into(),
        chair_name: "Nguyễn Văn A".into(),
        chair_title: "Phó Chủ tịch UBND".into(),
        contact_name: "Trần Thị B".into(),
        contact_phone: "0292 3820 123".into(),
        date: "14/05/2026".into(),
        start_time: "16:30".into(),
        end_time: "17:30".into(),
        ..RegistrationForm::default()
    }
}

fn registration(start: &str, end: &str) -> Registration {
    let mut registration = form().parse().unwrap();
    registration.starts_at = at(start);
    registration.ends_at = at(end);
    registration
}

#[test]
fn r_reg_1_a_form_parses_into_a_registration_without_duplicate_endpoints() {
    let registration = form().parse().unwrap();
    assert_eq!(registration.member_endpoint_ids, vec![11, 12]);
    assert_eq!(registration.all_endpoint_ids(), vec![10, 11, 12]);
    assert_eq!(registration.meeting_type, MeetingType::PeriodicBriefing);
    assert_eq!(registration.classification, Classification::Normal);
    assert_eq!(registration.starts_at, at("14/05/2026 16:30"));
    let round_trip = RegistrationForm::from_registration(&registration)
        .parse()
        .unwrap();
    assert_eq!(round_trip, registration);
}

#[test]
fn r_reg_1_every_bad_field_is_reported_at_once() {
    let bad = RegistrationForm {
        urgency: "emergency".into(),
        member_endpoint_ids: vec![],
        date: "31/02/2026".into(),
        start_time: "25:00".into(),
        end_time: "9h".into(),
        rehearsals: "mai".into(),
        ..form()
    };
    let invalid = bad.parse().unwrap_err();
    let fields: Vec<&str> = invalid.errors.iter().map(|e| e.field).collect();
    for field in [
        "member_endpoint_ids",
        "emergency_reason",
        "date",
        "start_time",
        "rehearsals",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    let ends_first = RegistrationForm {
        end_time: "16:00".into(),
        ..form()
    };
    assert_eq!(
        ends_first.parse().unwrap_err().errors[0].code,
        "end_before_start"
    );
}

#[test]
fn r_reg_2_thanh_hoa_counts_two_working_days_and_names_the_deadline() {
    let policy = policy("thanh-hoa");
    let calendar = WorkCalendar::with_shipped();
    let registration = registration("14/05/2026 16:30", "14/05/2026 17:30");
    assert!(check_registration(
        &policy,
        &calendar,
        at("12/05/2026 16:30"),
        &registration,
        None
    )
    .is_empty());
    let refusals = check_registration(
        &policy,
        &calendar,
        at("12/05/2026 16:31"),
        &registration,
        None,
    );
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].rule, "R-REG-2");
    assert!(
        refusals[0]
            .message
            .vi
            .contains("đăng ký trước ít nhất 2 ngày làm việc"),
        "{}",
        refusals[0].message.vi
    );
    assert!(
        refusals[0]
            .message
            .vi
            .contains("hạn chót 16:30 ngày 12/05/2026"),
        "{}",
        refusals[0].message.vi
    );
    assert!(refusals[0].message.vi.contains("TH art. 8.1"));
    assert!(refusals[0].message.en.contains("16:30 on 12/05/2026"));
}

#[test]
fn r_reg_2_can_tho_counts_three_working_days_across_tet_2026() {
    // Tết Bính Ngọ: days off from Saturday 14/02 to Sunday 22/02/2026.
    let policy = policy("can-tho");
    let calendar = WorkCalendar::with_shipped();
    let registration = registration("24/02/2026 09:00", "24/02/2026 11:00");
    let refusals = check_registration(
        &policy,
        &calendar,
        at("12/02/2026 09:01"),
        &registration,
        None,
    );
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].deadline, at("12/02/2026 09:00"));
    assert!(check_registration(
        &policy,
        &calendar,
        at("12/02/2026 08:00"),
        &registration,
        None
    )
    .is_empty());
}

#[test]
fn r_reg_2_emergencies_bypass_the_normal_lead_time_but_not_their_own() {
    let calendar = WorkCalendar::with_shipped();
    let mut registration = registration("14/05/2026 16:30", "14/05/2026 17:30");
    registration.urgency = Urgency::Emergency;
    registration.emergency_reason = "Bão số 3 đổ bộ".into();
    // Cần Thơ: by phone at least 1 hour ahead.
    let can_tho = policy("can-tho");
    assert!(check_registration(
        &can_tho,
        &calendar,
        at("14/05/2026 15:30"),
        &registration,
        None
    )
    .is_empty());
    let refusals = check_registration(
        &can_tho,
        &calendar,
        at("14/05/2026 15:45"),
        &registration,
        None,
    );
    assert_eq!(refusals[0].code, "emergency_lead_time");
    // Hà Nội: 6 hours for an emergency, 24 hours otherwise.
    let ha_noi = policy("ha-noi");
    assert!(check_registration(
        &ha_noi,
        &calendar,
        at("14/05/2026 10:30"),
        &registration,
        None
    )
    .is_empty());
    assert_eq!(
        check_registration(
            &ha_noi,
            &calendar,
            at("14/05/2026 10:31"),
            &registration,
            None
        )
        .len(),
        1
    );
    registration.urgency = Urgency::Normal;
    assert!(check_registration(
        &ha_noi,
        &calendar,
        at("13/05/2026 16:30"),
        &registration,
        None
    )
    .is_empty());
    assert_eq!(
        check_registration(
            &ha_noi,
            &calendar,
            at("13/05/2026 16:31"),
            &registration,
            None
        )[0]
        .deadline,
        at("13/05/2026 16:30")
    );
}

#[test]
fn r_reg_2_can_tho_extra_needs_need_one_working_day() {
    let policy = policy("can-tho");
    let calendar = WorkCalendar::with_shipped();
    let mut registration = registration("15/05/2026 09:00", "15/05/2026 10:00");
    registration.extra_needs = vec![ExtraNeed::Recording];
    // In time for the session (3 working days) …
    let refusals = check_registration(
        &policy,
        &calendar,
        at("12/05/2026 08:00"),
        &registration,
        None,
    );
    assert!(refusals.is_empty(), "{refusals:?}");
    // … but a recording asked for on the eve is late, and so is the session.
    let refusals = check_registration(
        &policy,
        &calendar,
        at("14/05/2026 10:00"),
        &registration,
        None,
    );
    let codes: Vec<&str> = refusals.iter().map(|r| r.code).collect();
    assert_eq!(codes, vec!["lead_time", "extra_needs_lead_time"]);
}

#[test]
fn r_reg_2_a_postponement_is_not_refused_for_lead_time_but_bringing_forward_is() {
    let policy = policy("thanh-hoa");
    let calendar = WorkCalendar::with_shipped();
    let now = at("13/05/2026 08:00");
    let later = registration("14/05/2026 16:30", "14/05/2026 17:30");
    assert!(check_registration(
        &policy,
        &calendar,
        now,
        &later,
        Some(at("14/05/2026 08:00"))
    )
    .is_empty());
    let earlier = registration("14/05/2026 07:30", "14/05/2026 08:00");
    assert_eq!(
        check_registration(
            &policy,
            &calendar,
            now,
            &earlier,
            Some(at("14/05/2026 08:00"))
        )
        .len(),
        1
    );
}

#[test]
fn r_reg_9_documents_of_a_periodic_briefing_need_three_working_days() {
    let policy = policy("thua-thien-hue");
    let calendar = WorkCalendar::with_shipped();
    let briefing = registration("15/05/2026 09:00", "15/05/2026 10:00");
    assert!(check_document(&policy, &calendar, at("12/05/2026 09:00"), &briefing).is_none());
    let late = check_document(&policy, &calendar, at("12/05/2026 09:01"), &briefing).unwrap();
    assert_eq!(late.rule, "R-REG-9");
    let mut thematic = briefing.clone();
    thematic.meeting_type = MeetingType::Thematic;
    assert!(check_document(&policy, &calendar, at("14/05/2026 09:00"), &thematic).is_none());
}

fn booked(id: i64, start: &str, end: &str, endpoints: &[i64]) -> Booked {
    Booked {
        session_id: id,
        title: format!("Phiên {id}"),
        starts_at: at(start),
        ends_at: at(end),
        endpoints: endpoints
            .iter()
            .map(|e| (*e, format!("Điểm cầu {e}")))
            .collect(),
    }
}

const ROOMY: McuCapacity = McuCapacity {
    sessions: 10,
    endpoints: 1000,
};

#[test]
fn r_reg_3_an_endpoint_cannot_be_in_two_overlapping_sessions() {
    let busy = [booked(1, "14/05/2026 08:00", "14/05/2026 10:00", &[10, 20])];
    let found = conflicts(
        at("14/05/2026 09:30"),
        at("14/05/2026 11:00"),
        &[10, 11],
        &busy,
        ROOMY,
    );
    assert!(matches!(
        found.as_slice(),
        [Conflict::Endpoint {
            endpoint_id: 10,
            session_id: 1,
            ..
        }]
    ));
    assert!(found[0].message().vi.contains("Điểm cầu 10"));
    assert!(found[0].message().vi.contains("Phiên 1"));
    // Back to back is fine: intervals are half-open.
    assert!(conflicts(
        at("14/05/2026 10:00"),
        at("14/05/2026 11:00"),
        &[10],
        &busy,
        ROOMY
    )
    .is_empty());
    // Other endpoints at the same time are fine.
    assert!(conflicts(
        at("14/05/2026 09:00"),
        at("14/05/2026 11:00"),
        &[11],
        &busy,
        ROOMY
    )
    .is_empty());
}

#[test]
fn r_reg_3_the_mcu_capacity_counts_the_peak_inside_the_interval() {
    let capacity = McuCapacity {
        sessions: 2,
        endpoints: 10,
    };
    let busy = [
        booked(1, "14/05/2026 08:00", "14/05/2026 09:00", &[1, 2, 3]),
        booked(2, "14/05/2026 10:00", "14/05/2026 12:00", &[4, 5, 6]),
        booked(3, "14/05/2026 11:00", "14/05/2026 12:00", &[7]),
    ];
    // 08:30–10:30 meets 1 and 2 but never both at once: 2 sessions, fine.
    assert!(conflicts(
        at("14/05/2026 08:30"),
        at("14/05/2026 10:30"),
        &[20],
        &busy,
        capacity
    )
    .is_empty());
    // 10:30–11:30 meets 2 and 3 at 11:00: 3 sessions.
    let found = conflicts(
        at("14/05/2026 10:30"),
        at("14/05/2026 11:30"),
        &[20],
        &busy,
        capacity,
    );
    assert!(matches!(
        found.as_slice(),
        [Conflict::McuSessions {
            needed: 3,
            max: 2,
            ..
        }]
    ));
    // 7 endpoints with session 2's 3: 10 is the limit, 11 is over.
    let seven: Vec<i64> = (20..27).collect();
    assert!(conflicts(
        at("14/05/2026 10:00"),
        at("14/05/2026 10:30"),
        &seven,
        &busy,
        capacity
    )
    .is_empty());
    let eight: Vec<i64> = (20..28).collect();
    let found = conflicts(
        at("14/05/2026 10:00"),
        at("14/05/2026 10:30"),
        &eight,
        &busy,
        capacity,
    );
    assert!(matches!(
        found.as_slice(),
        [Conflict::McuEndpoints {
            needed: 11,
            max: 10,
            ..
        }]
    ));
}

#[test]
fn r_reg_3_free_slots_are_the_nearest_free_times_for_the_same_endpoints() {
    let calendar = WorkCalendar::with_shipped();
    let busy = [booked(1, "14/05/2026 08:00", "14/05/2026 10:00", &[10])];
    let request = SlotRequest {
        wanted_start: at("14/05/2026 09:00"),
        duration: jiff::Span::new().hours(1),
        endpoints: &[10, 11],
        not_before: at("14/05/2026 07:00"),
        working_days_only: true,
        count: 3,
    };
    let slots = free_slots(&request, &busy, ROOMY, &calendar, OfficeHours::default());
    assert_eq!(
        slots,
        vec![
            (at("14/05/2026 10:00"), at("14/05/2026 11:00")),
            (at("14/05/2026 10:15"), at("14/05/2026 11:15")),
            (at("14/05/2026 10:30"), at("14/05/2026 11:30")),
        ]
    );
    // On a Friday afternoon the next slots spill over the weekend to Monday.
    let late_friday = SlotRequest {
        wanted_start: at("15/05/2026 16:30"),
        not_before: at("15/05/2026 16:30"),
        ..request
    };
    let slots = free_slots(
        &late_friday,
        &busy,
        ROOMY,
        &calendar,
        OfficeHours::default(),
    );
    assert_eq!(slots[0].0, at("18/05/2026 07:30"));
    assert!(slots
        .iter()
        .all(|(start, _)| calendar.is_working_day(start.date())));
}

#[test]
fn r_reg_4_the_approver_follows_the_convening_body() {
    let rules = policy("thanh-hoa").approvers.value;
    let operating_unit = 99;
    // A Party committee's session goes to the Party office.
    let party = [(5, UnitKind::PartyOffice), (1, UnitKind::PartyOffice)];
    assert_eq!(route_approver(&rules, &party, operating_unit), 5);
    // The People's Committee office under the PC: the PC office itself.
    let committee = [
        (7, UnitKind::PeopleCommittee),
        (2, UnitKind::PeopleCommittee),
    ];
    assert_eq!(route_approver(&rules, &committee, operating_unit), 7);
    // A department: the operating unit (Sở TT&TT).
    let department = [(8, UnitKind::Department), (2, UnitKind::PeopleCommittee)];
    assert_eq!(route_approver(&rules, &department, operating_unit), 99);
    // Cần Thơ's profile sends everything to the operating unit.
    let can_tho = policy("can-tho").approvers.value;
    assert_eq!(route_approver(&can_tho, &party, operating_unit), 99);
}

#[test]
fn r_reg_4_the_life_cycle_allows_only_meaningful_steps() {
    use SessionStatus as S;
    assert_eq!(Action::Submit.apply(S::Draft), Ok(S::Submitted));
    assert_eq!(Action::Approve.apply(S::Submitted), Ok(S::Approved));
    assert_eq!(
        Action::AskChanges.apply(S::Submitted),
        Ok(S::ChangesRequested)
    );
    assert_eq!(Action::Submit.apply(S::ChangesRequested), Ok(S::Submitted));
    assert_eq!(Action::Cancel.apply(S::Approved), Ok(S::Cancelled));
    let refused = Action::Approve.apply(S::Draft).unwrap_err();
    assert!(refused.vi.contains("Bản nháp"));
    assert!(Action::Approve.apply(S::Cancelled).is_err());
    assert!(Action::Cancel.apply(S::Refused).is_err());
    assert!(!S::Draft.holds_resources() && S::Submitted.holds_resources());
}

#[test]
fn recurring_weekly_briefings_skip_days_off_and_exceptions() {
    let calendar = WorkCalendar::with_shipped();
    let recurrence = Recurrence {
        frequency: recurrence::Frequency::Weekly,
        until: date(2026, 3, 2),
        except: vec![date(2026, 1, 26)],
    };
    let days = recurrence.days(date(2026, 1, 5), &calendar);
    // Mondays 5/1 … 2/3/2026, minus 26/1 (excepted) and 16/2 (Tết).
    assert_eq!(
        days,
        vec![
            date(2026, 1, 5),
            date(2026, 1, 12),
            date(2026, 1, 19),
            date(2026, 2, 2),
            date(2026, 2, 9),
            date(2026, 2, 23),
            date(2026, 3, 2),
        ]
    );
    let typed = RegistrationForm {
        date: "05/01/2026".into(),
        start_time: "08:00".into(),
        end_time: "09:00".into(),
        repeat: "weekly".into(),
        repeat_until: "02/03/2026".into(),
        repeat_except: "26/01/2026".into(),
        ..form()
    };
    assert_eq!(typed.parse().unwrap().recurrence, Some(recurrence));
    let too_long = RegistrationForm {
        repeat_until: "05/03/2027".into(),
        ..typed
    };
    assert_eq!(
        too_long.parse().unwrap_err().errors[0].field,
        "repeat_until"
    );
}
