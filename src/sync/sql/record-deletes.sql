-- prescient_record_deletes(): the statement trigger that keeps hard DELETEs for the change feed's catch-up.
--
-- Installed by ChangeFeed.installTrigger(sql, table, channel) beside the row trigger of change-notify.sql, as
--   AFTER DELETE ON <table> REFERENCING OLD TABLE AS prescient_old FOR EACH STATEMENT
--   EXECUTE FUNCTION prescient_record_deletes('<key col>', '<version col>')
-- on an items table (TG_ARGV: its key and version columns, default 'key' and 'version', so a trigger installed
-- by a release that passed none keeps working), with the side table
--   <schema of the table>.prescient_hard_deletes (tbl text, key text, version bigint, stamp bigint,
--                                                deleted_at timestamptz, primary key (tbl, key))
-- Why: a NOTIFY lost while the listener is cut off leaves no row for the catch-up to read; this row stands in.
-- Records:   one row per deleted key: the table's name, the key, its last version, and a stamp above every version
--            the feed can have seen (the versions left in the table, the deleted ones, and the stamps recorded
--            before for this table), so the catch-up (`stamp > watermark`) finds it. Every row of one statement
--            shares the stamp (the catch-up pages never split a stamp). Records older than 7 days are pruned on
--            about 1 statement in 100.
-- Cost:      one statement-level insert and one exception block per DELETE statement, whatever the row count.
-- Faults:    a failure (no grant on the side table, no side table) raises a WARNING and never fails the DELETE.
-- Returns:   NULL (an AFTER trigger's result is ignored).
create or replace function prescient_record_deletes() returns trigger
language plpgsql as $fn$
declare
  side text := format('%I.prescient_hard_deletes', tg_table_schema);
  key_col text := coalesce(nullif(tg_argv[0], ''), 'key');
  version_col text := coalesce(nullif(tg_argv[1], ''), 'version');
  top bigint;
begin
  begin
    execute format(
      'select greatest((select max(%1$I) from %2$I.%3$I), (select max(%1$I) from prescient_old), '
      '(select max(stamp) from %4$s where tbl = $1))', version_col, tg_table_schema, tg_table_name, side)
      using tg_table_name into top;
    execute format(
      'insert into %s (tbl, key, version, stamp) select $1, %I::text, %I, $2 from prescient_old '
      'on conflict (tbl, key) do update set version = excluded.version, stamp = excluded.stamp, deleted_at = now()',
      side, key_col, version_col)
      using tg_table_name, coalesce(top, 0) + 1;
    if random() < 0.01 then
      execute format('delete from %s where deleted_at < now() - interval ''7 days''', side);
    end if;
  exception when others then
    raise warning 'prescient_record_deletes: hard deletes from %.% not recorded in %: %',
      tg_table_schema, tg_table_name, side, sqlerrm;
  end;
  return null;
end
$fn$;
