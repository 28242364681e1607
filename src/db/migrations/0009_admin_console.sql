CREATE TABLE "access_passes" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"code_hash" text NOT NULL,
	"issued_by" uuid,
	"reason" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "hardware_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"serial" text NOT NULL,
	"secret_sealed" text NOT NULL,
	"period" integer DEFAULT 30 NOT NULL,
	"manufacturer" text DEFAULT '' NOT NULL,
	"model" text DEFAULT '' NOT NULL,
	"user_id" uuid,
	"drift_steps" integer DEFAULT 0 NOT NULL,
	"last_step" bigint,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notices" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" uuid,
	"audit_event_id" bigint,
	"recipient" text NOT NULL,
	"kind" text NOT NULL,
	"locale" text NOT NULL,
	"details" jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "must_change_password" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "access_passes" ADD CONSTRAINT "access_passes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hardware_tokens" ADD CONSTRAINT "hardware_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notices" ADD CONSTRAINT "notices_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "hardware_tokens_serial" ON "hardware_tokens" USING btree (lower("serial"));--> statement-breakpoint
CREATE INDEX "hardware_tokens_user" ON "hardware_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "notices_due" ON "notices" USING btree ("next_attempt_at") WHERE "notices"."status" = 'queued';--> statement-breakpoint
CREATE INDEX "notices_audit" ON "notices" USING btree ("audit_event_id");--> statement-breakpoint
CREATE INDEX "notices_created" ON "notices" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "users_display_name" ON "users" USING btree ("display_name");--> statement-breakpoint
CREATE INDEX "audit_events_event" ON "audit_events" USING btree ("event","created_at");--> statement-breakpoint
CREATE INDEX "audit_events_ip" ON "audit_events" USING btree ("ip","created_at");--> statement-breakpoint
CREATE INDEX "audit_events_account" ON "audit_events" USING btree ("account","created_at");--> statement-breakpoint
-- A hardware token bound or revoked adds or ends a second factor: a credential change for mail logins.
CREATE TRIGGER hardware_tokens_credentials_changed AFTER INSERT OR UPDATE OF user_id, activated_at, revoked_at OR DELETE ON hardware_tokens
  FOR EACH ROW EXECUTE FUNCTION postern_credentials_changed();
