ALTER TABLE "app_passwords" ADD COLUMN "client_name" text;--> statement-breakpoint
ALTER TABLE "app_passwords" ADD COLUMN "client_version" text;