//! The words of the user interface, in Vietnamese (default) and English.
//!
//! One struct field per phrase, filled once per language by the [`texts!`] macro: a phrase
//! missing in one language is a compile error, not a blank on a page. Domain messages bring
//! their own translations ([`hnth_domain::lang::Text`]); this module only holds the chrome.

use hnth_domain::lang::Lang;

macro_rules! texts {
    ($($field:ident: $vi:literal / $en:literal,)+) => {
        /// Every phrase of the interface in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(#[doc = $en] pub $field: &'static str,)+
        }

        /// Vietnamese.
        pub static VI: Texts = Texts { $($field: $vi,)+ };
        /// English.
        pub static EN: Texts = Texts { $($field: $en,)+ };
    };
}

/// The phrases for `lang`.
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

texts! {
    app_name: "Hội nghị truyền hình" / "Video conferencing",
    app_tagline: "Hệ thống quản lý và điều hành hội nghị truyền hình" / "Government video-conference management",
    nav_units: "Đơn vị" / "Units",
    nav_endpoints: "Điểm cầu" / "Endpoints",
    nav_contacts: "Cán bộ đầu mối" / "Focal contacts",
    nav_import: "Nhập dữ liệu" / "Import",
    nav_policy: "Quy định áp dụng" / "Policy",
    nav_audit: "Nhật ký" / "Audit trail",
    nav_users: "Tài khoản" / "Accounts",
    nav_account: "Cá nhân" / "My account",
    logout: "Đăng xuất" / "Log out",
    login_title: "Đăng nhập" / "Log in",
    username: "Tên đăng nhập" / "Username",
    password: "Mật khẩu" / "Password",
    login_button: "Đăng nhập" / "Log in",
    login_failed: "Tên đăng nhập hoặc mật khẩu không đúng." / "Wrong username or password.",
    login_remaining: "Còn {n} lần thử trước khi tài khoản bị tạm khóa." / "{n} attempts left before the account is locked.",
    login_locked: "Tài khoản tạm khóa do đăng nhập sai nhiều lần, đến {until}. Liên hệ quản trị hệ thống nếu cần mở sớm." / "The account is locked after repeated failures until {until}. Ask a system administrator to unlock it sooner.",
    login_inactive: "Tài khoản đã bị vô hiệu hóa." / "This account is disabled.",
    language: "Ngôn ngữ" / "Language",
    search: "Tìm kiếm" / "Search",
    search_placeholder: "Tên hoặc mã, có thể gõ không dấu" / "Name or code; marks optional",
    save: "Lưu" / "Save",
    cancel: "Hủy" / "Cancel",
    edit: "Sửa" / "Edit",
    add: "Thêm" / "Add",
    view: "Xem" / "View",
    yes: "Có" / "Yes",
    no: "Không" / "No",
    none: "—" / "—",
    total: "Tổng số" / "Total",
    previous: "Trang trước" / "Previous",
    next: "Trang sau" / "Next",
    fix_errors: "Vui lòng sửa các lỗi được đánh dấu bên dưới." / "Please correct the marked fields below.",
    saved: "Đã lưu." / "Saved.",
    unit_tree: "Cây đơn vị" / "Unit tree",
    unit: "Đơn vị" / "Unit",
    units_root: "Tất cả đơn vị cấp cao nhất" / "All top-level units",
    unit_new: "Thêm đơn vị" / "New unit",
    sub_units: "Đơn vị trực thuộc" / "Sub-units",
    code: "Mã" / "Code",
    name: "Tên" / "Name",
    kind: "Loại" / "Kind",
    level: "Cấp" / "Level",
    parent: "Đơn vị cấp trên (mã)" / "Parent unit (code)",
    address: "Địa chỉ" / "Address",
    phone: "Điện thoại" / "Phone",
    email: "Thư điện tử" / "E-mail",
    valid_from: "Hiệu lực từ" / "Valid from",
    valid_to: "Hết hiệu lực" / "Valid until",
    successor: "Đơn vị kế thừa (mã)" / "Successor (code)",
    dissolved: "Đã hết hiệu lực" / "Ceased",
    show_dissolved: "Hiện cả đơn vị đã hết hiệu lực" / "Include ceased units",
    children_count: "Trực thuộc" / "Sub-units",
    endpoints_count: "Điểm cầu" / "Endpoints",
    endpoints: "Điểm cầu" / "Endpoints",
    endpoint: "Điểm cầu" / "Endpoint",
    endpoint_new: "Thêm điểm cầu" / "New endpoint",
    room_name: "Tên phòng họp / thiết bị" / "Room or device name",
    seats: "Số chỗ ngồi" / "Seats",
    terminal: "Thiết bị đầu cuối" / "Terminal",
    equipment: "Trang thiết bị" / "Equipment",
    network: "Đường truyền" / "Network",
    status: "Trạng thái" / "Status",
    control_right: "Được phân quyền điều khiển" / "Delegated control rights",
    has_control_laptop: "Có máy tính điều khiển" / "Has a control laptop",
    vpn_token_issued: "Đã cấp token VPN" / "VPN token issued",
    contacts: "Cán bộ đầu mối" / "Focal contacts",
    contact_new: "Thêm cán bộ đầu mối" / "New contact",
    role: "Vai trò" / "Role",
    full_name: "Họ và tên" / "Full name",
    position: "Chức vụ" / "Position",
    since: "Từ ngày" / "Since",
    until: "Đến ngày" / "Until",
    history: "Lịch sử thay đổi" / "History",
    show_history: "Hiện cả người đã thay" / "Include replaced people",
    replace: "Thay người" / "Replace",
    replace_title: "Thay cán bộ đầu mối" / "Replace a contact",
    replaced_by: "Người thay" / "Replaced by",
    end_contact: "Thôi phụ trách" / "End",
    end_contact_confirm: "Xác nhận người này thôi phụ trách từ hôm nay?" / "Confirm this person stops being responsible today?",
    export_xlsx: "Xuất Phụ lục II (Excel)" / "Export Appendix II (Excel)",
    export_csv: "Xuất CSV" / "Export CSV",
    import_title: "Nhập đơn vị, điểm cầu, cán bộ đầu mối từ tệp CSV" / "Import units, endpoints or contacts from CSV",
    import_help: "Mỗi tệp chứa một loại dữ liệu, nhận biết qua dòng tiêu đề. Tệp có bất kỳ dòng lỗi nào sẽ không được nhập; danh sách lỗi ghi rõ số dòng." / "Each file holds one kind of record, told by its header row. A file with any bad row is not imported at all; the report lists every problem by line.",
    import_file: "Tệp CSV (UTF-8)" / "CSV file (UTF-8)",
    import_button: "Nhập" / "Import",
    import_columns: "Các cột" / "Columns",
    import_required: "bắt buộc" / "required",
    import_optional: "tùy chọn" / "optional",
    import_failed: "Không nhập được: tệp có lỗi, chưa có dữ liệu nào được lưu." / "Not imported: the file has errors and nothing was stored.",
    import_done: "Đã nhập xong" / "Imported",
    import_created: "tạo mới" / "created",
    import_updated: "cập nhật" / "updated",
    import_no_file: "Chưa chọn tệp." / "No file chosen.",
    policy_title: "Quy định đang áp dụng" / "Policy in force",
    policy_profile: "Bộ quy định" / "Profile",
    policy_document: "Văn bản gốc" / "Source regulation",
    policy_rule: "Quy định" / "Rule",
    policy_value: "Giá trị" / "Value",
    policy_source: "Căn cứ" / "Source",
    policy_origin: "Nguồn" / "Set by",
    audit_title: "Nhật ký thay đổi" / "Audit trail",
    audit_at: "Thời điểm" / "When",
    audit_actor: "Người thực hiện" / "Who",
    audit_action: "Thao tác" / "Action",
    audit_subject: "Đối tượng" / "Subject",
    audit_chain_ok: "Chuỗi băm toàn vẹn" / "Hash chain intact",
    audit_chain_broken: "Chuỗi băm bị phá vỡ tại bản ghi" / "Hash chain broken at record",
    users_title: "Tài khoản người dùng" / "User accounts",
    roles: "Vai trò được giao" / "Roles granted",
    account_title: "Tài khoản cá nhân" / "My account",
    api_tokens: "Mã truy cập API cá nhân" / "Personal API tokens",
    token_name: "Tên gợi nhớ" / "Label",
    token_create: "Tạo mã mới" / "Create token",
    token_created: "Mã mới (chỉ hiện một lần, hãy lưu lại):" / "New token (shown once; keep it now):",
    created_at: "Tạo lúc" / "Created",
    last_used: "Dùng lần cuối" / "Last used",
    not_found_title: "Không tìm thấy" / "Not found",
    forbidden_title: "Không có quyền" / "Not allowed",
    error_title: "Có lỗi xảy ra" / "Something went wrong",
    back_home: "Về trang chính" / "Back to the start page",
}
