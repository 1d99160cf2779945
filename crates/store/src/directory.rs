//! The directory: administrative levels, units, endpoints and contacts.
//!
//! Every write resolves codes to rows, asks the domain rules with what it found (the parent's
//! level, the unit's current endpoint count …), writes, and appends to the audit trail, all in
//! one write transaction. The `*_tx` functions are shared with the importer, which runs many
//! of them in a single transaction.

use hnth_domain::collate::fold;
use hnth_domain::contact::{Contact, ContactRole, ContactSpec};
use hnth_domain::endpoint::{
    check_endpoint_rules, Endpoint, EndpointSpec, EndpointStatus, NetworkKind, TerminalKind,
};
use hnth_domain::lang::Text;
use hnth_domain::level::{Level, LevelDef};
use hnth_domain::policy::Policy;
use hnth_domain::unit::{check_placement, ParentFacts, Unit, UnitKind, UnitSpec};
use hnth_domain::validate::Invalid;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::{
    audit, is_unique_violation, now_text, parse_date, parse_optional_date, Actor, Page, Paged,
    Result, Store, StoreError,
};

#[derive(sqlx::FromRow)]
struct LevelRow {
    code: String,
    rank: i64,
    name_vi: String,
    name_en: String,
}

#[derive(sqlx::FromRow)]
struct UnitRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    level: String,
    parent_id: Option<i64>,
    address: String,
    phone: String,
    email: String,
    valid_from: String,
    valid_to: Option<String>,
    successor_id: Option<i64>,
}

impl TryFrom<UnitRow> for Unit {
    type Error = StoreError;
    fn try_from(row: UnitRow) -> Result<Unit> {
        Ok(Unit {
            id: row.id,
            kind: UnitKind::parse(&row.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unit kind `{}`", row.kind)))?,
            code: row.code,
            name: row.name,
            level: row.level,
            parent_id: row.parent_id,
            address: row.address,
            phone: row.phone,
            email: row.email,
            valid_from: parse_date(&row.valid_from)?,
            valid_to: parse_optional_date(row.valid_to.as_deref())?,
            successor_id: row.successor_id,
        })
    }
}

const UNIT_COLUMNS: &str =
    "u.id, u.code, u.name, u.kind, u.level, u.parent_id, u.address, u.phone, u.email, u.valid_from, u.valid_to, u.successor_id";

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: i64,
    code: String,
    unit_id: i64,
    name: String,
    address: String,
    seats: i64,
    terminal: String,
    equipment: String,
    network: String,
    status: String,
    control_right: bool,
    has_control_laptop: bool,
    vpn_token_issued: bool,
}

impl TryFrom<EndpointRow> for Endpoint {
    type Error = StoreError;
    fn try_from(row: EndpointRow) -> Result<Endpoint> {
        let corrupt =
            |what: &str, value: &str| StoreError::Corrupt(format!("endpoint {what} `{value}`"));
        Ok(Endpoint {
            id: row.id,
            terminal: TerminalKind::parse(&row.terminal)
                .ok_or_else(|| corrupt("terminal", &row.terminal))?,
            network: NetworkKind::parse(&row.network)
                .ok_or_else(|| corrupt("network", &row.network))?,
            status: EndpointStatus::parse(&row.status)
                .ok_or_else(|| corrupt("status", &row.status))?,
            code: row.code,
            unit_id: row.unit_id,
            name: row.name,
            address: row.address,
            seats: u32::try_from(row.seats)
                .map_err(|_| corrupt("seats", &row.seats.to_string()))?,
            equipment: row.equipment,
            control_right: row.control_right,
            has_control_laptop: row.has_control_laptop,
            vpn_token_issued: row.vpn_token_issued,
        })
    }
}

const ENDPOINT_COLUMNS: &str = "e.id, e.code, e.unit_id, e.name, e.address, e.seats, e.terminal, e.equipment, e.network, e.status, e.control_right, e.has_control_laptop, e.vpn_token_issued";

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    unit_id: i64,
    role: String,
    full_name: String,
    position: String,
    email: String,
    phone: String,
    valid_from: String,
    valid_to: Option<String>,
    replaced_by: Option<i64>,
}

impl TryFrom<ContactRow> for Contact {
    type Error = StoreError;
    fn try_from(row: ContactRow) -> Result<Contact> {
        Ok(Contact {
            id: row.id,
            unit_id: row.unit_id,
            role: ContactRole::parse(&row.role)
                .ok_or_else(|| StoreError::Corrupt(format!("contact role `{}`", row.role)))?,
            full_name: row.full_name,
            position: row.position,
            email: row.email,
            phone: row.phone,
            valid_from: parse_date(&row.valid_from)?,
            valid_to: parse_optional_date(row.valid_to.as_deref())?,
            replaced_by: row.replaced_by,
        })
    }
}

