-- prescient_change_notify(): the row trigger behind ChangeFeed (src/sync/change-feed.ts).
--
-- Installed by ChangeFeed.installTrigger(sql, table, channel) as
--   AFTER INSERT OR UPDATE OR DELETE ON <table> FOR EACH ROW EXECUTE FUNCTION prescient_change_notify('<channel>')
-- on a table shaped (key text primary key, value jsonb, version bigint not null, deleted boolean not null).
--
-- Arguments: TG_ARGV[0] = the NOTIFY channel.
-- Sends:     one NOTIFY per changed row, delivered at commit (rolled-back rows send nothing), with a compact JSON
--            payload (never the value):
--              {"key": text, "version": number, "at": epoch ms}        insert or update
--              {"key": ..., "version": ..., "deleted": true, ...}       tombstone (deleted column true)
--              {"key": ..., "version": <old>, "deleted": true,
--               "op": "delete", ...}                                   hard DELETE: no new version exists, so the
--                                                                      old one is sent and the feed invalidates
--            A NOTIFY payload must stay under 8000 bytes: when the key makes it longer than 7900, the key is
--            left out ({"version": ..., "at": ...}) and the listener runs its catch-up query, which reads it.
--            "at" is clock_timestamp() at the trigger, in ms since the epoch, for commit-to-invalidation lag.
-- Returns:   NULL (an AFTER trigger's result is ignored).
-- Idempotent: CREATE OR REPLACE; ChangeFeed runs it under an advisory lock so concurrent installs do not race.
create or replace function prescient_change_notify() returns trigger
language plpgsql as $fn$
declare
  rec record;
  payload jsonb;
  body text;
begin
  if tg_op = 'DELETE' then
    rec := old;
  else
    rec := new;
  end if;
  payload := jsonb_build_object('key', rec.key, 'version', rec.version,
                                'at', round(extract(epoch from clock_timestamp()) * 1000, 3));
  if tg_op = 'DELETE' then
    payload := payload || '{"deleted": true, "op": "delete"}'::jsonb;
  elsif rec.deleted then
    payload := payload || '{"deleted": true}'::jsonb;
  end if;
  body := payload::text;
  if octet_length(body) > 7900 then
    body := (payload - 'key')::text;
  end if;
  perform pg_notify(tg_argv[0], body);
  return null;
end
$fn$;
