//! Administrative levels (R-DIR-1): data, not code.
//!
//! The seeds have four (central, province, district, commune) or three (city, district,
//! commune); since 1 July 2025 Vietnam has two local levels. A deployment's levels come from
//! its policy profile, ordered top first; a unit's level is one of them.

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// One administrative level as a policy defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelDef {
    /// Stable code used in data files and the API, e.g. `province`, `district`, `commune`.
    pub code: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
}

impl LevelDef {
    /// The name in `lang`.
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.name_vi,
            Lang::En => &self.name_en,
        }
    }
}

/// A level as stored: its definition plus its rank (0 = top).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    /// Position from the top, 0 first.
    pub rank: u32,
    /// The definition.
    #[serde(flatten)]
    pub def: LevelDef,
}

/// Whether a unit at `child_rank` may sit under a parent at `parent_rank`: the same level (a
/// department under the province's People's Committee) or any level below.
pub fn may_nest(parent_rank: u32, child_rank: u32) -> bool {
    child_rank >= parent_rank
}
