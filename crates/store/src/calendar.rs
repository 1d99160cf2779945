//! The official changes of the working-day calendar (extra days off, swapped working
//! Saturdays, the year's Tết placement), as an administrator keeps them.
//!
//! The project ships the official tables of some years ([`WorkCalendar::shipped_changes`]).
//! Each shipped year is copied into the database once ([`Store::seed_calendar`]); from then on
//! the database is the truth, so an administrator's correction or deletion survives upgrades.

use hnth_domain::calendar::{ChangeKind, DayChange, WorkCalendar};
use hnth_domain::lang::Text;
use jiff::civil::Date;
use serde_json::json;

use crate::{audit, parse_date, Actor, Result, Store, StoreError};

impl Store {
    /// Copies each shipped year not copied before; returns the years copied.
    pub async fn seed_calendar(&self, shipped: &[DayChange]) -> Result<Vec<i16>> {
        let mut tx = self.begin_write().await?;
        let mut years: Vec<i16> = shipped.iter().map(|c| c.date.year()).collect();
        years.sort_unstable();
        years.dedup();
        let mut copied = Vec::new();
        for year in years {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT year FROM calendar_seeded WHERE year = ?")
                    .bind(year)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            for change in shipped.iter().filter(|c| c.date.year() == year) {
                sqlx::query(
                    "INSERT INTO calendar_changes (day, kind, name_vi, name_en, source) VALUES (?, ?, ?, ?, ?) ON CONFLICT (day) DO NOTHING",
                )
                .bind(change.date.to_string())
                .bind(change.kind.as_str())
                .bind(&change.name.vi)
                .bind(&change.name.en)
                .bind(&change.source)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("INSERT INTO calendar_seeded (year) VALUES (?)")
                .bind(year)
                .execute(&mut *tx)
                .await?;
            copied.push(year);
        }
        tx.commit().await?;
        Ok(copied)
    }

    /// Every recorded change, by date.
    pub async fn calendar_changes(&self) -> Result<Vec<DayChange>> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT day, kind, name_vi, name_en, source FROM calendar_changes ORDER BY day",
        )
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(day, kind, name_vi, name_en, source)| {
                Ok(DayChange {
                    date: parse_date(&day)?,
                    kind: ChangeKind::parse(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("calendar change kind `{kind}`"))
                    })?,
                    name: Text::new(name_vi, name_en),
                    source,
                })
            })
            .collect()
    }

    /// The calendar in force: the rules plus every recorded change.
    pub async fn work_calendar(&self) -> Result<WorkCalendar> {
        Ok(WorkCalendar::new(self.calendar_changes().await?))
    }

    /// Records a change, replacing one on the same day.
    pub async fn save_calendar_change(&self, actor: &Actor, change: &DayChange) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO calendar_changes (day, kind, name_vi, name_en, source) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name_vi = excluded.name_vi, name_en = excluded.name_en, source = excluded.source",
        )
        .bind(change.date.to_string())
        .bind(change.kind.as_str())
        .bind(&change.name.vi)
        .bind(&change.name.en)
        .bind(&change.source)
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "calendar.save",
            &format!("calendar:{}", change.date),
            &json!(change),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the change of `day`.
    pub async fn delete_calendar_change(&self, actor: &Actor, day: Date) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM calendar_changes WHERE day = ?")
            .bind(day.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Err(StoreError::NotFound("calendar change"));
        }
        audit::append(
            &mut tx,
            actor,
            "calendar.delete",
            &format!("calendar:{day}"),
            &json!({ "day": day }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
