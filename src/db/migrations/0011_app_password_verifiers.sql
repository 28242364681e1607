CREATE TABLE "app_password_verifiers" (
	"key" text PRIMARY KEY NOT NULL,
	"app_password_id" uuid NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "app_password_verifiers" ADD CONSTRAINT "app_password_verifiers_app_password_id_app_passwords_id_fk" FOREIGN KEY ("app_password_id") REFERENCES "public"."app_passwords"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "app_password_verifiers_password" ON "app_password_verifiers" USING btree ("app_password_id");--> statement-breakpoint
CREATE INDEX "app_password_verifiers_expires" ON "app_password_verifiers" USING btree ("expires_at");