const CONTACT_COLUMNS: &str =
    "c.id, c.unit_id, c.role, c.full_name, c.position, c.email, c.phone, c.valid_from, c.valid_to, c.replaced_by";

/// A unit with what the tree view shows beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitNode {
    /// The unit.
    #[serde(flatten)]
    pub unit: Unit,
    /// How many sub-units it has.
    pub child_count: u64,
    /// How many endpoints it has (any status).
    pub endpoint_count: u64,
}

/// Filters of the unit listing.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Words to find in the name or code, marks ignored.
    pub q: Option<String>,
    /// Only this level.
    pub level: Option<String>,
    /// Only this kind.
    pub kind: Option<UnitKind>,
    /// Only children of this unit.
    pub parent_id: Option<i64>,
    /// Only units that exist on this day.
    pub active_on: Option<Date>,
}

/// An endpoint with its unit's code and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointListing {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The owning unit's code.
    pub unit_code: String,
    /// The owning unit's name.
    pub unit_name: String,
}

/// Filters of the endpoint listing.
#[derive(Debug, Clone, Default)]
pub struct EndpointFilter {
    /// Words to find in the room name or code, marks ignored.
    pub q: Option<String>,
    /// Only endpoints of this unit.
    pub unit_id: Option<i64>,
    /// Only this status.
    pub status: Option<EndpointStatus>,
}

/// A contact with its unit's code and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactListing {
    /// The contact.
    #[serde(flatten)]
    pub contact: Contact,
    /// The unit's code.
    pub unit_code: String,
    /// The unit's name.
    pub unit_name: String,
}

/// Filters of the contact listing.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Only this unit's contacts.
    pub unit_id: Option<i64>,
    /// Only this role.
    pub role: Option<ContactRole>,
    /// Include people who were replaced.
    pub include_history: bool,
}

fn search_pattern(q: &str) -> String {
    let folded = fold(q.trim()).replace(['%', '_'], " ");
    format!(
        "%{}%",
        folded.split_whitespace().collect::<Vec<_>>().join("%")
    )
}

impl Store {
    /// Makes the stored levels those of the policy, top first. A level that units still use
    /// cannot disappear: that is a configuration error stopping the start.
    pub async fn sync_levels(&self, defs: &[LevelDef]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let stored: Vec<String> = sqlx::query_scalar("SELECT code FROM levels")
            .fetch_all(&mut *tx)
            .await?;
        for code in stored
            .iter()
            .filter(|code| !defs.iter().any(|d| &d.code == *code))
        {
            let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM units WHERE level = ?")
                .bind(code)
                .fetch_one(&mut *tx)
                .await?;
            if used > 0 {
                return Err(StoreError::Setup(format!(
                    "the policy no longer has level `{code}`, but {used} units are at that level; keep the level in the policy or move those units first"
                )));
            }
            sqlx::query("DELETE FROM levels WHERE code = ?")
                .bind(code)
                .execute(&mut *tx)
                .await?;
        }
        // Ranks are unique: move them out of the way before writing the new order.
        sqlx::query("UPDATE levels SET rank = -rank - 1")
            .execute(&mut *tx)
            .await?;
        for (rank, def) in defs.iter().enumerate() {
            sqlx::query(
                "INSERT INTO levels (code, rank, name_vi, name_en) VALUES (?, ?, ?, ?)
                 ON CONFLICT (code) DO UPDATE SET rank = excluded.rank, name_vi = excluded.name_vi, name_en = excluded.name_en",
            )
            .bind(&def.code)
            .bind(rank as i64)
            .bind(&def.name_vi)
            .bind(&def.name_en)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The levels, top first.
    pub async fn levels(&self) -> Result<Vec<Level>> {
        let rows = sqlx::query_as::<_, LevelRow>(
            "SELECT code, rank, name_vi, name_en FROM levels ORDER BY rank",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Level {
                rank: r.rank as u32,
                def: LevelDef {
                    code: r.code,
                    name_vi: r.name_vi,
                    name_en: r.name_en,
                },
            })
            .collect())
    }

    /// One unit.
    pub async fn unit(&self, id: i64) -> Result<Unit> {
        sqlx::query_as::<_, UnitRow>(&format!(
            "SELECT {UNIT_COLUMNS} FROM units u WHERE u.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound("unit"))?
        .try_into()
    }

    /// One unit by its code.
    pub async fn unit_by_code(&self, code: &str) -> Result<Option<Unit>> {
        sqlx::query_as::<_, UnitRow>(&format!(
            "SELECT {UNIT_COLUMNS} FROM units u WHERE u.code = ?"
        ))
        .bind(code.trim().to_ascii_uppercase())
        .fetch_optional(&self.read)
        .await?
        .map(Unit::try_from)
        .transpose()
    }

    /// The unit and its ancestors, the unit first, the root last.
    pub async fn unit_chain(&self, id: i64) -> Result<Vec<Unit>> {
        let rows = sqlx::query_as::<_, UnitRow>(&format!(
            "WITH RECURSIVE chain(id, depth) AS (
                 SELECT id, 0 FROM units WHERE id = ?
                 UNION ALL SELECT p.parent_id, c.depth + 1 FROM chain c JOIN units p ON p.id = c.id WHERE p.parent_id IS NOT NULL AND c.depth < 64
             )
             SELECT {UNIT_COLUMNS} FROM chain JOIN units u ON u.id = chain.id ORDER BY chain.depth"
        ))
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound("unit"));
        }
        rows.into_iter().map(Unit::try_from).collect()
    }

