-- Every write that can change whether a mail login is admitted announces the
-- user it concerns on channel postern_credentials ('*' for site-wide policy),
-- so each Postern node drops what its mail-login cache knows about that user.
-- Triggers catch every path: the web, the command line, or SQL by hand.
CREATE OR REPLACE FUNCTION postern_credentials_changed() RETURNS trigger AS $$
BEGIN
  IF TG_TABLE_NAME = 'settings' THEN
    PERFORM pg_notify('postern_credentials', '*');
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('postern_credentials', COALESCE(NEW.id, OLD.id)::text);
  ELSE
    PERFORM pg_notify('postern_credentials', COALESCE(NEW.user_id, OLD.user_id)::text);
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER app_passwords_credentials_changed AFTER UPDATE OF hash, selector, scopes, expires_at, user_id OR DELETE ON app_passwords
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
--> statement-breakpoint
CREATE TRIGGER users_credentials_changed AFTER UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
--> statement-breakpoint
CREATE TRIGGER sms_phones_credentials_changed AFTER INSERT OR UPDATE OR DELETE ON sms_phones
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
--> statement-breakpoint
CREATE TRIGGER settings_credentials_changed AFTER INSERT OR UPDATE OR DELETE ON settings
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
