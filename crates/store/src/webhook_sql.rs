//! The [`WebhookStore`](crate::WebhookStore) logic shared by both backends (the outbox rows
//! themselves are written by `sql.rs`'s `insert_event`, in the event's transaction).
//!
//! As in `sql.rs`, the code is instantiated per backend by a macro; the backends differ in how a
//! write transaction starts, how deliveries are leased, and what the tenant-wide event cursor is.

macro_rules! webhook_backend {
    (
        store = $store:ty,
        db = $db:ty,
        begin_write = $begin:literal,
        lease_deliveries_sql = $lease_sql:expr,
        event_cursor = $cursor:literal,
        number_events = $number:expr $(,)?
    ) => {
        mod webhook_impl {
            use sqlx::Row as _;

            use crate::codec::{from_json, to_i64, to_json, to_u64};
            use crate::error::{Db, DbResult as Result};
            use crate::{
                Attempt, AttemptOutcome, CursorEvent, Delivery, DeliveryState, Event,
                LeaseOwner, LeasedDelivery, NewWebhook, OutboxStats, StoreError, TenantId,
                Timestamp, Webhook, WebhookId, WebhookSecret,
            };

            type StoreResult<T> = crate::Result<T>;
            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const WEBHOOK_COLUMNS: &str = "id, tenant, url, events, description, secret, \
                previous_secret, previous_expires_at, created_at, updated_at";
            const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.route_id, d.seq, d.state, \
                d.attempts, d.next_attempt_at, d.queued_at, d.delivered_at, d.last_attempt_at, \
                d.last_status, d.last_latency_ms, d.last_error, d.last_response, \
                e.kind, e.data, e.at";
            const DELIVERY_FROM: &str = "webhook_deliveries d \
                JOIN events e ON e.route_id = d.route_id AND e.seq = d.seq";

            fn corrupt(e: impl std::fmt::Display) -> Db {
                Db(StoreError::corrupt(e))
            }

            fn decode_webhook(row: &DbRow) -> Result<Webhook> {
                let previous: Option<String> = row.try_get("previous_secret")?;
                let until: Option<i64> = row.try_get("previous_expires_at")?;
                let previous_secret = match (previous, until) {
                    (Some(s), Some(at)) => Some((
                        WebhookSecret::new(s).map_err(corrupt)?,
                        Timestamp::from_millis(at),
                    )),
                    _ => None,
                };
                Ok(Webhook {
                    id: row.try_get::<String, _>("id")?.parse().map_err(corrupt)?,
                    tenant: TenantId::new(row.try_get::<String, _>("tenant")?).map_err(corrupt)?,
                    url: row.try_get("url")?,
                    events: from_json("webhook events", &row.try_get::<String, _>("events")?)?,
                    description: row.try_get("description")?,
                    secret: WebhookSecret::new(row.try_get::<String, _>("secret")?)
                        .map_err(corrupt)?,
                    previous_secret,
                    created_at: Timestamp::from_millis(row.try_get("created_at")?),
                    updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
                })
            }

            fn decode_delivery(row: &DbRow) -> Result<Delivery> {
                let last_attempt = match row.try_get::<Option<i64>, _>("last_attempt_at")? {
                    None => None,
                    Some(at) => Some(Attempt {
                        at: Timestamp::from_millis(at),
                        status: row
                            .try_get::<Option<i64>, _>("last_status")?
                            .map(|s| u16::try_from(s).map_err(|_| corrupt(format!("status {s}"))))
                            .transpose()?,
                        latency_ms: to_u64(
                            "latency",
                            row.try_get::<Option<i64>, _>("last_latency_ms")?.unwrap_or(0),
                        )?,
                        error: row.try_get("last_error")?,
                        response: row.try_get("last_response")?,
                    }),
                };
                let attempts: i64 = row.try_get("attempts")?;
                Ok(Delivery {
                    id: to_u64("delivery id", row.try_get("id")?)?,
                    webhook: row.try_get::<String, _>("webhook_id")?.parse().map_err(corrupt)?,
                    event: Event {
                        route: row.try_get::<String, _>("route_id")?.parse().map_err(corrupt)?,
                        seq: to_u64("seq", row.try_get("seq")?)?,
                        kind: row.try_get("kind")?,
                        data: from_json("event data", &row.try_get::<String, _>("data")?)?,
                        at: Timestamp::from_millis(row.try_get("at")?),
                    },
                    state: row.try_get::<String, _>("state")?.parse().map_err(corrupt)?,
                    attempts: u32::try_from(attempts)
                        .map_err(|_| corrupt(format!("attempts {attempts}")))?,
                    next_attempt_at: Timestamp::from_millis(row.try_get("next_attempt_at")?),
                    queued_at: Timestamp::from_millis(row.try_get("queued_at")?),
                    delivered_at: row
                        .try_get::<Option<i64>, _>("delivered_at")?
                        .map(Timestamp::from_millis),
                    last_attempt,
                })
            }

            /// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
            fn prefix(s: &str, max: usize) -> &str {
                let mut end = s.len().min(max);
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                &s[..end]
            }

            async fn load_webhook(
                conn: &mut Conn,
                tenant: Option<&TenantId>,
                id: &WebhookId,
            ) -> Result<Option<Webhook>> {
                let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
                let Some(row) =
                    sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?
                else {
                    return Ok(None);
                };
                let hook = decode_webhook(&row)?;
                Ok(tenant.map_or(true, |t| *t == hook.tenant).then_some(hook))
            }

            async fn load_delivery(conn: &mut Conn, id: i64) -> Result<Option<Delivery>> {
                let sql =
                    format!("SELECT {DELIVERY_COLUMNS} FROM {DELIVERY_FROM} WHERE d.id = $1");
                sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .as_ref()
                    .map(decode_delivery)
                    .transpose()
            }

            async fn create_webhook(
                pool: &Pool,
                tenant: &TenantId,
                new: &NewWebhook,
                now: Timestamp,
            ) -> Result<Webhook> {
                if new.events.is_empty() {
                    return Err(StoreError::Invalid("a webhook needs at least one event".into()).into());
                }
                for kind in &new.events {
                    crate::check_event_kind(kind)?;
                }
                let id = WebhookId::new();
                let mut tx = pool.begin_with($begin).await?;
                sqlx::query(
                    "INSERT INTO webhooks (id, tenant, url, events, description, secret, \
                     previous_secret, previous_expires_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $7)",
                )
                .bind(id.to_string())
                .bind(tenant.as_str())
                .bind(&new.url)
                .bind(to_json(&new.events)?)
                .bind(&new.description)
                .bind(new.secret.expose())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
                let kinds: std::collections::BTreeSet<&String> = new.events.iter().collect();
                for kind in kinds {
                    sqlx::query(
                        "INSERT INTO webhook_subscriptions (tenant, kind, webhook_id) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(tenant.as_str())
                    .bind(kind)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                let hook = load_webhook(&mut tx, None, &id)
                    .await?
                    .ok_or_else(|| corrupt("webhook vanished while being created"))?;
                tx.commit().await?;
                Ok(hook)
            }

            async fn list_webhooks(pool: &Pool, tenant: &TenantId) -> Result<Vec<Webhook>> {
                let sql = format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant = $1 \
                     ORDER BY created_at, id"
                );
                sqlx::query(&sql)
                    .bind(tenant.as_str())
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(decode_webhook)
                    .collect()
            }

            async fn set_view_token(
                pool: &Pool,
                tenant: &TenantId,
                route: &crate::RouteId,
                sha256_hex: Option<&str>,
                now: Timestamp,
            ) -> Result<bool> {
                let mut tx = pool.begin_with($begin).await?;
                let theirs = sqlx::query("SELECT 1 FROM routes WHERE id = $1 AND tenant = $2")
                    .bind(route.to_string())
                    .bind(tenant.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                if !theirs {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM route_view_tokens WHERE route_id = $1")
                    .bind(route.to_string())
                    .execute(&mut *tx)
                    .await?;
                if let Some(hash) = sha256_hex {
                    sqlx::query(
                        "INSERT INTO route_view_tokens (route_id, token_sha256, created_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(route.to_string())
                    .bind(hash)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn view_token(
                pool: &Pool,
                route: &crate::RouteId,
            ) -> Result<Option<(TenantId, String)>> {
                let row = sqlx::query(
                    "SELECT r.tenant, t.token_sha256 FROM route_view_tokens t \
                     JOIN routes r ON r.id = t.route_id WHERE t.route_id = $1",
                )
                .bind(route.to_string())
                .fetch_optional(pool)
                .await?;
                match row {
                    None => Ok(None),
                    Some(r) => Ok(Some((
                        TenantId::new(r.try_get::<String, _>("tenant")?).map_err(corrupt)?,
                        r.try_get("token_sha256")?,
                    ))),
                }
            }

            async fn delete_webhook(pool: &Pool, tenant: &TenantId, id: &WebhookId) -> Result<bool> {
                let mut tx = pool.begin_with($begin).await?;
                let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND tenant = $2")
                    .bind(id.to_string())
                    .bind(tenant.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(deleted > 0)
            }

            async fn rotate_secret(
                pool: &Pool,
                tenant: &TenantId,
                id: &WebhookId,
                secret: &WebhookSecret,
                grace_until: Timestamp,
                now: Timestamp,
            ) -> Result<Option<Webhook>> {
                let mut tx = pool.begin_with($begin).await?;
                let updated = sqlx::query(
                    "UPDATE webhooks SET previous_secret = secret, previous_expires_at = $3, \
                     secret = $4, updated_at = $5 WHERE id = $1 AND tenant = $2",
                )
                .bind(id.to_string())
                .bind(tenant.as_str())
                .bind(grace_until.as_millis())
                .bind(secret.expose())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let hook = load_webhook(&mut tx, Some(tenant), id).await?;
                tx.commit().await?;
                Ok(hook)
            }

            async fn lease_deliveries(
                pool: &Pool,
                owner: &LeaseOwner,
                duration: std::time::Duration,
                limit: u32,
                now: Timestamp,
            ) -> Result<Vec<LeasedDelivery>> {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let mut tx = pool.begin_with($begin).await?;
                let ids: Vec<i64> = sqlx::query($lease_sql)
                    .bind(owner.as_str())
                    .bind(now.saturating_add(duration).as_millis())
                    .bind(now.as_millis())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<i64, _>("id"))
                    .collect::<std::result::Result<_, _>>()?;
                let mut hooks: std::collections::HashMap<WebhookId, Webhook> =
                    std::collections::HashMap::new();
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let delivery = load_delivery(&mut tx, id)
                        .await?
                        .ok_or_else(|| corrupt(format!("leased delivery {id} vanished")))?;
                    let webhook = match hooks.get(&delivery.webhook) {
                        Some(w) => w.clone(),
                        None => {
                            let w = load_webhook(&mut tx, None, &delivery.webhook)
                                .await?
                                .ok_or_else(|| corrupt("a delivery's webhook vanished"))?;
                            hooks.insert(w.id, w.clone());
                            w
                        }
                    };
                    out.push(LeasedDelivery { delivery, webhook });
                }
                out.sort_by_key(|d| (d.delivery.next_attempt_at, d.delivery.id));
                tx.commit().await?;
                Ok(out)
            }

            async fn record_attempt(
                pool: &Pool,
                delivery: u64,
                owner: &LeaseOwner,
                attempt: &Attempt,
                outcome: AttemptOutcome,
            ) -> Result<bool> {
                let id = to_i64("delivery id", delivery)?;
                let (state, next, delivered_at) = match outcome {
                    AttemptOutcome::Delivered => {
                        (DeliveryState::Delivered, None, Some(attempt.at.as_millis()))
                    }
                    AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, Some(at.as_millis()), None),
                    AttemptOutcome::GiveUp => (DeliveryState::Failed, None, None),
                };
                let error = attempt.error.as_deref().map(|e| prefix(e, Attempt::MAX_ERROR));
                let response =
                    attempt.response.as_deref().map(|r| prefix(r, Attempt::MAX_RESPONSE));
                let latency = i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX);
                let mut tx = pool.begin_with($begin).await?;
                let row = sqlx::query(
                    "UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1, \
                     next_attempt_at = COALESCE($4, next_attempt_at), \
                     delivered_at = COALESCE($5, delivered_at), \
                     lease_owner = NULL, lease_expires_at = NULL, last_attempt_at = $6, \
                     last_status = $7, last_latency_ms = $8, last_error = $9, last_response = $10 \
                     WHERE id = $1 AND lease_owner = $2 RETURNING attempts",
                )
                .bind(id)
                .bind(owner.as_str())
                .bind(state.as_str())
                .bind(next)
                .bind(delivered_at)
                .bind(attempt.at.as_millis())
                .bind(attempt.status.map(i64::from))
                .bind(latency)
                .bind(error)
                .bind(response)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(false);
                };
                let n: i64 = row.try_get("attempts")?;
                sqlx::query(
                    "INSERT INTO webhook_attempts (delivery_id, n, at, status, latency_ms, \
                     error, response) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(n)
                .bind(attempt.at.as_millis())
                .bind(attempt.status.map(i64::from))
                .bind(latency)
                .bind(error)
                .bind(response)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn list_deliveries(
                pool: &Pool,
                tenant: &TenantId,
                webhook: &WebhookId,
                before: Option<u64>,
                limit: u32,
            ) -> Result<Vec<Delivery>> {
                let before = match before {
                    Some(b) => to_i64("cursor", b)?,
                    None => i64::MAX,
                };
                let sql = format!(
                    "SELECT {DELIVERY_COLUMNS} FROM {DELIVERY_FROM} \
                     WHERE d.webhook_id = $1 AND d.tenant = $2 AND d.id < $3 \
                     ORDER BY d.id DESC LIMIT $4"
                );
                sqlx::query(&sql)
                    .bind(webhook.to_string())
                    .bind(tenant.as_str())
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(decode_delivery)
                    .collect()
            }

            async fn delivery_attempts(
                pool: &Pool,
                tenant: &TenantId,
                delivery: u64,
            ) -> Result<Vec<Attempt>> {
                let rows = sqlx::query(
                    "SELECT a.at, a.status, a.latency_ms, a.error, a.response \
                     FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
                     WHERE a.delivery_id = $1 AND d.tenant = $2 ORDER BY a.n",
                )
                .bind(to_i64("delivery id", delivery)?)
                .bind(tenant.as_str())
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Attempt {
                            at: Timestamp::from_millis(r.try_get("at")?),
                            status: r
                                .try_get::<Option<i64>, _>("status")?
                                .map(|s| u16::try_from(s).map_err(|_| corrupt(format!("status {s}"))))
                                .transpose()?,
                            latency_ms: to_u64("latency", r.try_get("latency_ms")?)?,
                            error: r.try_get("error")?,
                            response: r.try_get("response")?,
                        })
                    })
                    .collect()
            }

            async fn retry_delivery(
                pool: &Pool,
                tenant: &TenantId,
                webhook: &WebhookId,
                delivery: u64,
                now: Timestamp,
            ) -> Result<Option<Delivery>> {
                let id = to_i64("delivery id", delivery)?;
                let mut tx = pool.begin_with($begin).await?;
                // A live lease is kept: the attempt in flight records its result, and the
                // delivery stays queued for another one unless that attempt delivered it.
                let updated = sqlx::query(
                    "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $4, \
                     queued_at = $4, delivered_at = NULL \
                     WHERE id = $1 AND webhook_id = $2 AND tenant = $3",
                )
                .bind(id)
                .bind(webhook.to_string())
                .bind(tenant.as_str())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let d = load_delivery(&mut tx, id).await?;
                tx.commit().await?;
                Ok(d)
            }

            async fn outbox_stats(pool: &Pool) -> Result<OutboxStats> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n, MIN(queued_at) AS oldest FROM webhook_deliveries \
                     WHERE state = 'pending'",
                )
                .fetch_one(pool)
                .await?;
                Ok(OutboxStats {
                    pending: to_u64("pending", row.try_get("n")?)?,
                    oldest_pending: row
                        .try_get::<Option<i64>, _>("oldest")?
                        .map(Timestamp::from_millis),
                })
            }

            async fn events_after(
                pool: &Pool,
                tenant: &TenantId,
                cursor: u64,
                limit: u32,
            ) -> Result<Vec<CursorEvent>> {
                let number: &[&str] = $number;
                if !number.is_empty() {
                    let mut tx = pool.begin_with($begin).await?;
                    for statement in number {
                        sqlx::query(statement).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                }
                let sql = concat!(
                    "SELECT ", $cursor, " AS cursor, e.route_id, e.seq, e.kind, e.data, e.at \
                     FROM events e JOIN routes r ON r.id = e.route_id \
                     WHERE r.tenant = $1 AND ", $cursor, " > $2 \
                     ORDER BY ", $cursor, " LIMIT $3"
                );
                sqlx::query(sql)
                    .bind(tenant.as_str())
                    .bind(to_i64("cursor", cursor)?)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(CursorEvent {
                            cursor: to_u64("cursor", r.try_get("cursor")?)?,
                            event: Event {
                                route: r.try_get::<String, _>("route_id")?.parse().map_err(corrupt)?,
                                seq: to_u64("seq", r.try_get("seq")?)?,
                                kind: r.try_get("kind")?,
                                data: from_json("event data", &r.try_get::<String, _>("data")?)?,
                                at: Timestamp::from_millis(r.try_get("at")?),
                            },
                        })
                    })
                    .collect()
            }

            #[async_trait::async_trait]
            impl crate::WebhookStore for $store {
                async fn create_webhook(
                    &self,
                    tenant: &TenantId,
                    new: &NewWebhook,
                    now: Timestamp,
                ) -> StoreResult<Webhook> {
                    Ok(create_webhook(&self.pool, tenant, new, now).await?)
                }

                async fn set_view_token(
                    &self,
                    tenant: &TenantId,
                    route: &crate::RouteId,
                    sha256_hex: Option<&str>,
                    now: Timestamp,
                ) -> StoreResult<bool> {
                    Ok(set_view_token(&self.pool, tenant, route, sha256_hex, now).await?)
                }

                async fn view_token(
                    &self,
                    route: &crate::RouteId,
                ) -> StoreResult<Option<(TenantId, String)>> {
                    Ok(view_token(&self.pool, route).await?)
                }

                async fn list_webhooks(&self, tenant: &TenantId) -> StoreResult<Vec<Webhook>> {
                    Ok(list_webhooks(&self.pool, tenant).await?)
                }

                async fn get_webhook(
                    &self,
                    tenant: &TenantId,
                    id: &WebhookId,
                ) -> StoreResult<Option<Webhook>> {
                    let mut conn = self.pool.acquire().await.map_err(Db::from)?;
                    Ok(load_webhook(&mut conn, Some(tenant), id).await?)
                }

                async fn delete_webhook(
                    &self,
                    tenant: &TenantId,
                    id: &WebhookId,
                ) -> StoreResult<bool> {
                    Ok(delete_webhook(&self.pool, tenant, id).await?)
                }

                async fn rotate_secret(
                    &self,
                    tenant: &TenantId,
                    id: &WebhookId,
                    secret: &WebhookSecret,
                    grace_until: Timestamp,
                    now: Timestamp,
                ) -> StoreResult<Option<Webhook>> {
                    Ok(rotate_secret(&self.pool, tenant, id, secret, grace_until, now).await?)
                }

                async fn lease_deliveries(
                    &self,
                    owner: &LeaseOwner,
                    duration: std::time::Duration,
                    limit: u32,
                    now: Timestamp,
                ) -> StoreResult<Vec<LeasedDelivery>> {
                    Ok(lease_deliveries(&self.pool, owner, duration, limit, now).await?)
                }

                async fn record_attempt(
                    &self,
                    delivery: u64,
                    owner: &LeaseOwner,
                    attempt: &Attempt,
                    outcome: AttemptOutcome,
                ) -> StoreResult<bool> {
                    Ok(record_attempt(&self.pool, delivery, owner, attempt, outcome).await?)
                }

                async fn list_deliveries(
                    &self,
                    tenant: &TenantId,
                    webhook: &WebhookId,
                    before: Option<u64>,
                    limit: u32,
                ) -> StoreResult<Vec<Delivery>> {
                    Ok(list_deliveries(&self.pool, tenant, webhook, before, limit).await?)
                }

                async fn delivery_attempts(
                    &self,
                    tenant: &TenantId,
                    delivery: u64,
                ) -> StoreResult<Vec<Attempt>> {
                    Ok(delivery_attempts(&self.pool, tenant, delivery).await?)
                }

                async fn retry_delivery(
                    &self,
                    tenant: &TenantId,
                    webhook: &WebhookId,
                    delivery: u64,
                    now: Timestamp,
                ) -> StoreResult<Option<Delivery>> {
                    Ok(retry_delivery(&self.pool, tenant, webhook, delivery, now).await?)
                }

                async fn outbox_stats(&self) -> StoreResult<OutboxStats> {
                    Ok(outbox_stats(&self.pool).await?)
                }

                async fn events_after(
                    &self,
                    tenant: &TenantId,
                    cursor: u64,
                    limit: u32,
                ) -> StoreResult<Vec<CursorEvent>> {
                    Ok(events_after(&self.pool, tenant, cursor, limit).await?)
                }
            }
        }
    };
}

pub(crate) use webhook_backend;
