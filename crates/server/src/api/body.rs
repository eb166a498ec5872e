//! Request bodies: size-limited, JSON only, and decoded with the path of the field at fault.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::{ApiError, ApiResult};

/// A body with no fields: empty, or `{}` (cancel, rotate a secret, retry a delivery).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoFields {}

/// A path parameter the route's extractor refused.
pub(crate) fn path_error(e: &axum::extract::rejection::PathRejection) -> ApiError {
    ApiError::invalid("path", format!("bad path parameter: {e}"))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than {limit} bytes"),
    )
    .field("body")
}

/// Reads a JSON body of at most `limit` bytes into `T`. An empty body reads as `{}` when
/// `empty_ok`. Errors: 413 too large, 415 not declared `application/json`, 400 malformed JSON or
/// not an object (`field: body`), 422 a field that does not fit (named by its path, e.g.
/// `sender.l1`).
pub(crate) async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    empty_ok: bool,
) -> ApiResult<T> {
    let bytes = read_bytes(headers, body, limit).await?;
    parse_json(&bytes, empty_ok)
}

/// Reads a JSON body's bytes, at most `limit` of them (413 beyond; 415 when it is not declared
/// `application/json`).
pub(crate) async fn read_bytes(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> ApiResult<axum::body::Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let declared_json = match headers.get(header::CONTENT_TYPE) {
        None => false,
        Some(ct) if is_json(ct) => true,
        Some(_) => return Err(unsupported_media_type()),
    };
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            too_large(limit)
        } else if is_timeout(&e) {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body stopped arriving (api.body_timeout_ms)",
            )
            .field("body")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read")
                .field("body")
        }
    })?;
    // A body says what it is: one without `Content-Type: application/json` is refused (an empty
    // body, where one is optional, needs none).
    if !declared_json && !bytes.is_empty() {
        return Err(unsupported_media_type());
    }
    Ok(bytes)
}

/// `application/json`, with parameters (`; charset=utf-8`) or none.
fn is_json(ct: &axum::http::HeaderValue) -> bool {
    let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
    ct.split(';').next().unwrap_or_default().trim() == "application/json"
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the body must be sent with Content-Type: application/json",
    )
    .field("content-type")
}

/// Decodes a JSON body into `T` (400 malformed or not an object, 422 naming the field that does
/// not fit).
///
/// Every body the API reads is a JSON object, and so is every struct inside one: the body is read
/// into a [`serde_json::Value`] (refusing duplicate keys) and decoded through [`Strict`], which
/// refuses an array where serde would otherwise read a struct's fields by position
/// (`["q_…", 0]` as `{"quote_id", "route_index"}`).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8], empty_ok: bool) -> ApiResult<T> {
    let text: &[u8] =
        if bytes.iter().all(u8::is_ascii_whitespace) && empty_ok { b"{}" } else { bytes };
    let de = &mut serde_json::Deserializer::from_slice(text);
    let value: UniqueKeys = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let field = crate::config::error_key(&e.path().to_string(), &e.inner().to_string());
        let inner = e.into_inner();
        let err = if inner.is_syntax() || inner.is_eof() {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", inner.to_string())
        };
        err.field(if field.is_empty() { "body".to_owned() } else { field })
    })?;
    // Trailing data after the value is malformed too.
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
        .field("body")
    })?;
    let value = value.0;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_an_object",
            format!("the body must be a JSON object, not {}", kind(&value)),
        )
        .field("body"));
    }
    serde_path_to_error::deserialize(Strict(value)).map_err(|e| {
        let field = crate::config::error_key(&e.path().to_string(), &e.inner().to_string());
        let inner = e.into_inner();
        if field.is_empty() {
            ApiError::invalid("body", inner.to_string())
        } else {
            ApiError::invalid(field, inner.to_string())
        }
    })
}

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value in which no object has the same key twice (serde's own `Value` keeps the last).
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        UniqueKeys::deserialize(d).map(|v| v.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(UniqueKeys(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let UniqueKeys(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// A deserializer over a JSON value that reads a struct (or a struct variant) from an object
/// only, never from an array, at any depth. Scalars are decoded by `serde_json` itself.
struct Strict(Value);

type JsonError = serde_json::Error;

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => n
            .as_u64()
            .map(de::Unexpected::Unsigned)
            .or_else(|| n.as_i64().map(de::Unexpected::Signed))
            .unwrap_or(de::Unexpected::Other("a number")),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

macro_rules! scalar {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, JsonError> {
            self.0.$name(v)
        }
    )*};
}

impl<'de> Deserializer<'de> for Strict {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::Object(m) => v.visit_map(StrictMap::new(m)),
            Value::Array(a) => v.visit_seq(StrictSeq(a.into_iter())),
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::Object(m) => v.visit_map(StrictMap::new(m)),
            other => Err(de::Error::invalid_type(unexpected(&other), &"a JSON object")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::Object(m) => v.visit_map(StrictMap::new(m)),
            other => Err(de::Error::invalid_type(unexpected(&other), &"a JSON object")),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::Array(a) => v.visit_seq(StrictSeq(a.into_iter())),
            other => Err(de::Error::invalid_type(unexpected(&other), &"a JSON array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, JsonError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_seq(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::Null => v.visit_none(),
            other => v.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, JsonError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::String(variant) => v.visit_enum(StrictEnum { variant, value: None }),
            Value::Object(m) if m.len() == 1 => {
                let Some((variant, value)) = m.into_iter().next() else {
                    return Err(de::Error::invalid_length(0, &"an object with one key"));
                };
                v.visit_enum(StrictEnum { variant, value: Some(value) })
            }
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a string or an object with one key",
            )),
        }
    }

    scalar! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, JsonError> {
        self.0.deserialize_unit_struct(name, v)
    }
}

struct StrictSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for StrictSeq {
    type Error = JsonError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, JsonError> {
        self.0.next().map(|v| seed.deserialize(Strict(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct StrictMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl StrictMap {
    fn new(m: serde_json::Map<String, Value>) -> Self {
        Self { entries: m.into_iter(), value: None }
    }
}

impl<'de> MapAccess<'de> for StrictMap {
    type Error = JsonError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, JsonError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(Strict(Value::String(k))).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, JsonError> {
        let v = self.value.take().ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(Strict(v))
    }
}

struct StrictEnum {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for StrictEnum {
    type Error = JsonError;
    type Variant = StrictVariant;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, StrictVariant), JsonError> {
        let variant = seed.deserialize(Strict(Value::String(self.variant)))?;
        Ok((variant, StrictVariant(self.value)))
    }
}

struct StrictVariant(Option<Value>);

impl<'de> VariantAccess<'de> for StrictVariant {
    type Error = JsonError;

    fn unit_variant(self) -> Result<(), JsonError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"no value")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, JsonError> {
        match self.0 {
            Some(v) => seed.deserialize(Strict(v)),
            None => Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a value")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Some(Value::Array(a)) => v.visit_seq(StrictSeq(a.into_iter())),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"a JSON array")),
            None => Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a JSON array")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, JsonError> {
        match self.0 {
            Some(Value::Object(m)) => v.visit_map(StrictMap::new(m)),
            Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"a JSON object")),
            None => Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a JSON object")),
        }
    }
}

fn is_timeout(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}
