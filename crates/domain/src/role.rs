//! Roles and permissions scoped to the unit tree (R-SEC-1).
//!
//! A user holds grants; each grant is a [`Role`] on a unit and covers that unit's whole
//! subtree. An action is a [`Permission`] on a target unit (or on the system as a whole).
//! It is allowed when some grant's role includes the permission and the grant's unit is the
//! target or one of its ancestors. The table in [`Role::permissions`] is the single place
//! that says who may do what; the web layer asks [`is_allowed`] on every route.

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// The roles of DOMAIN.md's actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the installation: accounts, grants, everything.
    SystemAdmin,
    /// Keeps the directory, policy and reports of the operating unit.
    OperatingAdmin,
    /// Leader who approves registrations.
    Approver,
    /// Registers sessions and sends invitations for a host unit.
    HostSecretary,
    /// Controls the MCU during sessions.
    McuOperator,
    /// Runs one room's equipment.
    EndpointOperator,
    /// Carrier or power-company liaison.
    Liaison,
    /// Reads everything, changes nothing.
    Auditor,
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Permission {
    /// Read units, endpoints, contacts (the directory is shared across the government).
    DirectoryRead,
    /// Create and edit units and endpoints (R-SEC-6: technical parameters only by the
    /// operating unit).
    DirectoryWrite,
    /// Create, replace and close focal and on-duty contacts of a unit.
    ContactsWrite,
    /// Import directory files.
    DirectoryImport,
    /// Export the focal-contact list (Appendix II).
    ContactsExport,
    /// See the policy in force.
    PolicyRead,
    /// Manage accounts and grants.
    UsersManage,
    /// Read the audit trail.
    AuditRead,
    /// Read the published schedule of sessions (R-REG-5: every unit).
    ScheduleRead,
    /// Register sessions for a host unit, change, postpone and cancel them (R-REG-1).
    SessionRegister,
    /// Approve, refuse or send back registrations routed to a unit (R-REG-4).
    SessionApprove,
    /// Confirm or decline an invitation for an invited unit (R-REG-7).
    InvitationAnswer,
    /// Confirm a carrier or power-company notice and name the duty staff (R-REG-8).
    NoticeConfirm,
    /// Edit the official changes of the working-day calendar.
    CalendarManage,
    /// Manage webhook subscriptions and send test notices (the notification outbox).
    NotifyManage,
    /// Join a live session as one of the session's endpoints of a unit in the grant's
    /// subtree (the room's camera and microphone).
    ConferenceJoin,
    /// Control live sessions as the MCU operator: admit, remove, mute, layouts, connect to
    /// the host (R-LIVE-1, R-LIVE-2, R-LIVE-7).
    LiveControl,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 8] = [
        Role::SystemAdmin,
        Role::OperatingAdmin,
        Role::Approver,
        Role::HostSecretary,
        Role::McuOperator,
        Role::EndpointOperator,
        Role::Liaison,
        Role::Auditor,
    ];

    /// The code used in the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SystemAdmin => "system_admin",
            Role::OperatingAdmin => "operating_admin",
            Role::Approver => "approver",
            Role::HostSecretary => "host_secretary",
            Role::McuOperator => "mcu_operator",
            Role::EndpointOperator => "endpoint_operator",
            Role::Liaison => "liaison",
            Role::Auditor => "auditor",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == code.trim())
    }

    /// The name shown to users.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Role::SystemAdmin, Lang::Vi) => "Quản trị hệ thống",
            (Role::SystemAdmin, Lang::En) => "System administrator",
            (Role::OperatingAdmin, Lang::Vi) => "Quản trị đơn vị vận hành",
            (Role::OperatingAdmin, Lang::En) => "Operating-unit administrator",
            (Role::Approver, Lang::Vi) => "Lãnh đạo phê duyệt",
            (Role::Approver, Lang::En) => "Approver",
            (Role::HostSecretary, Lang::Vi) => "Thư ký đơn vị chủ trì",
            (Role::HostSecretary, Lang::En) => "Host-unit secretary",
            (Role::McuOperator, Lang::Vi) => "Cán bộ điều khiển MCU",
            (Role::McuOperator, Lang::En) => "MCU operator",
            (Role::EndpointOperator, Lang::Vi) => "Cán bộ vận hành điểm cầu",
            (Role::EndpointOperator, Lang::En) => "Endpoint operator",
            (Role::Liaison, Lang::Vi) => "Liên lạc viễn thông/điện lực",
            (Role::Liaison, Lang::En) => "Carrier/power liaison",
            (Role::Auditor, Lang::Vi) => "Kiểm tra, giám sát",
            (Role::Auditor, Lang::En) => "Auditor",
        }
    }

    /// The permissions of this role: least privilege (R-SEC-1).
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::SystemAdmin => &[
                DirectoryRead,
                DirectoryWrite,
                ContactsWrite,
                DirectoryImport,
                ContactsExport,
                PolicyRead,
                UsersManage,
                AuditRead,
                ScheduleRead,
                SessionRegister,
                SessionApprove,
                InvitationAnswer,
                NoticeConfirm,
                CalendarManage,
                NotifyManage,
                ConferenceJoin,
                LiveControl,
            ],
            // The operating unit registers on behalf of hosts and answers invitations of the
            // endpoints it runs, but approval stays with the leaders (R-REG-4).
            Role::OperatingAdmin => &[
                DirectoryRead,
                DirectoryWrite,
                ContactsWrite,
                DirectoryImport,
                ContactsExport,
                PolicyRead,
                ScheduleRead,
                SessionRegister,
                InvitationAnswer,
                CalendarManage,
                NotifyManage,
                ConferenceJoin,
            ],
            Role::Approver => &[
                DirectoryRead,
                ContactsExport,
                PolicyRead,
                ScheduleRead,
                SessionApprove,
            ],
            Role::HostSecretary => &[
                DirectoryRead,
                ContactsWrite,
                ScheduleRead,
                SessionRegister,
                InvitationAnswer,
                ConferenceJoin,
            ],
            Role::McuOperator => &[
                DirectoryRead,
                ContactsExport,
                ScheduleRead,
                ConferenceJoin,
                LiveControl,
            ],
            // Endpoint operators and liaisons keep their own unit's technicians and on-duty
            // staff current: they know when a person changes.
            Role::EndpointOperator => &[
                DirectoryRead,
                ContactsWrite,
                ScheduleRead,
                InvitationAnswer,
                ConferenceJoin,
            ],
            Role::Liaison => &[DirectoryRead, ContactsWrite, ScheduleRead, NoticeConfirm],
            Role::Auditor => &[
                DirectoryRead,
                ContactsExport,
                PolicyRead,
                AuditRead,
                ScheduleRead,
            ],
        }
    }

    /// Whether the role includes `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

