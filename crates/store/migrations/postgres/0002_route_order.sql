-- What a route moves, stored with the route (before, only its `route_order` event had it): the
-- asset as JSON, the amount in base units as a decimal string. Both are set by the transaction
-- that creates the route. Routes created before this version take them from that event; one
-- whose event was never written keeps NULLs (it cannot be driven, as before).

ALTER TABLE routes ADD COLUMN asset TEXT;
ALTER TABLE routes ADD COLUMN amount TEXT;

UPDATE routes SET
    asset = (o.data::jsonb -> 'asset')::text,
    amount = o.data::jsonb ->> 'amount'
FROM (SELECT DISTINCT ON (route_id) route_id, data FROM events
      WHERE kind = 'route_order' ORDER BY route_id, seq) AS o
WHERE o.route_id = routes.id;
