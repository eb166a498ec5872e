//! The store logic shared by both backends.
//!
//! The SQL is the same on SQLite and PostgreSQL (SQLite accepts `$1` placeholders, both have
//! `RETURNING` and `ON CONFLICT`); the backends differ only in how a write transaction starts, how
//! the route row is locked and how a route is leased. sqlx's generic bounds over `Database` are
//! heavy, so the shared code is instantiated per backend by this macro rather than made generic.
//!
//! Kept in one file (about 830 lines of code): the macro that instantiates the shared SQL for each
//! backend has to see all of it.

macro_rules! sql_backend {
    (
        store = $store:ty,
        db = $db:ty,
        begin_write = $begin:literal,
        lock_route = $lock:literal,
        lease_sql = $lease_sql:expr $(,)?
    ) => {
        use serde_json::json;
        use sqlx::{Acquire as _, Row as _};
        use starkroute_types::{LegStatus, Route, RouteStatus};

        use crate::codec::{
            from_json, leg_status_str, parse_leg_kind, parse_leg_status, parse_route_status,
            route_status_str, to_i64, to_json, to_u64,
        };
        use crate::error::{Db, DbResult as Result};
        use crate::{
            Applied, Event, Fence, IdempotencyKey, Lease, LeaseOwner, LegRecord, ListQuery, Page,
            RouteId, RouteOrder, RouteRecord, StoreError, TenantId, Timestamp, Transition,
            ORDER_EVENT,
        };

        /// What the trait's callers get.
        type StoreResult<T> = crate::Result<T>;

        type Conn = <$db as sqlx::Database>::Connection;
        type Pool = sqlx::Pool<$db>;
        type Tx = sqlx::Transaction<'static, $db>;
        type DbRow = <$db as sqlx::Database>::Row;

        const ROUTE_COLUMNS: &str = "id, tenant, status, route, asset, amount, outcome, version, \
             last_seq, wake_at, lease_owner, lease_expires_at, created_at, updated_at";
        const LEG_COLUMNS: &str = "route_id, idx, kind, status, prepared, submission, attempts, \
             next_attempt_at, last_error, updated_at";

        /// Starts a transaction that will write.
        async fn begin_write(pool: &Pool) -> Result<Tx> {
            Ok(pool.begin_with($begin).await?)
        }

        fn opt_ts(v: Option<i64>) -> Option<Timestamp> {
            v.map(Timestamp::from_millis)
        }

        fn decode_leg(row: &DbRow) -> Result<(String, LegRecord)> {
            let index: i64 = row.try_get("idx")?;
            let prepared: Option<String> = row.try_get("prepared")?;
            let attempts: i64 = row.try_get("attempts")?;
            let leg = LegRecord {
                index: u16::try_from(index)
                    .map_err(|_| StoreError::corrupt(format!("leg index {index}")))?,
                kind: parse_leg_kind(&row.try_get::<String, _>("kind")?)?,
                status: parse_leg_status(&row.try_get::<String, _>("status")?)?,
                prepared: prepared.map(|p| from_json("prepared payload", &p)).transpose()?,
                submission: row.try_get("submission")?,
                attempts: u32::try_from(attempts)
                    .map_err(|_| StoreError::corrupt(format!("leg attempts {attempts}")))?,
                next_attempt_at: opt_ts(row.try_get("next_attempt_at")?),
                last_error: row.try_get("last_error")?,
                updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
            };
            Ok((row.try_get("route_id")?, leg))
        }

        fn decode_route(row: &DbRow, legs: Vec<LegRecord>) -> Result<RouteRecord> {
            let id: String = row.try_get("id")?;
            let tenant: String = row.try_get("tenant")?;
            let outcome: Option<String> = row.try_get("outcome")?;
            let lease_owner: Option<String> = row.try_get("lease_owner")?;
            let lease_expires_at: Option<i64> = row.try_get("lease_expires_at")?;
            let lease = match (lease_owner, lease_expires_at) {
                (Some(owner), Some(at)) => Some(Lease {
                    owner: LeaseOwner::new(owner).map_err(StoreError::corrupt)?,
                    expires_at: Timestamp::from_millis(at),
                }),
                _ => None,
            };
            let asset: Option<String> = row.try_get("asset")?;
            let amount: Option<String> = row.try_get("amount")?;
            let order = match (asset, amount) {
                (Some(asset), Some(amount)) => Some(RouteOrder {
                    asset: from_json("asset", &asset)?,
                    amount: amount
                        .parse()
                        .map_err(|e| StoreError::corrupt(format!("amount {amount:?}: {e}")))?,
                }),
                _ => None,
            };
            Ok(RouteRecord {
                id: id.parse().map_err(StoreError::corrupt)?,
                tenant: TenantId::new(tenant).map_err(StoreError::corrupt)?,
                status: parse_route_status(&row.try_get::<String, _>("status")?)?,
                route: from_json("route", &row.try_get::<String, _>("route")?)?,
                order,
                legs,
                outcome: outcome.map(|o| from_json("outcome", &o)).transpose()?,
                version: to_u64("version", row.try_get("version")?)?,
                last_event_seq: to_u64("last_seq", row.try_get("last_seq")?)?,
                wake_at: Timestamp::from_millis(row.try_get("wake_at")?),
                lease,
                created_at: Timestamp::from_millis(row.try_get("created_at")?),
                updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
            })
        }

        /// Loads a route with its legs; with `tenant`, only if it belongs to that tenant.
        async fn load_route(
            conn: &mut Conn,
            id: &RouteId,
            tenant: Option<&TenantId>,
        ) -> Result<Option<RouteRecord>> {
            let id = id.to_string();
            let sql = format!("SELECT {ROUTE_COLUMNS} FROM routes WHERE id = $1");
            let Some(row) = sqlx::query(&sql).bind(&id).fetch_optional(&mut *conn).await? else {
                return Ok(None);
            };
            if let Some(tenant) = tenant {
                if row.try_get::<String, _>("tenant")? != tenant.as_str() {
                    return Ok(None);
                }
            }
            let sql = format!("SELECT {LEG_COLUMNS} FROM legs WHERE route_id = $1 ORDER BY idx");
            let legs = sqlx::query(&sql)
                .bind(&id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| decode_leg(r).map(|(_, leg)| leg))
                .collect::<Result<Vec<_>>>()?;
            decode_route(&row, legs).map(Some)
        }

        async fn find_idempotency(
            conn: &mut Conn,
            tenant: &TenantId,
            key: &IdempotencyKey,
        ) -> Result<Option<(String, RouteId)>> {
            let row = sqlx::query(
                "SELECT fingerprint, route_id FROM idempotency_keys \
                 WHERE tenant = $1 AND idem_key = $2",
            )
            .bind(tenant.as_str())
            .bind(key.key())
            .fetch_optional(&mut *conn)
            .await?;
            row.map(|r| {
                let route: String = r.try_get("route_id")?;
                Ok((r.try_get("fingerprint")?, route.parse().map_err(StoreError::corrupt)?))
            })
            .transpose()
        }

        /// The answer to a create whose idempotency key was already used.
        async fn replay(
            conn: &mut Conn,
            tenant: &TenantId,
            key: &IdempotencyKey,
            (fingerprint, route): (String, RouteId),
        ) -> Result<(RouteRecord, bool)> {
            if fingerprint != key.fingerprint() {
                let key = key.key().to_owned();
                return Err(StoreError::IdempotencyConflict { key, route }.into());
            }
            let record = load_route(conn, &route, Some(tenant)).await?.ok_or_else(|| {
                StoreError::corrupt(format!("idempotency key points at missing route {route}"))
            })?;
            Ok((record, false))
        }

        pub(crate) async fn create_route(
            pool: &Pool,
            tenant: &TenantId,
            idempotency: Option<&IdempotencyKey>,
            route: &Route,
            order: &RouteOrder,
            now: Timestamp,
        ) -> Result<(RouteRecord, bool)> {
            if route.legs.is_empty() {
                return Err(StoreError::Invalid("a route needs at least one leg".into()).into());
            }
            for (i, leg) in route.legs.iter().enumerate() {
                if usize::from(leg.index) != i {
                    return Err(StoreError::Invalid(format!(
                        "leg {i} has index {}: legs must be numbered from 0 in order",
                        leg.index
                    ))
                    .into());
                }
            }
            let route_json = to_json(route)?;
            let asset_json = to_json(&order.asset)?;
            let order_json = to_json(&order.to_value())?;
            let mut tx = begin_write(pool).await?;
            if let Some(key) = idempotency {
                if let Some(found) = find_idempotency(&mut tx, tenant, key).await? {
                    let out = replay(&mut tx, tenant, key, found).await;
                    tx.rollback().await?;
                    return out;
                }
            }
            let id = RouteId::new();
            let id_s = id.to_string();
            let now_ms = now.as_millis();
            sqlx::query(
                "INSERT INTO routes (id, tenant, status, route, asset, amount, outcome, version, \
                 last_seq, wake_at, lease_owner, lease_expires_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, 1, $7, $8, NULL, NULL, $8, $8)",
            )
            .bind(&id_s)
            .bind(tenant.as_str())
            .bind(route_status_str(RouteStatus::Pending))
            .bind(&route_json)
            .bind(&asset_json)
            .bind(order.amount.to_string())
            .bind(to_i64("seq", RouteOrder::EVENT_SEQ)?)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            for leg in &route.legs {
                sqlx::query(
                    "INSERT INTO legs (route_id, idx, kind, status, prepared, submission, \
                     attempts, next_attempt_at, last_error, updated_at) \
                     VALUES ($1, $2, $3, $4, NULL, NULL, 0, NULL, NULL, $5)",
                )
                .bind(&id_s)
                .bind(i64::from(leg.index))
                .bind(leg.kind.as_str())
                .bind(leg_status_str(LegStatus::Planned))
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            let created = json!({ "summary": route.summary, "legs": route.legs.len() });
            insert_event(&mut tx, tenant.as_str(), &id_s, 1, "route_created", &to_json(&created)?, now_ms).await?;
            let seq = to_i64("seq", RouteOrder::EVENT_SEQ)?;
            insert_event(&mut tx, tenant.as_str(), &id_s, seq, ORDER_EVENT, &order_json, now_ms).await?;
            if let Some(key) = idempotency {
                let inserted = sqlx::query(
                    "INSERT INTO idempotency_keys (tenant, idem_key, fingerprint, route_id, \
                     created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant, idem_key) DO NOTHING",
                )
                .bind(tenant.as_str())
                .bind(key.key())
                .bind(key.fingerprint())
                .bind(&id_s)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    // A concurrent create with the same key committed first (PostgreSQL waits
                    // for it on the key's index entry): drop ours and answer with theirs.
                    tx.rollback().await?;
                    let mut conn = pool.acquire().await?;
                    let found = find_idempotency(&mut conn, tenant, key).await?.ok_or_else(|| {
                        StoreError::Backend {
                            retryable: true,
                            source: "idempotency key vanished during a concurrent create".into(),
                        }
                    })?;
                    return replay(&mut conn, tenant, key, found).await;
                }
            }
            let record = load_route(&mut tx, &id, None)
                .await?
                .ok_or_else(|| StoreError::corrupt("route vanished while being created"))?;
            tx.commit().await?;
            Ok((record, true))
        }

        /// Appends an event and, in the same transaction, its webhook outbox rows: one pending
        /// delivery for every endpoint of the route's tenant subscribed to its kind.
        async fn insert_event(
            conn: &mut Conn,
            tenant: &str,
            route: &str,
            seq: i64,
            kind: &str,
            data: &str,
            at: i64,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO events (route_id, seq, kind, data, at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(route)
            .bind(seq)
            .bind(kind)
            .bind(data)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, tenant, route_id, seq, state, \
                 attempts, next_attempt_at, queued_at) \
                 SELECT DISTINCT webhook_id, tenant, $2, $3, 'pending', 0, $5, $5 \
                 FROM webhook_subscriptions WHERE tenant = $1 AND kind IN ($4, '*')",
            )
            .bind(tenant)
            .bind(route)
            .bind(seq)
            .bind(kind)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub(crate) async fn get_route(
            pool: &Pool,
            tenant: &TenantId,
            id: &RouteId,
        ) -> Result<Option<RouteRecord>> {
            // One read transaction: the route and its legs from the same snapshot.
            let mut tx = pool.begin().await?;
            let record = load_route(&mut tx, id, Some(tenant)).await?;
            tx.commit().await?;
            Ok(record)
        }

        pub(crate) async fn list_routes(
            pool: &Pool,
            tenant: &TenantId,
            query: &ListQuery,
        ) -> Result<Page> {
            if query.limit == 0 || query.limit > ListQuery::MAX_LIMIT {
                return Err(StoreError::Invalid(format!(
                    "page size must be 1 to {}, got {}",
                    ListQuery::MAX_LIMIT,
                    query.limit
                ))
                .into());
            }
            let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                "SELECT {ROUTE_COLUMNS} FROM routes WHERE tenant = "
            ));
            qb.push_bind(tenant.as_str());
            if let Some(status) = query.status {
                qb.push(" AND status = ").push_bind(route_status_str(status));
            }
            if let Some(cursor) = query.cursor {
                qb.push(" AND id < ").push_bind(cursor.to_string());
            }
            qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.limit) + 1);

            let mut tx = pool.begin().await?;
            let mut rows = qb.build().fetch_all(&mut *tx).await?;
            let more = rows.len() > query.limit as usize;
            rows.truncate(query.limit as usize);

            let mut legs: std::collections::HashMap<String, Vec<LegRecord>> =
                std::collections::HashMap::new();
            if !rows.is_empty() {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {LEG_COLUMNS} FROM legs WHERE route_id IN ("
                ));
                let mut ids = qb.separated(", ");
                for row in &rows {
                    ids.push_bind(row.try_get::<String, _>("id")?);
                }
                qb.push(") ORDER BY route_id, idx");
                for row in qb.build().fetch_all(&mut *tx).await? {
                    let (route, leg) = decode_leg(&row)?;
                    legs.entry(route).or_default().push(leg);
                }
            }
            tx.commit().await?;

            let routes = rows
                .iter()
                .map(|row| {
                    let id: String = row.try_get("id")?;
                    decode_route(row, legs.remove(&id).unwrap_or_default())
                })
                .collect::<Result<Vec<_>>>()?;
            let next = if more { routes.last().map(|r| r.id) } else { None };
            Ok(Page { routes, next })
        }

        pub(crate) async fn lease(
            pool: &Pool,
            owner: &LeaseOwner,
            duration: std::time::Duration,
            now: Timestamp,
        ) -> Result<Option<RouteRecord>> {
            let mut tx = begin_write(pool).await?;
            let record = lease_in(&mut tx, owner, duration, now).await?;
            tx.commit().await?;
            Ok(record)
        }

        async fn lease_in(
            tx: &mut Tx,
            owner: &LeaseOwner,
            duration: std::time::Duration,
            now: Timestamp,
        ) -> Result<Option<RouteRecord>> {
            let leased = sqlx::query($lease_sql)
                .bind(owner.as_str())
                .bind(now.saturating_add(duration).as_millis())
                .bind(now.as_millis())
                .fetch_optional(&mut **tx)
                .await?;
            let Some(row) = leased else {
                return Ok(None);
            };
            let id: RouteId =
                row.try_get::<String, _>("id")?.parse().map_err(StoreError::corrupt)?;
            load_route(tx, &id, None).await
        }

        pub(crate) async fn renew_lease(
            pool: &Pool,
            route: &RouteId,
            owner: &LeaseOwner,
            duration: std::time::Duration,
            now: Timestamp,
        ) -> Result<Timestamp> {
            let until = now.saturating_add(duration);
            let renewed = sqlx::query(
                "UPDATE routes SET lease_expires_at = $1 \
                 WHERE id = $2 AND lease_owner = $3 AND lease_expires_at > $4",
            )
            .bind(until.as_millis())
            .bind(route.to_string())
            .bind(owner.as_str())
            .bind(now.as_millis())
            .execute(pool)
            .await?
            .rows_affected();
            if renewed > 0 {
                return Ok(until);
            }
            let exists = sqlx::query("SELECT 1 FROM routes WHERE id = $1")
                .bind(route.to_string())
                .fetch_optional(pool)
                .await?
                .is_some();
            if exists {
                Err(StoreError::LeaseLost { route: *route, owner: owner.clone() }.into())
            } else {
                Err(StoreError::not_found(format!("route {route}")).into())
            }
        }

        pub(crate) async fn release<'e, E>(
            db: E,
            route: &RouteId,
            owner: &LeaseOwner,
            wake_at: Option<Timestamp>,
        ) -> Result<bool>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let released = sqlx::query(
                "UPDATE routes SET lease_owner = NULL, lease_expires_at = NULL, \
                     wake_at = COALESCE($3, wake_at) \
                 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(route.to_string())
            .bind(owner.as_str())
            .bind(wake_at.map(Timestamp::as_millis))
            .execute(db)
            .await?
            .rows_affected();
            Ok(released > 0)
        }

        pub(crate) async fn apply_batch(
            pool: &Pool,
            batch: Vec<Transition>,
            now: Timestamp,
        ) -> Result<Vec<StoreResult<Applied>>> {
            let mut out = Vec::with_capacity(batch.len());
            if batch.is_empty() {
                return Ok(out);
            }
            let mut tx = begin_write(pool).await?;
            for t in &batch {
                // A savepoint per transition, so a refused one leaves no trace in the batch.
                let mut sp = (&mut tx).begin().await?;
                match apply_one(&mut sp, t, now).await {
                    Ok(applied) => {
                        sp.commit().await?;
                        out.push(Ok(applied));
                    }
                    // The database itself failed: give up the whole batch (dropping `tx` rolls back).
                    Err(e @ Db(StoreError::Backend { .. })) => return Err(e),
                    Err(Db(refused)) => {
                        sp.rollback().await?;
                        out.push(Err(refused));
                    }
                }
            }
            tx.commit().await?;
            Ok(out)
        }

        pub(crate) async fn batch(
            pool: &Pool,
            ops: Vec<crate::Op>,
            now: Timestamp,
        ) -> Result<Vec<crate::OpResult>> {
            use crate::{Op, OpResult};
            let mut out = Vec::with_capacity(ops.len());
            if ops.is_empty() {
                return Ok(out);
            }
            let mut tx = begin_write(pool).await?;
            for op in ops {
                match op {
                    Op::Apply(t) => {
                        let mut sp = (&mut tx).begin().await?;
                        match apply_one(&mut sp, &t, now).await {
                            Ok(applied) => {
                                sp.commit().await?;
                                out.push(OpResult::Applied(Ok(applied)));
                            }
                            Err(e @ Db(StoreError::Backend { .. })) => return Err(e),
                            Err(Db(refused)) => {
                                sp.rollback().await?;
                                out.push(OpResult::Applied(Err(refused)));
                            }
                        }
                    }
                    Op::Lease { owner, duration } => {
                        let leased = lease_in(&mut tx, &owner, duration, now).await?;
                        out.push(OpResult::Leased(leased.map(Box::new)));
                    }
                    Op::Release { route, owner, wake_at } => {
                        let released = release(&mut *tx, &route, &owner, wake_at).await?;
                        out.push(OpResult::Released(released));
                    }
                }
            }
            tx.commit().await?;
            Ok(out)
        }

        async fn apply_one(conn: &mut Conn, t: &Transition, now: Timestamp) -> Result<Applied> {
            let id = t.route.to_string();
            let now_ms = now.as_millis();
            let row = sqlx::query(concat!(
                "SELECT tenant, status, version, last_seq, lease_owner, lease_expires_at \
                 FROM routes WHERE id = $1",
                $lock
            ))
            .bind(&id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("route {id}")))?;
            let tenant: String = row.try_get("tenant")?;
            let status = parse_route_status(&row.try_get::<String, _>("status")?)?;
            let version = to_u64("version", row.try_get("version")?)?;
            let last_seq: i64 = row.try_get("last_seq")?;
            let lease_owner: Option<String> = row.try_get("lease_owner")?;
            let lease_live =
                row.try_get::<Option<i64>, _>("lease_expires_at")?.filter(|at| *at > now_ms);

            match &t.fence {
                Fence::Lease(owner) => {
                    if lease_live.is_none() || lease_owner.as_deref() != Some(owner.as_str()) {
                        return Err(StoreError::LeaseLost { route: t.route, owner: owner.clone() }.into());
                    }
                }
                Fence::Version(expected) => {
                    if *expected != version {
                        return Err(StoreError::Conflict {
                            route: t.route,
                            expected: format!("version {expected}"),
                            found: format!("version {version}"),
                        }.into());
                    }
                    if let (Some(until), Some(owner)) = (lease_live, lease_owner) {
                        return Err(StoreError::Leased {
                            route: t.route,
                            owner: LeaseOwner::new(owner).map_err(StoreError::corrupt)?,
                            until: Timestamp::from_millis(until),
                        }.into());
                    }
                }
            }
            if let Some(change) = &t.status {
                if change.from != status {
                    return Err(StoreError::Conflict {
                        route: t.route,
                        expected: format!("route {}", route_status_str(change.from)),
                        found: format!("route {}", route_status_str(status)),
                    }.into());
                }
            }

            let mut wake_at = None;
            if let Some(change) = &t.leg {
                let leg = sqlx::query(
                    "SELECT status, prepared, submission, attempts, next_attempt_at, last_error \
                     FROM legs WHERE route_id = $1 AND idx = $2",
                )
                .bind(&id)
                .bind(i64::from(change.index))
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| {
                    StoreError::not_found(format!("leg {} of route {id}", change.index))
                })?;
                let current = parse_leg_status(&leg.try_get::<String, _>("status")?)?;
                if current != change.from {
                    return Err(StoreError::Conflict {
                        route: t.route,
                        expected: format!("leg {} {}", change.index, leg_status_str(change.from)),
                        found: format!("leg {} {}", change.index, leg_status_str(current)),
                    }.into());
                }
                let p = &change.patch;
                let prepared = match &p.prepared {
                    Some(v) => Some(to_json(v)?),
                    None => leg.try_get("prepared")?,
                };
                let submission = match &p.submission {
                    Some(s) => Some(s.clone()),
                    None => leg.try_get("submission")?,
                };
                let attempts = match p.attempts {
                    Some(n) => i64::from(n),
                    None => leg.try_get("attempts")?,
                };
                let next_attempt_at = match p.next_attempt_at {
                    Some(at) => {
                        wake_at = Some(at.unwrap_or(now).as_millis());
                        at.map(Timestamp::as_millis)
                    }
                    None => leg.try_get("next_attempt_at")?,
                };
                let last_error = match &p.last_error {
                    Some(e) => e.clone(),
                    None => leg.try_get("last_error")?,
                };
                sqlx::query(
                    "UPDATE legs SET status = $3, prepared = $4, submission = $5, attempts = $6, \
                     next_attempt_at = $7, last_error = $8, updated_at = $9 \
                     WHERE route_id = $1 AND idx = $2",
                )
                .bind(&id)
                .bind(i64::from(change.index))
                .bind(leg_status_str(change.to))
                .bind(prepared)
                .bind(submission)
                .bind(attempts)
                .bind(next_attempt_at)
                .bind(last_error)
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
            }

            let new_version = version + 1;
            let new_status = t.status.as_ref().map_or(status, |c| c.to);
            let outcome = t
                .status
                .as_ref()
                .and_then(|c| c.outcome.as_ref())
                .map(to_json)
                .transpose()?;
            let new_last_seq = last_seq + i64::try_from(t.events.len()).unwrap_or(i64::MAX);
            sqlx::query(
                "UPDATE routes SET status = $2, outcome = COALESCE($3, outcome), version = $4, \
                 last_seq = $5, wake_at = COALESCE($6, wake_at), updated_at = $7 WHERE id = $1",
            )
            .bind(&id)
            .bind(route_status_str(new_status))
            .bind(outcome)
            .bind(to_i64("version", new_version)?)
            .bind(new_last_seq)
            .bind(wake_at)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;

            let mut events = Vec::with_capacity(t.events.len());
            for (seq, event) in (last_seq + 1..).zip(&t.events) {
                if event.kind.is_empty() {
                    return Err(StoreError::Invalid("an event needs a type".into()).into());
                }
                insert_event(conn, &tenant, &id, seq, &event.kind, &to_json(&event.data)?, now_ms).await?;
                events.push(Event {
                    route: t.route,
                    seq: to_u64("seq", seq)?,
                    kind: event.kind.clone(),
                    data: event.data.clone(),
                    at: now,
                });
            }
            Ok(Applied { route: t.route, version: new_version, events })
        }

        pub(crate) async fn events_since(
            pool: &Pool,
            tenant: &TenantId,
            route: &RouteId,
            after_seq: u64,
        ) -> Result<Vec<Event>> {
            let id = route.to_string();
            let mut tx = pool.begin().await?;
            let owned = sqlx::query("SELECT 1 FROM routes WHERE id = $1 AND tenant = $2")
                .bind(&id)
                .bind(tenant.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !owned {
                return Err(StoreError::not_found(format!("route {id}")).into());
            }
            let rows = sqlx::query(
                "SELECT seq, kind, data, at FROM events WHERE route_id = $1 AND seq > $2 \
                 ORDER BY seq",
            )
            .bind(&id)
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows.iter()
                .map(|r| {
                    Ok(Event {
                        route: *route,
                        seq: to_u64("seq", r.try_get("seq")?)?,
                        kind: r.try_get("kind")?,
                        data: from_json("event data", &r.try_get::<String, _>("data")?)?,
                        at: Timestamp::from_millis(r.try_get("at")?),
                    })
                })
                .collect()
        }

        #[async_trait::async_trait]
        impl crate::RouteStore for $store {
            async fn create_route(
                &self,
                tenant: &TenantId,
                idempotency: Option<&IdempotencyKey>,
                route: &Route,
                order: &RouteOrder,
                now: Timestamp,
            ) -> StoreResult<(RouteRecord, bool)> {
                Ok(create_route(&self.pool, tenant, idempotency, route, order, now).await?)
            }

            async fn get_route(
                &self,
                tenant: &TenantId,
                id: &RouteId,
            ) -> StoreResult<Option<RouteRecord>> {
                Ok(get_route(&self.pool, tenant, id).await?)
            }

            async fn list_routes(&self, tenant: &TenantId, query: &ListQuery) -> StoreResult<Page> {
                Ok(list_routes(&self.pool, tenant, query).await?)
            }

            async fn lease(
                &self,
                owner: &LeaseOwner,
                duration: std::time::Duration,
                now: Timestamp,
            ) -> StoreResult<Option<RouteRecord>> {
                Ok(lease(&self.pool, owner, duration, now).await?)
            }

            async fn renew_lease(
                &self,
                route: &RouteId,
                owner: &LeaseOwner,
                duration: std::time::Duration,
                now: Timestamp,
            ) -> StoreResult<Timestamp> {
                Ok(renew_lease(&self.pool, route, owner, duration, now).await?)
            }

            async fn release(&self, route: &RouteId, owner: &LeaseOwner) -> StoreResult<bool> {
                Ok(release(&self.pool, route, owner, None).await?)
            }

            async fn release_until(
                &self,
                route: &RouteId,
                owner: &LeaseOwner,
                wake_at: Timestamp,
            ) -> StoreResult<bool> {
                Ok(release(&self.pool, route, owner, Some(wake_at)).await?)
            }

            async fn apply_batch(
                &self,
                batch: Vec<Transition>,
                now: Timestamp,
            ) -> StoreResult<Vec<StoreResult<Applied>>> {
                Ok(apply_batch(&self.pool, batch, now).await?)
            }

            async fn batch(
                &self,
                ops: Vec<crate::Op>,
                now: Timestamp,
            ) -> StoreResult<Vec<crate::OpResult>> {
                Ok(batch(&self.pool, ops, now).await?)
            }

            async fn events_since(
                &self,
                tenant: &TenantId,
                route: &RouteId,
                after_seq: u64,
            ) -> StoreResult<Vec<Event>> {
                Ok(events_since(&self.pool, tenant, route, after_seq).await?)
            }
        }
    };
}

pub(crate) use sql_backend;
