//! Documents attached to a session (R-REG-9): added with their notices to the invitees in one
//! transaction, listed without their bytes, read back whole, removed with an audit record.
//!
//! Invariants:
//! - The session's classification and state are checked inside the writing transaction
//!   ([`hnth_domain::session::document::attach_refusal`]), so a session cancelled or
//!   classified a moment earlier never gets a document.
//! - Every add and removal appends to the audit trail with the file's SHA-256, so what was
//!   circulated can be proven later even after the file is removed.

use hnth_domain::lang::Text;
use hnth_domain::session::document::{attach_refusal, DocumentFile};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::sessions::{notify_tx, parse_instant, session_tx};
use crate::{audit, Actor, Result, Store, StoreError};

/// A stored document, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentRecord {
    /// Its id.
    pub id: i64,
    /// The session it belongs to.
    pub session_id: i64,
    /// The name it is offered under.
    pub file_name: String,
    /// The media type it is served with.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// The R-REG-9 deadline in force when it was added (`None`: an emergency, no deadline).
    pub due_at: Option<Timestamp>,
    /// Why it came after the deadline, as the uploader wrote it.
    pub late_reason: String,
    /// Who added it (username).
    pub uploaded_by: Option<String>,
    /// When.
    pub uploaded_at: Timestamp,
}

impl DocumentRecord {
    /// Whether it arrived after its deadline.
    pub fn late(&self) -> bool {
        self.due_at.is_some_and(|due| self.uploaded_at > due)
    }
}

/// A document to add.
#[derive(Debug, Clone, Copy)]
pub struct NewDocument<'a> {
    /// The session.
    pub session_id: i64,
    /// The checked name and type.
    pub file: &'a DocumentFile,
    /// The bytes.
    pub content: &'a [u8],
    /// The deadline in force (`None` for emergencies).
    pub due_at: Option<Timestamp>,
    /// Why it is late; the web layer requires one when it is.
    pub late_reason: &'a str,
}

const DOCUMENT_SELECT: &str =
    "SELECT d.id, d.session_id, d.file_name, d.content_type, d.size, d.sha256, d.due_at, \
     d.late_reason, u.username AS uploaded_by, d.uploaded_at FROM session_documents d \
     LEFT JOIN users u ON u.id = d.uploaded_by";

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: i64,
    session_id: i64,
    file_name: String,
    content_type: String,
    size: i64,
    sha256: String,
    due_at: Option<String>,
    late_reason: String,
    uploaded_by: Option<String>,
    uploaded_at: String,
}

impl TryFrom<DocumentRow> for DocumentRecord {
    type Error = StoreError;

    fn try_from(row: DocumentRow) -> Result<DocumentRecord> {
        Ok(DocumentRecord {
            id: row.id,
            session_id: row.session_id,
            file_name: row.file_name,
            content_type: row.content_type,
            size: row.size,
            sha256: row.sha256,
            due_at: row.due_at.as_deref().map(parse_instant).transpose()?,
            late_reason: row.late_reason,
            uploaded_by: row.uploaded_by,
            uploaded_at: parse_instant(&row.uploaded_at)?,
        })
    }
}

impl Store {
    /// Adds a document to a session and tells every invited unit, in one transaction.
    pub async fn add_document(
        &self,
        actor: &Actor,
        document: NewDocument<'_>,
    ) -> Result<DocumentRecord> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let session = session_tx(&mut tx, document.session_id).await?;
        let registration = &session.registration;
        if let Some(reason) = attach_refusal(registration.classification, session.status) {
            return Err(StoreError::Conflict(reason));
        }
        let sha256 = hex::encode(Sha256::digest(document.content));
        let size = i64::try_from(document.content.len())
            .map_err(|_| StoreError::Corrupt("document larger than i64".into()))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO session_documents (session_id, file_name, content_type, size, sha256, content, due_at, late_reason, uploaded_by, uploaded_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(document.session_id)
        .bind(document.file.name())
        .bind(document.file.content_type())
        .bind(size)
        .bind(&sha256)
        .bind(document.content)
        .bind(document.due_at.map(|due| due.to_string()))
        .bind(document.late_reason)
        .bind(actor.user_id)
        .bind(now.to_string())
        .fetch_one(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "session.document.add",
            &format!("session:{}", document.session_id),
            &json!({
                "document_id": id,
                "file_name": document.file.name(),
                "size": size,
                "sha256": sha256,
                "late_reason": document.late_reason,
            }),
        )
        .await?;
        let invited: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT unit_id FROM invitations WHERE session_id = ? ORDER BY unit_id",
        )
        .bind(document.session_id)
        .fetch_all(&mut *tx)
        .await?;
        let name = document.file.name();
        for unit in invited {
            notify_tx(
                &mut tx,
                unit,
                document.session_id,
                "session.document",
                Text::new(
                    format!("Tài liệu cho phiên họp \"{}\"", registration.title),
                    format!("Document for the session \"{}\"", registration.title),
                ),
                Text::new(
                    format!("Đã có tài liệu \"{name}\" trên trang phiên họp."),
                    format!("The document \"{name}\" is on the session's page."),
                ),
                now,
            )
            .await?;
        }
        let record = document_conn(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The documents of a session, oldest first.
    pub async fn documents_for(&self, session_id: i64) -> Result<Vec<DocumentRecord>> {
        let rows: Vec<DocumentRow> = sqlx::query_as(&format!(
            "{DOCUMENT_SELECT} WHERE d.session_id = ? ORDER BY d.uploaded_at, d.id"
        ))
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(DocumentRecord::try_from).collect()
    }

    /// One document of `session_id` with its bytes.
    pub async fn document_content(
        &self,
        session_id: i64,
        id: i64,
    ) -> Result<(DocumentRecord, Vec<u8>)> {
        let mut conn = self.read.acquire().await?;
        let record = document_conn(&mut conn, id).await?;
        if record.session_id != session_id {
            return Err(StoreError::NotFound("document"));
        }
        let content: Vec<u8> =
            sqlx::query_scalar("SELECT content FROM session_documents WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        Ok((record, content))
    }

    /// Removes a document of `session_id`; the audit trail keeps its name and hash.
    pub async fn remove_document(&self, actor: &Actor, session_id: i64, id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let record = document_conn(&mut tx, id).await?;
        if record.session_id != session_id {
            return Err(StoreError::NotFound("document"));
        }
        sqlx::query("DELETE FROM session_documents WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            actor,
            "session.document.remove",
            &format!("session:{session_id}"),
            &json!({ "document_id": id, "file_name": record.file_name, "sha256": record.sha256 }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn document_conn(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<DocumentRecord> {
    sqlx::query_as::<_, DocumentRow>(&format!("{DOCUMENT_SELECT} WHERE d.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("document"))?
        .try_into()
}
