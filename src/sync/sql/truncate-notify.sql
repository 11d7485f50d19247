-- prescient_truncate_notify(): the statement trigger that tells the change feed a table was truncated.
--
-- Installed by ChangeFeed.installTrigger(sql, table, options) beside the row trigger of change-notify.sql, as
--   BEFORE TRUNCATE ON <table> FOR EACH STATEMENT
--   EXECUTE FUNCTION prescient_truncate_notify('<channel>', '<version col>')
-- Why: TRUNCATE fires no row trigger, so without this the cache keeps serving every row it removed. BEFORE, not
-- AFTER: the table's highest version is still there to be read, and the NOTIFY is delivered at commit either way
-- (a rolled-back TRUNCATE sends nothing and its record goes with it).
-- Arguments: TG_ARGV[0] = the NOTIFY channel; TG_ARGV[1] = the version column, default 'version'.
-- Records:   a marker in <schema>.prescient_hard_deletes: (tbl, key '', version -1, stamp), the stamp above every
--            version and stamp of the table (as record-deletes.sql computes it), so a feed cut off meanwhile finds
--            it in its catch-up (hard-deletes.ts reads version -1 as "every key"). The key '' is never a cache
--            key (a cache refuses empty keys); a hard DELETE of a row keyed '' shares the marker's row.
-- Sends:     {"tbl": text, "op": "truncate", "version": <the stamp>, "at": epoch ms}; the feed invalidates every
--            key of the cache it feeds (ChangeTarget.invalidateAll).
-- Faults:    never fails the TRUNCATE: reading the table or writing the side table runs in an exception block that
--            raises a WARNING (the NOTIFY is then sent with the version it could read, or 0).
-- Returns:   NULL.
create or replace function prescient_truncate_notify() returns trigger
language plpgsql as $fn$
declare
  channel text := tg_argv[0];
  version_col text := coalesce(nullif(tg_argv[1], ''), 'version');
  side text := format('%I.prescient_hard_deletes', tg_table_schema);
  top bigint;
begin
  begin
    execute format('select max(%I) from %I.%I', version_col, tg_table_schema, tg_table_name) into top;
    execute format('select greatest($2::bigint, (select max(stamp) from %s where tbl = $1))', side)
      using tg_table_name, top into top;
    top := coalesce(top, 0) + 1;
    execute format('insert into %s (tbl, key, version, stamp) values ($1, '''', -1, $2) '
                   'on conflict (tbl, key) do update set version = excluded.version, stamp = excluded.stamp, '
                   'deleted_at = now()', side)
      using tg_table_name, top;
  exception when others then
    raise warning 'prescient_truncate_notify: truncate of %.% not recorded in %: %',
      tg_table_schema, tg_table_name, side, sqlerrm;
  end;
  perform pg_notify(channel, jsonb_build_object('tbl', tg_table_name, 'op', 'truncate', 'version', coalesce(top, 0),
                                                'at', round(extract(epoch from clock_timestamp()) * 1000, 3))::text);
  return null;
end
$fn$;
