-- postern_attempt is the regulator's one decision (src/auth/regulation.ts):
-- how long an attempt must wait, and with p_reserve, if it need not wait,
-- the attempt written as a failure, all in one statement. The advisory
-- locks (the account, then the client address for untrusted clients) are
-- held until that statement's transaction ends, so parallel attempts queue
-- and each sees the ones before it. A known device (p_device) keeps its own
-- count; account-wide waits, the lock and the per-address limit apply only
-- to untrusted clients (p_device is null). With p_known_ip_days, an address
-- that succeeded for the account within that many days is such a device
-- ('ip:<address>'); the device used is returned.
CREATE OR REPLACE FUNCTION postern_attempt(
  p_kind text, p_account text, p_ip text, p_device text, p_now timestamptz, p_reserve boolean,
  p_free integer, p_base integer, p_max integer, p_lock_after integer, p_lock_seconds integer,
  p_ip_max integer, p_ip_window integer, p_known_ip_days integer)
RETURNS TABLE (wait_seconds double precision, attempt_id bigint, device text) AS $$
DECLARE
  failures integer := 0;
  last_at timestamptz;
  r record;
  delay double precision;
  ip_failures integer;
  wait double precision := 0;
BEGIN
  IF p_device IS NULL AND p_known_ip_days IS NOT NULL AND EXISTS (
    SELECT 1 FROM auth_attempts a
    WHERE a.kind = p_kind AND a.account = p_account AND a.ip = p_ip AND a.success
      AND a.created_at > p_now - make_interval(days => p_known_ip_days)
  ) THEN
    p_device := 'ip:' || p_ip;
  END IF;
  IF p_reserve THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('postern:' || p_kind || ':account:' || p_account, 0));
    IF p_device IS NULL THEN
      PERFORM pg_advisory_xact_lock(hashtextextended('postern:' || p_kind || ':ip:' || p_ip, 0));
    END IF;
  END IF;
  -- Consecutive failures since the last success, within the lock window.
  FOR r IN
    SELECT a.success, a.created_at FROM auth_attempts a
    WHERE a.kind = p_kind AND a.account = p_account AND a.device IS NOT DISTINCT FROM p_device
      AND a.created_at > p_now - make_interval(secs => p_lock_seconds)
    ORDER BY a.id DESC LIMIT p_lock_after + 1
  LOOP
    IF last_at IS NULL THEN last_at := r.created_at; END IF;
    EXIT WHEN r.success;
    failures := failures + 1;
  END LOOP;
  IF last_at IS NOT NULL AND failures >= p_free THEN
    IF p_device IS NULL AND failures >= p_lock_after THEN
      delay := p_lock_seconds;
    ELSE
      delay := least(p_base * power(2, least(failures - p_free, 30)), p_max);
    END IF;
    wait := greatest(wait, extract(epoch FROM (last_at - p_now)) + delay);
  END IF;
  IF p_device IS NULL THEN
    SELECT count(*) INTO ip_failures FROM auth_attempts a
    WHERE a.kind = p_kind AND a.ip = p_ip AND a.success = false AND a.device IS NULL
      AND a.created_at > p_now - make_interval(secs => p_ip_window);
    IF ip_failures >= p_ip_max THEN wait := greatest(wait, p_ip_window); END IF;
  END IF;
  IF wait > 0 OR NOT p_reserve THEN
    RETURN QUERY SELECT wait, NULL::bigint, p_device;
    RETURN;
  END IF;
  RETURN QUERY
    INSERT INTO auth_attempts (kind, account, ip, device, success, created_at)
    VALUES (p_kind, p_account, p_ip, p_device, false, p_now)
    RETURNING 0::double precision, auth_attempts.id, auth_attempts.device;
END
$$ LANGUAGE plpgsql;
