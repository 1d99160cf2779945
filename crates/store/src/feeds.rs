//! The published schedule's subscriptions (R-REG-5): one secret iCalendar feed token per unit
//! or endpoint, and the few lookups the schedule's views need besides the session listing
//! (which units a session books, which sessions were ever approved, a subtree's units).
//!
//! Invariants and choices:
//!
//! - A feed is reached without logging in (calendar clients cannot log in), so its token is
//!   the only key: 32 random bytes from the OS generator, hex encoded. Resetting replaces it;
//!   the old token stops working in the same transaction.
//! - A target has at most one token: creation and reset run in the single write connection,
//!   so two concurrent "create if missing" calls cannot both insert.
//! - Creating and resetting a token are audited like every write; the token itself is never
//!   written to the audit trail, which auditors read.
//! - The token is kept in clear, not as a digest: it is shown again to whoever may read the
//!   unit's schedule, which a digest would not allow. It opens the published schedule only,
//!   whose classified sessions are masked (R-SEC-4).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::accounts::new_secret;
use crate::{audit, now_text, Actor, Result, Store, StoreError};

/// What a feed publishes: the sessions of a unit's subtree, or of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum FeedTarget {
    /// Sessions hosted by or booking an endpoint of a unit of this unit's subtree.
    Unit(i64),
    /// Sessions booking this endpoint.
    Endpoint(i64),
}

impl FeedTarget {
    fn column(self) -> &'static str {
        match self {
            FeedTarget::Unit(_) => "unit_id",
            FeedTarget::Endpoint(_) => "endpoint_id",
        }
    }

    fn id(self) -> i64 {
        match self {
            FeedTarget::Unit(id) | FeedTarget::Endpoint(id) => id,
        }
    }
}

/// The audit subject of `target` (`unit:CODE`, `endpoint:CODE`); fails if it does not exist.
async fn subject_tx(tx: &mut Transaction<'_, Sqlite>, target: FeedTarget) -> Result<String> {
    let (table, prefix, missing) = match target {
        FeedTarget::Unit(_) => ("units", "unit", "unit"),
        FeedTarget::Endpoint(_) => ("endpoints", "endpoint", "endpoint"),
    };
    let code: Option<String> =
        sqlx::query_scalar(&format!("SELECT code FROM {table} WHERE id = ?"))
            .bind(target.id())
            .fetch_optional(&mut **tx)
            .await?;
    code.map(|code| format!("{prefix}:{code}"))
        .ok_or(StoreError::NotFound(missing))
}

