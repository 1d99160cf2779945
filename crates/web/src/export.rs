//! Exports of the focal-contact list in the form of Appendix II of the Cần Thơ regulation
//! (Decision 2044/QĐ-UBND, 2018): per unit, the leader, the main technician and the support
//! technician, each with name, position, e-mail and phone (R-DIR-4).
//!
//! The spreadsheet is written with `rust_xlsxwriter`: the appendix's title, a two-row header
//! grouping the three people, frozen panes and a filter, so it prints and sorts as officials
//! expect. The CSV carries the same columns with a byte-order mark so Excel reads the
//! Vietnamese text correctly.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hnth_domain::contact::{Contact, ContactRole};
use hnth_domain::lang::Lang;
use hnth_domain::role::Permission;
use hnth_domain::unit::Unit;
use hnth_domain::validate::format_date;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::error::AppError;
use crate::{today, AppState, Ctx, CurrentUser};

/// One unit's line of the sheet.
pub struct SheetRow<'a> {
    /// The unit.
    pub unit: &'a Unit,
    /// People by the three roles of the form; several support technicians share a cell.
    pub people: [Vec<&'a Contact>; 3],
}

/// Puts the current contacts of each unit into the three columns of the form.
pub fn sheet_rows(units: &[(Unit, Vec<Contact>)]) -> Vec<SheetRow<'_>> {
    units
        .iter()
        .map(|(unit, contacts)| {
            let of = |role: ContactRole| {
                contacts
                    .iter()
                    .filter(|c| c.role == role && c.is_current())
                    .collect::<Vec<_>>()
            };
            SheetRow {
                unit,
                people: [
                    of(ContactRole::Leader),
                    of(ContactRole::MainTechnician),
                    of(ContactRole::SupportTechnician),
                ],
            }
        })
        .collect()
}

