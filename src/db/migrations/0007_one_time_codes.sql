-- One table for every code Postern sends: texts and emails alike. The
-- destination is the phone number (E.164) or the email address.
ALTER TABLE "sms_challenges" RENAME TO "one_time_codes";--> statement-breakpoint
ALTER TABLE "one_time_codes" RENAME COLUMN "phone" TO "destination";--> statement-breakpoint
ALTER TABLE "one_time_codes" ADD COLUMN "channel" text DEFAULT 'sms' NOT NULL;--> statement-breakpoint
ALTER TABLE "one_time_codes" RENAME CONSTRAINT "sms_challenges_pkey" TO "one_time_codes_pkey";--> statement-breakpoint
ALTER TABLE "one_time_codes" RENAME CONSTRAINT "sms_challenges_user_id_users_id_fk" TO "one_time_codes_user_id_users_id_fk";--> statement-breakpoint
ALTER INDEX "sms_challenges_user_created" RENAME TO "one_time_codes_user_created";--> statement-breakpoint
ALTER INDEX "sms_challenges_phone_created" RENAME TO "one_time_codes_destination_created";--> statement-breakpoint
ALTER INDEX "sms_challenges_ip_created" RENAME TO "one_time_codes_ip_created";--> statement-breakpoint
ALTER INDEX "sms_challenges_created" RENAME TO "one_time_codes_created";
