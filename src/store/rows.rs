//! Converting between Rust values and the few column types `Any` carries: times as
//! unix milliseconds, names as text, JSON as text. Anything that does not convert
//! back is reported as corrupt data, never unwrapped.
//!
//! Must not: run queries.

use super::StoreError;
use crate::domain::UserId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::str::FromStr;

pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(super) fn opt_millis(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(millis)
}

pub(super) fn time(column: &str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} = {ms} is not a time")))
}

pub(super) fn get_time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, StoreError> {
    time(column, row.try_get(column)?)
}

pub(super) fn get_opt_time(
    row: &AnyRow,
    column: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let ms: Option<i64> = row.try_get(column)?;
    ms.map(|ms| time(column, ms)).transpose()
}

pub(super) fn get_user(row: &AnyRow, column: &str) -> Result<UserId, StoreError> {
    Ok(UserId::new(row.try_get::<String, _>(column)?))
}

pub(super) fn get_opt_user(row: &AnyRow, column: &str) -> Result<Option<UserId>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?.map(UserId::new))
}

/// A column holding a name that parses back into a domain type.
pub(super) fn get_parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let raw: String = row.try_get(column)?;
    parse(column, &raw)
}

pub(super) fn parse<T: FromStr>(column: &str, raw: &str) -> Result<T, StoreError> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} = `{raw}` is not valid")))
}

pub(super) fn get_json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<T, StoreError> {
    let raw: String = row.try_get(column)?;
    serde_json::from_str(&raw)
        .map_err(|e| StoreError::Corrupt(format!("{column} holds invalid JSON: {e}")))
}

pub(super) fn to_json<T: serde::Serialize>(
    what: &'static str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

pub(super) fn get_flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    let value: i64 = row.try_get(column)?;
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt(format!(
            "{column} = {other} is not a flag"
        ))),
    }
}

/// Dates (follow-up due dates) are stored as `YYYY-MM-DD` text.
pub(super) fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(super) fn get_opt_date(row: &AnyRow, column: &str) -> Result<Option<NaiveDate>, StoreError> {
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| {
        NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("{column} = `{raw}` is not a date")))
    })
    .transpose()
}

/// A count or counter that must fit the Rust type it is used as.
pub(super) fn narrow<T: TryFrom<i64>>(column: &str, value: i64) -> Result<T, StoreError> {
    T::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{column} = {value} is out of range")))
}
