-- A deterministic generator for schema.sql: the same arguments give the
-- same rows, byte for byte (ids and values are arithmetic on the series,
-- `seed` shifts them). Organization 1 holds `big` times the rows of each
-- other one (bench: 50 organizations, big 5, org 1 about 10% of the rows).
--   SELECT orgcopy_generate(orgs => 4, scale => 2, big => 3, seed => 7);
CREATE FUNCTION orgcopy_generate(orgs int, scale int, big int, seed int) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  SET CONSTRAINTS ALL DEFERRED;
  CREATE TEMP TABLE gen_org ON COMMIT DROP AS
    SELECT k, scale * CASE WHEN k = 1 THEN big ELSE 1 END AS m FROM generate_series(1, orgs) k;

  INSERT INTO plans (id, name) SELECT p, 'plan ' || p FROM generate_series(1, 5) p;
  INSERT INTO organizations (id, name, plan_id) OVERRIDING SYSTEM VALUE
    SELECT k, 'org ' || k, CASE WHEN k % 3 = 0 THEN NULL ELSE 1 + (k + seed) % 5 END FROM gen_org;

  -- Users: k*100000 + i. Every 7th is deleted and shares its email with a
  -- live one (the partial unique index allows it).
  INSERT INTO users (id, org_id, email, deleted_at)
    SELECT k * 100000 + i, k,
           CASE WHEN i % 7 = 0 THEN 'u' || k || '_' || (i - 1) ELSE 'u' || k || '_' || i END
             || '@example.test',
           CASE WHEN i % 7 = 0 THEN timestamptz '2024-01-01 00:00+00' + (i + seed) * interval '1 hour' END
    FROM gen_org, generate_series(1, 5 * m) i;

  -- Projects: k*100000 + j; project 1 of each organization is owned by the
  -- first user of the next organization (a guest who owns work elsewhere).
  INSERT INTO projects (id, org_id, name, owner_id)
    SELECT k * 100000 + j, k, 'project ' || j || ' of ' || k,
           CASE WHEN j = 1 THEN (k % orgs + 1) * 100000 + 1 ELSE k * 100000 + 1 + (j + seed) % (5 * m) END
    FROM gen_org, generate_series(1, m) j;
  UPDATE users SET favorite_project_id = org_id * 100000 + 1 + (id % 100000) % (SELECT m FROM gen_org WHERE k = org_id)
    WHERE id % 3 = 0;

  -- Memberships: everyone in their organization, plus the first user of
  -- the next organization as a guest. The counter is set as its trigger
  -- would have set it, in one UPDATE: a row-by-row counter leaves every
  -- organization row with a HOT chain of thousands of dead versions,
  -- which each later FK check onto organizations then walks.
  ALTER TABLE memberships DISABLE TRIGGER memberships_count;
  INSERT INTO memberships (org_id, user_id, role)
    SELECT org_id, id, 'member' FROM users ORDER BY id;
  INSERT INTO memberships (org_id, user_id, role)
    SELECT k, (k % orgs + 1) * 100000 + 1, 'guest' FROM gen_org WHERE orgs > 1 ORDER BY k;
  ALTER TABLE memberships ENABLE TRIGGER memberships_count;
  UPDATE organizations o SET member_count = c.n
    FROM (SELECT org_id, count(*) AS n FROM memberships GROUP BY org_id) c WHERE c.org_id = o.id;

  -- Tasks: 40 per project, each the child of the next one (parents have
  -- higher ids); chains of 20, but one unbroken chain in project 1. Every
  -- 10th is assigned to the guest.
  INSERT INTO tasks (id, project_id, parent_id, assignee_id, qty, price, title)
    SELECT p.id * 100 + t, p.id,
           CASE WHEN t < 40 AND (p.id % 100000 = 1 OR t % 20 <> 0) THEN p.id * 100 + t + 1 END,
           CASE WHEN t % 10 = 0 THEN ((p.org_id % orgs) + 1) * 100000 + 1
                WHEN t % 4 = 0 THEN NULL
                ELSE p.org_id * 100000 + 1 + (t + seed) % 5 END,
           1 + (t * 7 + seed) % 13, ((t * 37 + seed) % 10000) / 100.0,
           'task ' || t || ' ' || repeat(md5((p.id * 100 + t + seed)::text), 2)
    FROM projects p, generate_series(1, 40) t;

  -- Sprints and milestones: a NOT NULL cycle that only DEFERRABLE allows.
  INSERT INTO sprints (id, project_id, first_milestone_id)
    SELECT p.id * 10 + s, p.id, (p.id * 10 + s) * 10 + 1 FROM projects p, generate_series(1, 2) s;
  INSERT INTO milestones (id, sprint_id, name)
    SELECT s.id * 10 + n, s.id, 'milestone ' || n FROM sprints s, generate_series(1, 2) n;

  -- Audit events: no key; every 5th is written twice, exactly.
  INSERT INTO audit_events (org_id, kind, detail)
    SELECT k, 'event', 'event ' || e || ' of ' || k FROM gen_org, generate_series(1, 20 * m) e,
           generate_series(1, CASE WHEN e % 5 = 0 THEN 2 ELSE 1 END) twice;

  -- Notes with the values COPY text must carry intact.
  INSERT INTO notes (id, org_id, body, tags, doc, happened_at, due, blob)
    SELECT k * 100000 + n, k,
           CASE n % 6 WHEN 0 THEN E'tab\there' WHEN 1 THEN E'line\nbreak\r\n' WHEN 2 THEN E'back\\slash\\'
                      WHEN 3 THEN '\N' WHEN 4 THEN NULL ELSE 'note ' || n || repeat(' words', 10) END,
           CASE n % 4 WHEN 0 THEN ARRAY['a', NULL, E'q"u\\o,te'] WHEN 1 THEN '{}'::text[]
                      WHEN 2 THEN NULL ELSE ARRAY['NULL', ''] END,
           CASE n % 4 WHEN 0 THEN 'null'::jsonb WHEN 1 THEN NULL
                      WHEN 2 THEN jsonb_build_object('k', E'v\n\t\\', 'n', n) ELSE '[null, 1.5e300]' END,
           CASE n % 5 WHEN 0 THEN 'infinity'::timestamptz WHEN 1 THEN '-infinity'::timestamptz
                      ELSE timestamptz '2020-02-29 12:34:56.789+00' + (n + seed) * interval '1 minute' END,
           CASE n % 3 WHEN 0 THEN 'infinity'::date WHEN 1 THEN '-infinity'::date ELSE date '2024-02-29' END,
           CASE n % 3 WHEN 0 THEN '\x005c0a09ff'::bytea WHEN 1 THEN NULL ELSE decode(md5(n::text), 'hex') END
    FROM gen_org, generate_series(1, 10 * m) n;

  -- Files keyed by bytes (zero bytes, backslashes, newlines among them).
  INSERT INTO files (key, org_id, name)
    SELECT '\x005c0a'::bytea || decode(md5(k || '/' || f || '/' || seed), 'hex'), k, 'file ' || f
    FROM gen_org, generate_series(1, 5 * m) f;
  INSERT INTO file_links (id, file_key, note_id)
    SELECT row_number() OVER (ORDER BY f.key), f.key,
           CASE WHEN get_byte(f.key, 3) % 4 = 0 THEN NULL ELSE f.org_id * 100000 + 1 END
    FROM files f;

  -- Billing: a composite FK onto a UNIQUE key, a tab inside a key value.
  INSERT INTO billing.accounts (id, org_id, code)
    SELECT k * 10 + a, k, CASE a WHEN 1 THEN 'main' ELSE E'e\tx' END FROM gen_org, generate_series(1, 2) a;
  INSERT INTO billing.invoices (number, org_id, account_code, amount)
    SELECT k * 100000 + i, k, CASE WHEN i % 2 = 0 THEN 'main' ELSE E'e\tx' END, (i * 13 + seed) % 100000 / 100.0
    FROM gen_org, generate_series(1, 10 * m) i;

  -- Teams and their leads: a cycle only replica mode (or dropping an FK)
  -- loads. Team 1's second lead is a guest from the next organization.
  PERFORM set_config('session_replication_role', 'replica', true);
  INSERT INTO teams (id, org_id, lead_id)
    SELECT k * 100 + t, k, (k * 100 + t) * 10 + 1 FROM gen_org, generate_series(1, 2) t;
  INSERT INTO team_leads (id, team_id, user_id)
    SELECT tm.id * 10 + l, tm.id,
           CASE WHEN l = 2 AND tm.id % 100 = 1 THEN (tm.org_id % orgs + 1) * 100000 + 1
                ELSE tm.org_id * 100000 + l END
    FROM teams tm, generate_series(1, 2) l;
  PERFORM set_config('session_replication_role', 'origin', true);

  -- Events in both partitions; every user reads one event of their own
  -- organization and the guest one of the next organization's.
  ALTER TABLE events DISABLE TRIGGER events_mark;
  INSERT INTO events (id, at, org_id, kind)
    SELECT k * 100000 + e, date '2023-12-01' + (e % 60), k, 'event ' || e
    FROM gen_org, generate_series(1, 10 * m) e;
  ALTER TABLE events ENABLE TRIGGER events_mark;
  ALTER TABLE events_old DISABLE TRIGGER events_mark;
  INSERT INTO event_reads (event_id, event_at, user_id)
    SELECT ev.id, ev.at, u.id FROM users u
    JOIN events ev ON ev.id = u.org_id * 100000 + 1 + u.id % (10 * (SELECT m FROM gen_org WHERE k = u.org_id));
  INSERT INTO event_reads (event_id, event_at, user_id)
    SELECT ev.id, ev.at, (k % orgs + 1) * 100000 + 1 FROM gen_org
    JOIN events ev ON ev.id = k * 100000 + 2 WHERE orgs > 1;

  INSERT INTO unrelated (v) SELECT 'row ' || i FROM generate_series(1, 10) i;
END $fn$;
