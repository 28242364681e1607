DROP INDEX "auth_attempts_ip";--> statement-breakpoint
CREATE INDEX "auth_attempts_ip_failed" ON "auth_attempts" USING btree ("kind","ip","created_at") WHERE "auth_attempts"."success" = false;