    /// Ids of the unit and its ancestors, for permission checks.
    pub async fn unit_chain_ids(&self, id: i64) -> Result<Vec<i64>> {
        Ok(self
            .unit_chain(id)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect())
    }

    /// The children of `parent` (roots for `None`), in Vietnamese name order, with counts.
    pub async fn unit_children(
        &self,
        parent: Option<i64>,
        active_on: Option<Date>,
    ) -> Result<Vec<UnitNode>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {UNIT_COLUMNS},
                    (SELECT COUNT(*) FROM units c WHERE c.parent_id = u.id) AS child_count,
                    (SELECT COUNT(*) FROM endpoints e WHERE e.unit_id = u.id) AS endpoint_count
             FROM units u WHERE "
        ));
        match parent {
            Some(id) => query.push("u.parent_id = ").push_bind(id),
            None => query.push("u.parent_id IS NULL"),
        };
        if let Some(day) = active_on {
            let day = day.to_string();
            query.push(" AND u.valid_from <= ").push_bind(day.clone());
            query
                .push(" AND (u.valid_to IS NULL OR u.valid_to >= ")
                .push_bind(day)
                .push(")");
        }
        query.push(" ORDER BY u.name COLLATE vi");
        let rows = query.build().fetch_all(&self.read).await?;
        rows.into_iter()
            .map(|row| {
                use sqlx::Row;
                let child_count: i64 = row.try_get("child_count")?;
                let endpoint_count: i64 = row.try_get("endpoint_count")?;
                let unit = <UnitRow as sqlx::FromRow<_>>::from_row(&row)?;
                Ok(UnitNode {
                    unit: unit.try_into()?,
                    child_count: child_count as u64,
                    endpoint_count: endpoint_count as u64,
                })
            })
            .collect()
    }

    /// Units matching `filter`, in Vietnamese name order.
    pub async fn list_units(&self, filter: &UnitFilter, page: Page) -> Result<Paged<Unit>> {
        let build = |select: &str| {
            let mut query =
                QueryBuilder::<Sqlite>::new(format!("SELECT {select} FROM units u WHERE 1 = 1"));
            if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
                let pattern = search_pattern(q);
                query
                    .push(" AND (u.search_text LIKE ")
                    .push_bind(pattern.clone());
                query
                    .push(" OR lower(u.code) LIKE ")
                    .push_bind(pattern)
                    .push(")");
            }
            if let Some(level) = &filter.level {
                query.push(" AND u.level = ").push_bind(level.clone());
            }
            if let Some(kind) = filter.kind {
                query.push(" AND u.kind = ").push_bind(kind.as_str());
            }
            if let Some(parent) = filter.parent_id {
                query.push(" AND u.parent_id = ").push_bind(parent);
            }
            if let Some(day) = filter.active_on {
                query
                    .push(" AND u.valid_from <= ")
                    .push_bind(day.to_string());
                query
                    .push(" AND (u.valid_to IS NULL OR u.valid_to >= ")
                    .push_bind(day.to_string())
                    .push(")");
            }
            query
        };
        let total: i64 = build("COUNT(*)")
            .build_query_scalar()
            .fetch_one(&self.read)
            .await?;
        let mut query = build(UNIT_COLUMNS);
        query
            .push(" ORDER BY u.name COLLATE vi, u.code LIMIT ")
            .push_bind(i64::from(page.limit));
        query.push(" OFFSET ").push_bind(i64::from(page.offset));
        let rows = query
            .build_query_as::<UnitRow>()
            .fetch_all(&self.read)
            .await?;
        let items = rows
            .into_iter()
            .map(Unit::try_from)
            .collect::<Result<_>>()?;
        Ok(Paged {
            items,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// Creates a unit.
    pub async fn create_unit(&self, actor: &Actor, spec: &UnitSpec) -> Result<Unit> {
        let mut tx = self.begin_write().await?;
        let unit = save_unit_tx(&mut tx, None, spec).await?;
        audit::append(
            &mut tx,
            actor,
            "unit.create",
            &format!("unit:{}", unit.code),
            &json!(unit),
        )
        .await?;
        tx.commit().await?;
        Ok(unit)
    }

    /// Replaces the fields of unit `id`.
    pub async fn update_unit(&self, actor: &Actor, id: i64, spec: &UnitSpec) -> Result<Unit> {
        let mut tx = self.begin_write().await?;
        let unit = save_unit_tx(&mut tx, Some(id), spec).await?;
        audit::append(
            &mut tx,
            actor,
            "unit.update",
            &format!("unit:{}", unit.code),
            &json!(unit),
        )
        .await?;
        tx.commit().await?;
        Ok(unit)
    }

    /// One endpoint with its unit.
    pub async fn endpoint(&self, id: i64) -> Result<EndpointListing> {
        let mut page = self
            .query_endpoints(Some(id), &EndpointFilter::default(), Page::new(1, 0))
            .await?;
        page.items.pop().ok_or(StoreError::NotFound("endpoint"))
    }

    /// Endpoints matching `filter`, in Vietnamese name order.
    pub async fn list_endpoints(
        &self,
        filter: &EndpointFilter,
        page: Page,
    ) -> Result<Paged<EndpointListing>> {
        self.query_endpoints(None, filter, page).await
    }

    async fn query_endpoints(
        &self,
        id: Option<i64>,
        filter: &EndpointFilter,
        page: Page,
    ) -> Result<Paged<EndpointListing>> {
        let build = |select: &str| {
            let mut query = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {select} FROM endpoints e JOIN units u ON u.id = e.unit_id WHERE 1 = 1"
            ));
            if let Some(id) = id {
                query.push(" AND e.id = ").push_bind(id);
            }
            if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
                let pattern = search_pattern(q);
                query
                    .push(" AND (e.search_text LIKE ")
                    .push_bind(pattern.clone());
                query
                    .push(" OR u.search_text LIKE ")
                    .push_bind(pattern.clone());
                query
                    .push(" OR lower(e.code) LIKE ")
                    .push_bind(pattern)
                    .push(")");
            }
            if let Some(unit) = filter.unit_id {
                query.push(" AND e.unit_id = ").push_bind(unit);
            }
            if let Some(status) = filter.status {
                query.push(" AND e.status = ").push_bind(status.as_str());
            }
            query
        };
        let total: i64 = build("COUNT(*)")
            .build_query_scalar()
            .fetch_one(&self.read)
            .await?;
        let mut query = build(&format!(
            "{ENDPOINT_COLUMNS}, u.code AS unit_code, u.name AS unit_name"
        ));
        query
            .push(" ORDER BY e.name COLLATE vi, e.code LIMIT ")
            .push_bind(i64::from(page.limit));
        query.push(" OFFSET ").push_bind(i64::from(page.offset));
        let rows = query.build().fetch_all(&self.read).await?;
        let items = rows
            .into_iter()
            .map(|row| {
                use sqlx::Row;
                let unit_code: String = row.try_get("unit_code")?;
                let unit_name: String = row.try_get("unit_name")?;
                let endpoint = <EndpointRow as sqlx::FromRow<_>>::from_row(&row)?;
                Ok(EndpointListing {
                    endpoint: endpoint.try_into()?,
                    unit_code,
                    unit_name,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Paged {
            items,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// Creates an endpoint, checking the policy's limits and control-right rules.
    pub async fn create_endpoint(
        &self,
        actor: &Actor,
        policy: &Policy,
        spec: &EndpointSpec,
        today: Date,
    ) -> Result<Endpoint> {
        let mut tx = self.begin_write().await?;
        let endpoint = save_endpoint_tx(&mut tx, None, policy, spec, today).await?;
        audit::append(
            &mut tx,
            actor,
            "endpoint.create",
            &format!("endpoint:{}", endpoint.code),
            &json!(endpoint),
        )
        .await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Replaces the fields of endpoint `id`.
    pub async fn update_endpoint(
        &self,
        actor: &Actor,
        policy: &Policy,
        id: i64,
        spec: &EndpointSpec,
        today: Date,
    ) -> Result<Endpoint> {
        let mut tx = self.begin_write().await?;
        let endpoint = save_endpoint_tx(&mut tx, Some(id), policy, spec, today).await?;
        audit::append(
            &mut tx,
            actor,
            "endpoint.update",
            &format!("endpoint:{}", endpoint.code),
            &json!(endpoint),
        )
        .await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// One contact with its unit.
    pub async fn contact(&self, id: i64) -> Result<ContactListing> {
        let mut page = self
            .query_contacts(
                Some(id),
                &ContactFilter {
                    include_history: true,
                    ..Default::default()
                },
                Page::new(1, 0),
            )
            .await?;
        page.items.pop().ok_or(StoreError::NotFound("contact"))
    }

    /// Contacts matching `filter`, by unit, role and name.
    pub async fn list_contacts(
        &self,
        filter: &ContactFilter,
        page: Page,
    ) -> Result<Paged<ContactListing>> {
        self.query_contacts(None, filter, page).await
    }

    async fn query_contacts(
        &self,
        id: Option<i64>,
        filter: &ContactFilter,
        page: Page,
    ) -> Result<Paged<ContactListing>> {
        let build = |select: &str| {
            let mut query = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {select} FROM contacts c JOIN units u ON u.id = c.unit_id WHERE 1 = 1"
            ));
            if let Some(id) = id {
                query.push(" AND c.id = ").push_bind(id);
            }
            if let Some(unit) = filter.unit_id {
                query.push(" AND c.unit_id = ").push_bind(unit);
            }
            if let Some(role) = filter.role {
                query.push(" AND c.role = ").push_bind(role.as_str());
            }
            if !filter.include_history {
                query.push(" AND c.valid_to IS NULL");
            }
            query
        };
        let total: i64 = build("COUNT(*)")
            .build_query_scalar()
            .fetch_one(&self.read)
            .await?;
        let mut query = build(&format!(
            "{CONTACT_COLUMNS}, u.code AS unit_code, u.name AS unit_name"
        ));
        query.push(
            " ORDER BY u.name COLLATE vi, CASE c.role WHEN 'leader' THEN 0 WHEN 'main_technician' THEN 1
               WHEN 'support_technician' THEN 2 ELSE 3 END, c.valid_to IS NOT NULL, c.valid_from DESC, c.id DESC LIMIT ",
        )
        .push_bind(i64::from(page.limit));
        query.push(" OFFSET ").push_bind(i64::from(page.offset));
        let rows = query.build().fetch_all(&self.read).await?;
        let items = rows
            .into_iter()
            .map(|row| {
                use sqlx::Row;
                let unit_code: String = row.try_get("unit_code")?;
                let unit_name: String = row.try_get("unit_name")?;
                let contact = <ContactRow as sqlx::FromRow<_>>::from_row(&row)?;
                Ok(ContactListing {
                    contact: contact.try_into()?,
                    unit_code,
                    unit_name,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Paged {
            items,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// Adds a contact. For the leader and the main technician, the current holder is closed
    /// and points at the newcomer (R-DIR-4).
    pub async fn add_contact(
        &self,
        actor: &Actor,
        spec: &ContactSpec,
        today: Date,
    ) -> Result<Contact> {
        let mut tx = self.begin_write().await?;
        let contact = add_contact_tx(&mut tx, spec, today).await?;
        audit::append(
            &mut tx,
            actor,
            "contact.add",
            &format!("contact:{}", contact.id),
            &json!(contact),
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Replaces the person of contact `id` by the one in `spec` (same unit and role); the
    /// old row is kept as history.
    pub async fn replace_contact(
        &self,
        actor: &Actor,
        id: i64,
        spec: &ContactSpec,
        today: Date,
    ) -> Result<Contact> {
        let mut tx = self.begin_write().await?;
        let old = current_contact_tx(&mut tx, id).await?;
        let spec = ContactSpec {
            role: old.role,
            ..spec.clone()
        };
        let unit_id = unit_id_by_code_tx(&mut tx, &spec.unit_code).await?;
        if unit_id != old.unit_id {
            return Err(Invalid::one(
                "unit_code",
                "unit_changed",
                Text::new(
                    "Người thay thế phải thuộc cùng đơn vị.",
                    "The replacement must belong to the same unit.",
                ),
            )
            .into());
        }
        let new = insert_contact_tx(&mut tx, unit_id, &spec, today).await?;
        close_contact_tx(&mut tx, old.id, today, Some(new.id)).await?;
        audit::append(
            &mut tx,
            actor,
            "contact.replace",
            &format!("contact:{}", old.id),
            &json!({ "old": old, "new": new }),
        )
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Ends contact `id` without a replacement.
    pub async fn end_contact(&self, actor: &Actor, id: i64, today: Date) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let old = current_contact_tx(&mut tx, id).await?;
        close_contact_tx(&mut tx, old.id, today, None).await?;
        audit::append(
            &mut tx,
            actor,
            "contact.end",
            &format!("contact:{}", old.id),
            &json!(old),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every unit that exists on `day` with its current contacts, in tree order (parents
    /// before their children, siblings by name): the rows of the Appendix II form.
    pub async fn contact_sheet(&self, day: Date) -> Result<Vec<(Unit, Vec<Contact>)>> {
        let units = self
            .list_units(
                &UnitFilter {
                    active_on: Some(day),
                    ..Default::default()
                },
                Page::all(),
            )
            .await?
            .items;
        let contacts = self
            .list_contacts(&ContactFilter::default(), Page::all())
            .await?
            .items;
        let mut by_unit: std::collections::HashMap<i64, Vec<Contact>> =
            std::collections::HashMap::new();
        for listing in contacts {
            by_unit
                .entry(listing.contact.unit_id)
                .or_default()
                .push(listing.contact);
        }
        // Depth-first from the roots; `units` is already in name order.
        let mut children: std::collections::HashMap<Option<i64>, Vec<&Unit>> =
            std::collections::HashMap::new();
        for unit in &units {
            let parent = unit.parent_id.filter(|p| units.iter().any(|u| u.id == *p));
            children.entry(parent).or_default().push(unit);
        }
        let mut ordered = Vec::with_capacity(units.len());
        let mut stack: Vec<&Unit> = children
            .get(&None)
            .map(|roots| roots.iter().rev().copied().collect())
            .unwrap_or_default();
        while let Some(unit) = stack.pop() {
            ordered.push((unit.clone(), by_unit.remove(&unit.id).unwrap_or_default()));
            if let Some(kids) = children.get(&Some(unit.id)) {
                stack.extend(kids.iter().rev());
            }
        }
        Ok(ordered)
    }
}

pub(crate) async fn unit_id_by_code_tx(
    tx: &mut Transaction<'_, Sqlite>,
    code: &str,
) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE code = ?")
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    id.ok_or_else(|| {
        Invalid::one(
            "unit_code",
            "unknown_unit",
            Text::new(
                format!("Không có đơn vị mã {code}."),
                format!("There is no unit with code {code}."),
            ),
        )
        .into()
    })
}

async fn unit_tx(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<Unit> {
    sqlx::query_as::<_, UnitRow>(&format!(
        "SELECT {UNIT_COLUMNS} FROM units u WHERE u.id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound("unit"))?
    .try_into()
}

async fn level_rank_tx(tx: &mut Transaction<'_, Sqlite>, code: &str) -> Result<u32> {
    let rank: Option<i64> = sqlx::query_scalar("SELECT rank FROM levels WHERE code = ?")
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    rank.map(|r| r as u32)
        .ok_or_else(|| StoreError::Corrupt(format!("level `{code}` is not stored")))
}

/// Inserts (`id = None`) or updates a unit after checking its place in the tree.
pub(crate) async fn save_unit_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: Option<i64>,
    spec: &UnitSpec,
) -> Result<Unit> {
    if let Some(id) = id {
        unit_tx(tx, id).await?;
    }
    let mut invalid = Invalid::default();
    let mut parent_id = None;
    let mut parent_facts = None;
    if let Some(parent_code) = &spec.parent_code {
        let parent: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE code = ?")
            .bind(parent_code)
            .fetch_optional(&mut **tx)
            .await?;
        match parent {
            None => invalid.push(
                "parent_code",
                "unknown_unit",
                Text::new(
                    format!("Không có đơn vị cấp trên mã {parent_code} (đơn vị cấp trên phải có trước)."),
                    format!("There is no parent unit with code {parent_code} (the parent must exist first)."),
                ),
            ),
            Some(pid) => {
                let parent = unit_tx(tx, pid).await?;
                let is_descendant_of_child = match id {
                    Some(id) => chain_ids_tx(tx, pid).await?.contains(&id),
                    None => false,
                };
                parent_facts = Some(ParentFacts {
                    rank: level_rank_tx(tx, &parent.level).await?,
                    valid_to: parent.valid_to,
                    is_descendant_of_child,
                });
                parent_id = Some(pid);
            }
        }
    }
    let mut successor_id: Option<i64> = None;
    if let Some(successor_code) = &spec.successor_code {
        successor_id = sqlx::query_scalar("SELECT id FROM units WHERE code = ?")
            .bind(successor_code)
            .fetch_optional(&mut **tx)
            .await?;
        if successor_id.is_none() {
            invalid.push(
                "successor_code",
                "unknown_unit",
                Text::new(
                    format!("Không có đơn vị kế thừa mã {successor_code}."),
                    format!("There is no successor unit with code {successor_code}."),
                ),
            );
        }
    }
    if let Some(id) = id {
        // Children must stay at this unit's level or below.
        let highest_child: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(l.rank) FROM units c JOIN levels l ON l.code = c.level WHERE c.parent_id = ?",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        if highest_child.is_some_and(|rank| (rank as u32) < spec.level.rank) {
            invalid.push(
                "level",
                "children_above",
                Text::new(
                    "Có đơn vị trực thuộc ở cấp cao hơn cấp mới; chuyển các đơn vị đó trước.",
                    "Some sub-units are at a higher level than the new one; move them first.",
                ),
            );
        }
    }
    if let Err(placement) = check_placement(spec, parent_facts.as_ref()) {
        invalid.errors.extend(placement.errors);
    }
    if !invalid.errors.is_empty() {
        return Err(invalid.into());
    }
    let now = now_text();
    let result = match id {
        None => {
            sqlx::query(
                "INSERT INTO units (code, name, search_text, kind, level, parent_id, address, phone, email, valid_from, valid_to, successor_id, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
        }
        Some(_) => sqlx::query(
            "UPDATE units SET code = ?, name = ?, search_text = ?, kind = ?, level = ?, parent_id = ?, address = ?, phone = ?, email = ?,
             valid_from = ?, valid_to = ?, successor_id = ?, updated_at = ? WHERE id = ?",
        ),
    }
    .bind(&spec.code)
    .bind(&spec.name)
    .bind(fold(&spec.name))
    .bind(spec.kind.as_str())
    .bind(&spec.level.def.code)
    .bind(parent_id)
    .bind(&spec.address)
    .bind(&spec.phone)
    .bind(&spec.email)
    .bind(spec.valid_from.to_string())
    .bind(spec.valid_to.map(|d| d.to_string()))
    .bind(successor_id)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await;
    let new_id = match result {
        Ok(done) => id.unwrap_or(done.last_insert_rowid()),
        Err(error) if is_unique_violation(&error) => {
            return Err(duplicate_code("code", &spec.code))
        }
        Err(error) => return Err(error.into()),
    };
    unit_tx(tx, new_id).await
}

fn duplicate_code(field: &'static str, code: &str) -> StoreError {
    Invalid::one(
        field,
        "duplicate_code",
        Text::new(
            format!("Mã {code} đã được dùng; chọn mã khác."),
            format!("Code {code} is already in use; choose another."),
        ),
    )
    .into()
}

async fn chain_ids_tx(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "WITH RECURSIVE chain(id, depth) AS (
             SELECT id, 0 FROM units WHERE id = ?
             UNION ALL SELECT p.parent_id, c.depth + 1 FROM chain c JOIN units p ON p.id = c.id WHERE p.parent_id IS NOT NULL AND c.depth < 64
         ) SELECT id FROM chain ORDER BY depth",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Inserts or updates an endpoint after the domain's rules.
pub(crate) async fn save_endpoint_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: Option<i64>,
    policy: &Policy,
    spec: &EndpointSpec,
    today: Date,
) -> Result<Endpoint> {
    if let Some(id) = id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM endpoints WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        exists.ok_or(StoreError::NotFound("endpoint"))?;
    }
    let unit_id = unit_id_by_code_tx(tx, &spec.unit_code).await?;
    let unit = unit_tx(tx, unit_id).await?;
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM endpoints WHERE unit_id = ? AND status <> 'retired' AND id IS NOT ?",
    )
    .bind(unit_id)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    check_endpoint_rules(policy, spec, &unit, others as u32, today)?;
    let result = match id {
        None => sqlx::query(
            "INSERT INTO endpoints (code, unit_id, name, search_text, address, seats, terminal, equipment, network, status,
             control_right, has_control_laptop, vpn_token_issued, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ),
        Some(_) => sqlx::query(
            "UPDATE endpoints SET code = ?, unit_id = ?, name = ?, search_text = ?, address = ?, seats = ?, terminal = ?, equipment = ?,
             network = ?, status = ?, control_right = ?, has_control_laptop = ?, vpn_token_issued = ?, updated_at = ? WHERE id = ?",
        ),
    }
    .bind(&spec.code)
    .bind(unit_id)
    .bind(&spec.name)
    .bind(fold(&spec.name))
    .bind(&spec.address)
    .bind(i64::from(spec.seats))
    .bind(spec.terminal.as_str())
    .bind(&spec.equipment)
    .bind(spec.network.as_str())
    .bind(spec.status.as_str())
    .bind(spec.control_right)
    .bind(spec.has_control_laptop)
    .bind(spec.vpn_token_issued)
    .bind(now_text())
    .bind(id)
    .execute(&mut **tx)
    .await;
    let new_id = match result {
        Ok(done) => id.unwrap_or(done.last_insert_rowid()),
        Err(error) if is_unique_violation(&error) => {
            return Err(duplicate_code("code", &spec.code))
        }
        Err(error) => return Err(error.into()),
    };
    sqlx::query_as::<_, EndpointRow>(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM endpoints e WHERE e.id = ?"
    ))
    .bind(new_id)
    .fetch_one(&mut **tx)
    .await?
    .try_into()
}

async fn contact_tx(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<Contact> {
    sqlx::query_as::<_, ContactRow>(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound("contact"))?
    .try_into()
}

async fn current_contact_tx(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<Contact> {
    let contact = contact_tx(tx, id).await?;
    if !contact.is_current() {
        return Err(StoreError::Conflict(Text::new(
            "Người này đã được thay thế hoặc đã thôi phụ trách; chỉ sửa người đang phụ trách.",
            "This person was already replaced or removed; only current contacts can change.",
        )));
    }
    Ok(contact)
}

async fn insert_contact_tx(
    tx: &mut Transaction<'_, Sqlite>,
    unit_id: i64,
    spec: &ContactSpec,
    today: Date,
) -> Result<Contact> {
    let done = sqlx::query(
        "INSERT INTO contacts (unit_id, role, full_name, position, email, phone, valid_from) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(unit_id)
    .bind(spec.role.as_str())
    .bind(&spec.full_name)
    .bind(&spec.position)
    .bind(&spec.email)
    .bind(&spec.phone)
    .bind(today.to_string())
    .execute(&mut **tx)
    .await?;
    contact_tx(tx, done.last_insert_rowid()).await
}

async fn close_contact_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    today: Date,
    replaced_by: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE contacts SET valid_to = ?, replaced_by = ? WHERE id = ?")
        .bind(today.to_string())
        .bind(replaced_by)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds a contact; a single-holder role replaces the current holder. Adding the same
/// person again in the same role changes nothing (so importing a file twice is harmless),
/// but updates their position, e-mail and phone.
pub(crate) async fn add_contact_tx(
    tx: &mut Transaction<'_, Sqlite>,
    spec: &ContactSpec,
    today: Date,
) -> Result<Contact> {
    let unit_id = unit_id_by_code_tx(tx, &spec.unit_code).await?;
    let same_person: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM contacts WHERE unit_id = ? AND role = ? AND full_name = ? AND valid_to IS NULL",
    )
    .bind(unit_id)
    .bind(spec.role.as_str())
    .bind(&spec.full_name)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = same_person {
        sqlx::query("UPDATE contacts SET position = ?, email = ?, phone = ? WHERE id = ?")
            .bind(&spec.position)
            .bind(&spec.email)
            .bind(&spec.phone)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        return contact_tx(tx, id).await;
    }
    let new = insert_contact_tx(tx, unit_id, spec, today).await?;
    if spec.role.is_single_holder() {
        let previous: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM contacts WHERE unit_id = ? AND role = ? AND valid_to IS NULL AND id <> ?")
                .bind(unit_id)
                .bind(spec.role.as_str())
                .bind(new.id)
                .fetch_all(&mut **tx)
                .await?;
        for old in previous {
            close_contact_tx(tx, old, today, Some(new.id)).await?;
        }
    }
    Ok(new)
}