/// One role held on one unit's subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// The root of the subtree it covers.
    pub unit_id: i64,
}

/// What an action is done on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The system as a whole (accounts, policy, audit trail, the full directory listing).
    System,
    /// One unit, given by its ancestor chain: the unit itself first, then its parent, up to
    /// the root.
    Unit(&'a [i64]),
}

/// Whether a user holding `grants` may do `permission` on `target`.
///
/// System-wide targets need the role anywhere; a unit target needs the role on the unit or
/// an ancestor.
pub fn is_allowed(grants: &[Grant], permission: Permission, target: Target<'_>) -> bool {
    grants.iter().any(|grant| {
        grant.role.allows(permission)
            && match target {
                Target::System => true,
                Target::Unit(chain) => chain.contains(&grant.unit_id),
            }
    })
}

/// Whether any grant includes `permission` (to show or hide a menu entry).
pub fn has_permission(grants: &[Grant], permission: Permission) -> bool {
    is_allowed(grants, permission, Target::System)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_sec_1_a_grant_covers_its_subtree_only() {
        // Tree: 1 city → 2 district → 3 commune; 4 another district.
        let grants = [Grant {
            role: Role::OperatingAdmin,
            unit_id: 2,
        }];
        assert!(is_allowed(
            &grants,
            Permission::DirectoryWrite,
            Target::Unit(&[3, 2, 1])
        ));
        assert!(is_allowed(
            &grants,
            Permission::DirectoryWrite,
            Target::Unit(&[2, 1])
        ));
        assert!(!is_allowed(
            &grants,
            Permission::DirectoryWrite,
            Target::Unit(&[1])
        ));
        assert!(!is_allowed(
            &grants,
            Permission::DirectoryWrite,
            Target::Unit(&[4, 1])
        ));
    }

    #[test]
    fn r_sec_1_least_privilege() {
        for role in Role::ALL {
            let may_manage_users = role.allows(Permission::UsersManage);
            assert_eq!(may_manage_users, role == Role::SystemAdmin, "{role:?}");
            // Only administrators change technical parameters (R-SEC-6).
            assert_eq!(
                role.allows(Permission::DirectoryWrite),
                matches!(role, Role::SystemAdmin | Role::OperatingAdmin),
                "{role:?}"
            );
            assert!(role.allows(Permission::DirectoryRead));
            // Only the MCU operator (and the system administrator) routes media (R-LIVE-4).
            assert_eq!(
                role.allows(Permission::LiveControl),
                matches!(role, Role::SystemAdmin | Role::McuOperator),
                "{role:?}"
            );
        }
        let auditor = [Grant {
            role: Role::Auditor,
            unit_id: 1,
        }];
        assert!(!is_allowed(
            &auditor,
            Permission::ContactsWrite,
            Target::Unit(&[1])
        ));
        assert!(is_allowed(&auditor, Permission::AuditRead, Target::System));
    }
}