async fn insert_token_tx(tx: &mut Transaction<'_, Sqlite>, target: FeedTarget) -> Result<String> {
    let token = new_secret("");
    sqlx::query(&format!(
        "INSERT INTO feed_tokens ({}, token, created_at) VALUES (?, ?, ?)",
        target.column()
    ))
    .bind(target.id())
    .bind(&token)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

impl Store {
    /// The token of `target`'s feed, if one was created.
    pub async fn existing_feed_token(&self, target: FeedTarget) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT token FROM feed_tokens WHERE {} = ? ORDER BY id DESC LIMIT 1",
            target.column()
        ))
        .bind(target.id())
        .fetch_optional(&self.read)
        .await?)
    }

    /// The token of `target`'s feed, created (and audited) if there is none yet.
    pub async fn feed_token(&self, actor: &Actor, target: FeedTarget) -> Result<String> {
        let mut tx = self.begin_write().await?;
        let subject = subject_tx(&mut tx, target).await?;
        let existing: Option<String> = sqlx::query_scalar(&format!(
            "SELECT token FROM feed_tokens WHERE {} = ? ORDER BY id DESC LIMIT 1",
            target.column()
        ))
        .bind(target.id())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(token) = existing {
            return Ok(token);
        }
        let token = insert_token_tx(&mut tx, target).await?;
        audit::append(
            &mut tx,
            actor,
            "feed.create",
            &subject,
            &json!({ "target": target }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Replaces `target`'s token: the old feed URL stops working at once.
    pub async fn reset_feed_token(&self, actor: &Actor, target: FeedTarget) -> Result<String> {
        let mut tx = self.begin_write().await?;
        let subject = subject_tx(&mut tx, target).await?;
        sqlx::query(&format!(
            "DELETE FROM feed_tokens WHERE {} = ?",
            target.column()
        ))
        .bind(target.id())
        .execute(&mut *tx)
        .await?;
        let token = insert_token_tx(&mut tx, target).await?;
        audit::append(
            &mut tx,
            actor,
            "feed.reset",
            &subject,
            &json!({ "target": target }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// What the feed of `token` publishes; `NotFound("feed")` for an unknown or reset token.
    pub async fn feed_by_token(&self, token: &str) -> Result<FeedTarget> {
        let row: Option<(Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT unit_id, endpoint_id FROM feed_tokens WHERE token = ?")
                .bind(token.trim())
                .fetch_optional(&self.read)
                .await?;
        match row {
            Some((Some(unit), _)) => Ok(FeedTarget::Unit(unit)),
            Some((None, Some(endpoint))) => Ok(FeedTarget::Endpoint(endpoint)),
            // The table's CHECK makes exactly one of them set.
            Some((None, None)) => Err(StoreError::Corrupt("feed token without a target".into())),
            None => Err(StoreError::NotFound("feed")),
        }
    }

    /// Of `session_ids`, those that were approved at some point (their history has an
    /// approved version): a cancelled session is published as cancelled only if subscribers
    /// may have seen it.
    pub async fn sessions_ever_approved(&self, session_ids: &[i64]) -> Result<HashSet<i64>> {
        if session_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut builder = QueryBuilder::<Sqlite>::new(
            "SELECT DISTINCT session_id FROM session_versions WHERE status = 'approved' AND session_id IN (",
        );
        let mut list = builder.separated(", ");
        for id in session_ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        let ids: Vec<i64> = builder.build_query_scalar().fetch_all(&self.read).await?;
        Ok(ids.into_iter().collect())
    }

    /// For each of `session_ids`, the units of every endpoint it books (the host's included).
    pub async fn booked_units(&self, session_ids: &[i64]) -> Result<HashMap<i64, Vec<i64>>> {
        let mut booked: HashMap<i64, Vec<i64>> = HashMap::new();
        if session_ids.is_empty() {
            return Ok(booked);
        }
        let mut builder = QueryBuilder::<Sqlite>::new(
            "SELECT DISTINCT se.session_id, e.unit_id FROM session_endpoints se JOIN endpoints e ON e.id = se.endpoint_id \
             WHERE se.session_id IN (",
        );
        let mut list = builder.separated(", ");
        for id in session_ids {
            list.push_bind(*id);
        }
        list.push_unseparated(") ORDER BY se.session_id, e.unit_id");
        let rows: Vec<(i64, i64)> = builder.build_query_as().fetch_all(&self.read).await?;
        for (session, unit) in rows {
            booked.entry(session).or_default().push(unit);
        }
        Ok(booked)
    }

    /// Every unit of the subtrees rooted at `roots`, the roots included.
    pub async fn subtree_unit_ids(&self, roots: &[i64]) -> Result<HashSet<i64>> {
        if roots.is_empty() {
            return Ok(HashSet::new());
        }
        let mut builder = QueryBuilder::<Sqlite>::new(
            "WITH RECURSIVE sub(id) AS (SELECT id FROM units WHERE id IN (",
        );
        let mut list = builder.separated(", ");
        for id in roots {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        builder.push(
            " UNION SELECT u.id FROM units u JOIN sub ON u.parent_id = sub.id) SELECT id FROM sub",
        );
        let ids: Vec<i64> = builder.build_query_scalar().fetch_all(&self.read).await?;
        Ok(ids.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use hnth_domain::endpoint::EndpointForm;
    use hnth_domain::policy::LoadedPolicy;
    use hnth_domain::unit::UnitForm;
    use jiff::civil::date;

    use super::*;
    use crate::StoreOptions;

    async fn open() -> (Store, tempfile::TempDir, i64, i64, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions {
            data_dir: dir.path().join("data"),
            read_connections: 2,
        })
        .await
        .unwrap();
        let policy = LoadedPolicy::load("can-tho", &toml::Table::new())
            .unwrap()
            .policy;
        store.sync_levels(&policy.levels.value).await.unwrap();
        let levels = store.levels().await.unwrap();
        let actor = Actor::system("test");
        let mut ids = Vec::new();
        for (code, level, parent) in [("CT.UBND", "city", ""), ("CT.NK", "district", "CT.UBND")] {
            let form = UnitForm {
                code: code.into(),
                name: format!("Đơn vị {code}"),
                kind: "people_committee".into(),
                level: level.into(),
                parent_code: parent.into(),
                valid_from: "01/01/2020".into(),
                ..UnitForm::default()
            };
            let spec = form.parse(&levels, date(2026, 11, 23)).unwrap();
            ids.push(store.create_unit(&actor, &spec).await.unwrap().id);
        }
        let spec = EndpointForm {
            code: "CT.NK.P1".into(),
            unit_code: "CT.NK".into(),
            name: "Phòng họp 1".into(),
            terminal: "room_system".into(),
            network: "dedicated".into(),
            ..EndpointForm::default()
        }
        .parse()
        .unwrap();
        let endpoint = store
            .create_endpoint(&actor, &policy, &spec, date(2026, 11, 23))
            .await
            .unwrap();
        (store, dir, ids[0], ids[1], endpoint.id)
    }

    #[tokio::test]
    async fn r_reg_5_one_token_per_target_created_once_and_audited() {
        let (store, _dir, city, _district, endpoint) = open().await;
        let actor = Actor::system("test");
        assert_eq!(
            store
                .existing_feed_token(FeedTarget::Unit(city))
                .await
                .unwrap(),
            None
        );
        let first = store
            .feed_token(&actor, FeedTarget::Unit(city))
            .await
            .unwrap();
        assert_eq!(first.len(), 64, "32 random bytes, hex");
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
        let again = store
            .feed_token(&actor, FeedTarget::Unit(city))
            .await
            .unwrap();
        assert_eq!(first, again, "a second call returns the same token");
        let for_endpoint = store
            .feed_token(&actor, FeedTarget::Endpoint(endpoint))
            .await
            .unwrap();
        assert_ne!(first, for_endpoint);
        assert_eq!(
            store.feed_by_token(&first).await.unwrap(),
            FeedTarget::Unit(city)
        );
        assert_eq!(
            store.feed_by_token(&for_endpoint).await.unwrap(),
            FeedTarget::Endpoint(endpoint)
        );
        let trail = store.audit_records(crate::Page::new(50, 0)).await.unwrap();
        let created: Vec<_> = trail
            .items
            .iter()
            .filter(|r| r.action == "feed.create")
            .collect();
        assert_eq!(
            created.len(),
            2,
            "one record per creation, none for the repeated call"
        );
        assert!(
            trail.items.iter().all(|r| !r.detail.contains(&first)),
            "the token never reaches the audit trail"
        );
    }

    #[tokio::test]
    async fn r_reg_5_a_reset_token_stops_the_old_one() {
        let (store, _dir, city, _district, _endpoint) = open().await;
        let actor = Actor::system("test");
        let old = store
            .feed_token(&actor, FeedTarget::Unit(city))
            .await
            .unwrap();
        let new = store
            .reset_feed_token(&actor, FeedTarget::Unit(city))
            .await
            .unwrap();
        assert_ne!(old, new);
        assert!(matches!(
            store.feed_by_token(&old).await,
            Err(StoreError::NotFound("feed"))
        ));
        assert_eq!(
            store.feed_by_token(&new).await.unwrap(),
            FeedTarget::Unit(city)
        );
        assert_eq!(
            store
                .existing_feed_token(FeedTarget::Unit(city))
                .await
                .unwrap(),
            Some(new)
        );
        assert!(matches!(
            store.feed_token(&actor, FeedTarget::Unit(9999)).await,
            Err(StoreError::NotFound("unit"))
        ));
        assert!(matches!(
            store
                .reset_feed_token(&actor, FeedTarget::Endpoint(9999))
                .await,
            Err(StoreError::NotFound("endpoint"))
        ));
    }

    #[tokio::test]
    async fn subtrees_include_their_roots_and_descendants() {
        let (store, _dir, city, district, _endpoint) = open().await;
        let all = store.subtree_unit_ids(&[city]).await.unwrap();
        assert_eq!(all, HashSet::from([city, district]));
        let lower = store.subtree_unit_ids(&[district]).await.unwrap();
        assert_eq!(lower, HashSet::from([district]));
        assert!(store.subtree_unit_ids(&[]).await.unwrap().is_empty());
    }
}