struct Headings {
    appendix: &'static str,
    title: &'static str,
    basis: &'static str,
    exported: &'static str,
    number: &'static str,
    unit_code: &'static str,
    unit: &'static str,
    groups: [&'static str; 3],
    fields: [&'static str; 4],
    sheet: &'static str,
}

fn headings(lang: Lang) -> Headings {
    match lang {
        Lang::Vi => Headings {
            appendix: "PHỤ LỤC II",
            title: "THÔNG TIN CÁN BỘ ĐẦU MỐI QUẢN LÝ, VẬN HÀNH HỆ THỐNG HỘI NGHỊ TRUYỀN HÌNH TRỰC TUYẾN",
            basis: "(Theo mẫu ban hành kèm theo Quyết định số 2044/QĐ-UBND ngày 14 tháng 8 năm 2018 của Ủy ban nhân dân thành phố Cần Thơ)",
            exported: "Ngày xuất",
            number: "STT",
            unit_code: "Mã đơn vị",
            unit: "Cơ quan, đơn vị",
            groups: ["1. Cán bộ lãnh đạo đơn vị", "2. Cán bộ kỹ thuật (phụ trách chính)", "3. Cán bộ kỹ thuật (hỗ trợ)"],
            fields: ["Họ tên", "Chức vụ", "Địa chỉ thư điện tử", "Số điện thoại liên lạc"],
            sheet: "Phu luc II",
        },
        Lang::En => Headings {
            appendix: "APPENDIX II",
            title: "FOCAL CONTACTS FOR MANAGING AND OPERATING THE VIDEO-CONFERENCE SYSTEM",
            basis: "(Form of Decision 2044/QĐ-UBND of 14 August 2018 of the People's Committee of Cần Thơ)",
            exported: "Exported on",
            number: "No.",
            unit_code: "Unit code",
            unit: "Body",
            groups: ["1. Leader of the unit", "2. Technician (main)", "3. Technician (support)"],
            fields: ["Full name", "Position", "E-mail", "Phone"],
            sheet: "Appendix II",
        },
    }
}

fn joined(people: &[&Contact], field: impl Fn(&Contact) -> &str) -> String {
    people
        .iter()
        .map(|c| field(c))
        .collect::<Vec<_>>()
        .join("\n")
}

fn person_cells(people: &[&Contact]) -> [String; 4] {
    [
        joined(people, |c| &c.full_name),
        joined(people, |c| &c.position),
        joined(people, |c| &c.email),
        joined(people, |c| &c.phone),
    ]
}

/// The workbook as bytes.
pub fn contact_sheet_xlsx(
    rows: &[SheetRow<'_>],
    lang: Lang,
    exported_on: jiff::civil::Date,
) -> Result<Vec<u8>, XlsxError> {
    let h = headings(lang);
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(h.sheet)?;
    let last_column: u16 = 2 + 12;
    let title = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_font_size(13);
    let italic = Format::new().set_italic().set_align(FormatAlign::Center);
    let header = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xDCE6F2));
    let cell = Format::new()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_border(FormatBorder::Thin);
    sheet.merge_range(0, 0, 0, last_column, h.appendix, &title)?;
    sheet.merge_range(1, 0, 1, last_column, h.title, &title)?;
    sheet.merge_range(2, 0, 2, last_column, h.basis, &italic)?;
    sheet.merge_range(
        3,
        0,
        3,
        last_column,
        &format!("{}: {}", h.exported, format_date(exported_on)),
        &italic,
    )?;
    let (group_row, field_row) = (5u32, 6u32);
    for (column, text) in [h.number, h.unit_code, h.unit].into_iter().enumerate() {
        sheet.merge_range(
            group_row,
            column as u16,
            field_row,
            column as u16,
            text,
            &header,
        )?;
    }
    for (group, text) in h.groups.into_iter().enumerate() {
        let first = 3 + 4 * group as u16;
        sheet.merge_range(group_row, first, group_row, first + 3, text, &header)?;
        for (offset, field) in h.fields.into_iter().enumerate() {
            sheet.write_string_with_format(field_row, first + offset as u16, field, &header)?;
        }
    }
    for (index, row) in rows.iter().enumerate() {
        let r = field_row + 1 + index as u32;
        sheet.write_number_with_format(r, 0, (index + 1) as f64, &cell)?;
        sheet.write_string_with_format(r, 1, &row.unit.code, &cell)?;
        sheet.write_string_with_format(r, 2, &row.unit.name, &cell)?;
        for (group, people) in row.people.iter().enumerate() {
            for (offset, text) in person_cells(people).iter().enumerate() {
                sheet.write_string_with_format(
                    r,
                    3 + 4 * group as u16 + offset as u16,
                    text,
                    &cell,
                )?;
            }
        }
    }
    sheet.set_column_width(0, 5)?;
    sheet.set_column_width(1, 22)?;
    sheet.set_column_width(2, 42)?;
    for group in 0..3u16 {
        let first = 3 + 4 * group;
        sheet.set_column_width(first, 24)?;
        sheet.set_column_width(first + 1, 22)?;
        sheet.set_column_width(first + 2, 28)?;
        sheet.set_column_width(first + 3, 16)?;
    }
    sheet.set_freeze_panes(field_row + 1, 3)?;
    if !rows.is_empty() {
        sheet.autofilter(field_row, 0, field_row + rows.len() as u32, last_column)?;
    }
    workbook.save_to_buffer()
}

/// The same columns as CSV (UTF-8 with BOM), one header row.
pub fn contact_sheet_csv(rows: &[SheetRow<'_>], lang: Lang) -> Result<Vec<u8>, csv::Error> {
    let h = headings(lang);
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header = vec![
        h.number.to_string(),
        h.unit_code.to_string(),
        h.unit.to_string(),
    ];
    for group in h.groups {
        for field in h.fields {
            header.push(format!("{group} — {field}"));
        }
    }
    writer.write_record(&header)?;
    for (index, row) in rows.iter().enumerate() {
        let mut record = vec![
            (index + 1).to_string(),
            row.unit.code.clone(),
            row.unit.name.clone(),
        ];
        for people in &row.people {
            record.extend(person_cells(people).map(|cell| cell.replace('\n', "; ")));
        }
        writer.write_record(&record)?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

fn attachment(content_type: &'static str, name: String, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /exports/contacts.xlsx`.
pub async fn contacts_xlsx(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::ContactsExport)?;
    let day = today();
    let units = state.store.contact_sheet(day).await?;
    let bytes = contact_sheet_xlsx(&sheet_rows(&units), ctx.lang, day).map_err(|error| {
        tracing::error!(%error, "xlsx export failed");
        AppError::Internal
    })?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("phu-luc-II-can-bo-dau-moi-{day}.xlsx"),
        bytes,
    ))
}

/// `GET /exports/contacts.csv`.
pub async fn contacts_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::ContactsExport)?;
    let day = today();
    let units = state.store.contact_sheet(day).await?;
    let bytes = contact_sheet_csv(&sheet_rows(&units), ctx.lang).map_err(|error| {
        tracing::error!(%error, "csv export failed");
        AppError::Internal
    })?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        format!("phu-luc-II-can-bo-dau-moi-{day}.csv"),
        bytes,
    ))
}
