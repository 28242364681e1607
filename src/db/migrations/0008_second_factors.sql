CREATE TABLE "backup_codes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"code_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "recovery_emails" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"address" text NOT NULL,
	"verified_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "totp_authenticators" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"name" text NOT NULL,
	"secret_sealed" text NOT NULL,
	"last_step" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "login_protection" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "operation_protection" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "preferred_factor" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "last_factor" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "factors_changed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "backup_codes" ADD CONSTRAINT "backup_codes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recovery_emails" ADD CONSTRAINT "recovery_emails_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "totp_authenticators" ADD CONSTRAINT "totp_authenticators_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "backup_codes_user_hash" ON "backup_codes" USING btree ("user_id","code_hash");--> statement-breakpoint
CREATE INDEX "totp_authenticators_user" ON "totp_authenticators" USING btree ("user_id");--> statement-breakpoint
-- A phone bound before scopes and status existed counts as changed when it was bound.
UPDATE "users" SET "factors_changed_at" = p."bound_at" FROM "sms_phones" p WHERE p."user_id" = "users"."id";
--> statement-breakpoint
-- Any second factor ends the main password's use for mail: adding or removing one is a credential change.
CREATE TRIGGER totp_authenticators_credentials_changed AFTER INSERT OR DELETE ON totp_authenticators
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
--> statement-breakpoint
CREATE TRIGGER recovery_emails_credentials_changed AFTER INSERT OR DELETE ON recovery_emails
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
--> statement-breakpoint
-- Which factor last worked, the scopes and the status dates change no mail login: only these columns do.
DROP TRIGGER users_credentials_changed ON users;
--> statement-breakpoint
CREATE TRIGGER users_credentials_changed AFTER UPDATE OF email, password_hash, disabled, require_2fa OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
