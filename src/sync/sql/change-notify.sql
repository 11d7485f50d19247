-- prescient_change_notify(): the row trigger behind ChangeFeed (src/sync/change-feed.ts).
--
-- Installed by ChangeFeed.installTrigger(sql, table, options) as
--   AFTER INSERT OR UPDATE OR DELETE ON <table> FOR EACH ROW
--   EXECUTE FUNCTION prescient_change_notify('<channel>', '<key col>', '<version col>', '<deleted col or empty>')
-- on an items table (PostgresOrigin's shape, with any column names; installTrigger checks they exist).
--
-- Arguments: TG_ARGV[0] = the NOTIFY channel; TG_ARGV[1..3] = the key, version and tombstone columns, default
--            'key', 'version', 'deleted' (a trigger installed by a release that passed only the channel keeps
--            working after this function is replaced); an empty or missing tombstone column means none.
-- Sends:     one NOTIFY per changed row, delivered at commit (rolled-back rows send nothing), with a compact JSON
--            payload (never the value); "tbl" is the table's bare name, so a feed ignores another table's changes
--            sent on its channel:
--              {"tbl": text, "key": text, "version": number, "at": epoch ms}   insert or update
--              {..., "deleted": true}                                          tombstone (tombstone column true)
--              {..., "version": <old>, "deleted": true, "op": "delete"}        hard DELETE: no new version exists, so
--                                                                              the old one is sent and the feed
--                                                                              invalidates every copy
--            An UPDATE that changes the key also sends the old key as a hard DELETE (its row is gone) and records
--            it in <schema>.prescient_hard_deletes like record-deletes.sql does, so a feed cut off meanwhile finds
--            it too.
--            A NOTIFY payload must stay under 8000 bytes: when the key makes it longer than 7900, the key is
--            left out ({"tbl": ..., "version": ..., "at": ...}) and the listener runs its catch-up query, which
--            reads it. "at" is clock_timestamp() at the trigger, in ms since the epoch, for commit-to-invalidation lag.
-- Faults:    never fails the write: columns are read through to_jsonb(row), so a column renamed or dropped after
--            the install yields a payload the feed counts as malformed (and a catch-up), not an error; recording a
--            re-keyed row's old key runs in an exception block that only raises a WARNING.
-- Cost:      one to_jsonb of the row per change (two per UPDATE), one pg_notify; a key change adds one insert.
-- Returns:   NULL (an AFTER trigger's result is ignored).
-- Idempotent: CREATE OR REPLACE; ChangeFeed runs it under an advisory lock so concurrent installs do not race.
create or replace function prescient_change_notify() returns trigger
language plpgsql as $fn$
declare
  channel text := tg_argv[0];
  key_col text := coalesce(nullif(tg_argv[1], ''), 'key');
  version_col text := coalesce(nullif(tg_argv[2], ''), 'version');
  deleted_col text := case when tg_nargs > 3 then tg_argv[3] else 'deleted' end;
  side text := format('%I.prescient_hard_deletes', tg_table_schema);
  at numeric := round(extract(epoch from clock_timestamp()) * 1000, 3);
  r jsonb;
  o jsonb;
  payload jsonb;
  body text;
  top bigint;
begin
  if tg_op = 'DELETE' then
    r := to_jsonb(old);
  else
    r := to_jsonb(new);
  end if;
  if tg_op = 'UPDATE' then
    o := to_jsonb(old);
    if (o -> key_col) is distinct from (r -> key_col) then
      payload := jsonb_build_object('tbl', tg_table_name, 'key', o ->> key_col, 'version', o -> version_col,
                                    'deleted', true, 'op', 'delete', 'at', at);
      body := payload::text;
      if octet_length(body) > 7900 then
        body := (payload - 'key')::text;
      end if;
      perform pg_notify(channel, body);
      begin
        execute format('select greatest((select max(%I) from %I.%I), $2::bigint, (select max(stamp) from %s where tbl = $1))',
                       version_col, tg_table_schema, tg_table_name, side)
          using tg_table_name, (o ->> version_col)::bigint into top;
        execute format('insert into %s (tbl, key, version, stamp) values ($1, $2, $3, $4) '
                       'on conflict (tbl, key) do update set version = excluded.version, stamp = excluded.stamp, '
                       'deleted_at = now()', side)
          using tg_table_name, o ->> key_col, (o ->> version_col)::bigint, coalesce(top, 0) + 1;
      exception when others then
        raise warning 'prescient_change_notify: old key of a re-keyed row of %.% not recorded in %: %',
          tg_table_schema, tg_table_name, side, sqlerrm;
      end;
    end if;
  end if;
  payload := jsonb_build_object('tbl', tg_table_name, 'key', r ->> key_col, 'version', r -> version_col, 'at', at);
  if tg_op = 'DELETE' then
    payload := payload || '{"deleted": true, "op": "delete"}'::jsonb;
  elsif deleted_col <> '' and (r -> deleted_col) = 'true'::jsonb then
    payload := payload || '{"deleted": true}'::jsonb;
  end if;
  body := payload::text;
  if octet_length(body) > 7900 then
    body := (payload - 'key')::text;
  end if;
  perform pg_notify(channel, body);
  return null;
end
$fn$;
