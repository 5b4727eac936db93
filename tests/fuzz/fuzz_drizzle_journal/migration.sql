CREATE TABLE a (id int);
--> statement-breakpoint
CREATE INDEX ON a (id);
