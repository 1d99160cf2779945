//! `spawn_app()`: a real server on a free port with a small directory and one account per role.

use std::collections::HashMap;
use std::sync::Arc;

use hnth_domain::lang::Lang;
use hnth_domain::policy::LoadedPolicy;
use hnth_domain::role::Role;
use hnth_domain::unit::UnitForm;
use hnth_store::accounts::NewUser;
use hnth_store::{Actor, Store, StoreOptions};
use hnth_web::{AppState, WebConfig};

pub const PASSWORD: &str = "mat-khau-thu-nghiem";

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub tokens: HashMap<Role, String>,
    /// An operating admin granted on the district CT.NK only.
    pub nk_admin_token: String,
    pub units: HashMap<&'static str, i64>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn as_role(
        &self,
        role: Role,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.tokens[&role])
    }
}

/// Units: CT.UBND (city, root) → CT.STTTT (department), CT.NK (district) → CT.NK.TANAN (commune);
/// CT.VNPT (carrier, root). Each role is granted on CT.UBND, the liaison on CT.VNPT, and a
/// scoped operating admin `nk_admin` on CT.NK only.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreOptions {
        data_dir: dir.path().join("data"),
        read_connections: 2,
    })
    .await
    .unwrap();
    let policy = LoadedPolicy::load("can-tho", &toml::Table::new()).unwrap();
    store
        .sync_levels(&policy.policy.levels.value)
        .await
        .unwrap();
    let levels = store.levels().await.unwrap();
    let actor = Actor::system("test");
    let mut units = HashMap::new();
    for (code, name, kind, level, parent) in [
        (
            "CT.UBND",
            "Ủy ban nhân dân thành phố Cần Thơ",
            "people_committee",
            "city",
            "",
        ),
        (
            "CT.STTTT",
            "Sở Thông tin và Truyền thông",
            "department",
            "city",
            "CT.UBND",
        ),
        (
            "CT.NK",
            "Ủy ban nhân dân quận Ninh Kiều",
            "people_committee",
            "district",
            "CT.UBND",
        ),
        (
            "CT.NK.TANAN",
            "Ủy ban nhân dân phường Tân An",
            "people_committee",
            "commune",
            "CT.NK",
        ),
        ("CT.VNPT", "VNPT Cần Thơ", "carrier", "city", ""),
    ] {
        let form = UnitForm {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            level: level.into(),
            parent_code: parent.into(),
            valid_from: "01/01/2020".into(),
            ..Default::default()
        };
        let unit = store
            .create_unit(&actor, &form.parse(&levels, hnth_web::today()).unwrap())
            .await
            .unwrap();
        units.insert(code, unit.id);
    }
    let hash = hnth_web::auth::hash_password(PASSWORD).unwrap();
    let mut tokens = HashMap::new();
    let mut nk_admin_token = String::new();
    let accounts = Role::ALL.iter().map(|r| {
        (
            r.as_str().to_string(),
            *r,
            if *r == Role::Liaison {
                "CT.VNPT"
            } else {
                "CT.UBND"
            },
        )
    });
    for (username, role, scope) in
        accounts.chain([("nk_admin".to_string(), Role::OperatingAdmin, "CT.NK")])
    {
        let user = store
            .create_user(
                &actor,
                &NewUser {
                    username: username.clone(),
                    full_name: format!("Người dùng {username}"),
                    email: String::new(),
                    unit_id: None,
                    password_hash: hash.clone(),
                    lang: Lang::Vi,
                },
            )
            .await
            .unwrap();
        store
            .add_grant(&actor, user.id, role, units[scope])
            .await
            .unwrap();
        let token = store
            .create_api_token(&actor, user.id, "test")
            .await
            .unwrap();
        if username == "nk_admin" {
            nk_admin_token = token;
        } else {
            tokens.insert(role, token);
        }
    }
    let (address, client) = serve(store.clone(), policy, None).await;
    TestApp {
        address,
        store,
        tokens,
        nk_admin_token,
        units,
        client,
        _dir: dir,
    }
}

/// Serves `store` under `policy` on a free port; returns the base URL and a client that keeps
/// cookies and does not follow redirects.
pub async fn serve(
    store: Store,
    policy: LoadedPolicy,
    operating_unit_id: Option<i64>,
) -> (String, reqwest::Client) {
    // A real media server on a loopback port, as `hnth serve` runs one.
    let (media, _task) = hnth_media::driver::start(hnth_media::driver::DriverConfig::new(
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await
    .unwrap();
    let live = hnth_web::live::LiveHub::default();
    let limits = (&policy.policy.link_thresholds.value).into();
    let state = AppState {
        store: store.clone(),
        policy: Arc::new(policy),
        config: Arc::new(WebConfig::default()),
        calendar: Arc::new(std::sync::RwLock::new(Arc::new(
            hnth_domain::calendar::WorkCalendar::with_shipped(),
        ))),
        operating_unit_id,
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        live: live.clone(),
        conferences: Some(hnth_web::conference::Conferences::start(
            media,
            store.clone(),
            live,
            limits,
        )),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, hnth_web::router(state))
            .await
            .unwrap()
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    (address, client)
}
