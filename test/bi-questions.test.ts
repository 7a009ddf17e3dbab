// The questions BI users ask of Keap data, as SQL a dashboard sends, answered by keapgres over the sandbox.
// Each expected answer is computed from the sandbox's own records (server.sandbox.store), never from
// keapgres; then all ten questions run at once, two each on five connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { SandboxStore } from '../src/sandbox/index.js';
import { startTestServer, type TestServer } from './support/keapgres.js';

let server: TestServer;
let store: SandboxStore;

before(async () => {
  server = await startTestServer({ contacts: 300 });
  store = server.sandbox!.store;
});
after(async () => {
  await server.stop();
});

const DAY = 86_400_000;

function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function quarterOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}

/** Monday 00:00 UTC of the week holding `ms` */
function weekStart(ms: number): number {
  const day = Math.floor(ms / DAY) * DAY;
  const weekday = (new Date(day).getUTCDay() + 6) % 7;
  return day - weekday * DAY;
}

function countBy<T>(items: Iterable<T>, key: (t: T) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of items) {
    const k = key(t);
    if (k !== undefined) out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

function sorted(m: Map<string, number | string>): Array<[string, string]> {
  return [...m].map(([k, v]): [string, string] => [k, String(v)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

interface Question {
  name: string;
  sql: string;
  params?: unknown[];
  /** the answer from the sandbox's records, as sorted [key, value] pairs */
  expected(): Array<[string, string]>;
}

/** a day inside the data on which several tasks fall due: "this week" of the dashboard's date filter */
function busyDay(): number {
  const dues = [...store.tasks.scan()].map((t) => t.dueAt).filter((d): d is number => d !== null).sort((a, b) => a - b);
  return dues[Math.floor(dues.length / 2)]!;
}

function tagWithMostContacts(): number {
  const counts = new Map<number, number>();
  for (const c of store.contacts.scan()) for (const t of store.contactTags(c.id)) counts.set(t.tagId, (counts.get(t.tagId) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
}

function questions(): Question[] {
  const today = busyDay();
  const tagId = tagWithMostContacts();
  return [
    {
      name: 'contacts created per month',
      sql: `SELECT to_char(date_trunc('month', create_time), 'YYYY-MM') AS k, count(*) AS v FROM contacts GROUP BY 1 ORDER BY 1`,
      expected: () => sorted(countBy(store.contacts.scan(), (c) => monthOf(c.createdAt))),
    },
    {
      name: 'revenue per product per quarter',
      sql: `SELECT oi.product_id || ' ' || to_char(date_trunc('quarter', o.order_time), 'YYYY-"Q"Q') AS k,
                   round(sum(oi.quantity * oi.price_per_unit) * 100)::bigint AS v
              FROM order_items oi JOIN orders o ON o.id = oi.order_id
             WHERE oi.item_type = 'PRODUCT'
             GROUP BY oi.product_id, date_trunc('quarter', o.order_time)`,
      expected: () => {
        const cents = new Map<string, number>();
        for (const o of store.orders.scan()) {
          for (const i of o.items) {
            if (i.type !== 'PRODUCT') continue;
            const k = `${i.productId} ${quarterOf(o.orderedAt)}`;
            cents.set(k, (cents.get(k) ?? 0) + i.quantity * i.priceCents);
          }
        }
        return sorted(cents);
      },
    },
    {
      name: 'open opportunities by stage and owner',
      sql: `SELECT s.name || ' / ' || o.user_id AS k, count(*) AS v
              FROM opportunities o JOIN opportunity_stages s ON s.id = o.stage_id
             WHERE s.probability BETWEEN 1 AND 99
             GROUP BY s.name, o.user_id`,
      expected: () =>
        sorted(
          countBy(store.opportunities.scan(), (o) => {
            const s = store.stages.get(o.stageId);
            return s && s.probability >= 1 && s.probability <= 99 ? `${s.name} / ${o.userId}` : undefined;
          }),
        ),
    },
    {
      name: 'tasks due this week per user',
      sql: `SELECT assigned_to_user_id::text AS k, count(*) AS v FROM tasks
             WHERE due_time >= date_trunc('week', $1::timestamptz) AND due_time < date_trunc('week', $1::timestamptz) + interval '7 days'
             GROUP BY assigned_to_user_id`,
      params: [new Date(today).toISOString()],
      expected: () => {
        const from = weekStart(today);
        return sorted(countBy(store.tasks.scan(), (t) => (t.dueAt !== null && t.dueAt >= from && t.dueAt < from + 7 * DAY ? String(t.userId) : undefined)));
      },
    },
    {
      name: 'contacts per tag',
      sql: `SELECT t.name || ' #' || t.id AS k, count(ct.contact_id) AS v FROM tags t LEFT JOIN contact_tags ct ON ct.tag_id = t.id GROUP BY t.id, t.name`,
      expected: () => {
        const m = new Map<string, number>();
        for (const t of store.tags.scan()) m.set(`${t.name} #${t.id}`, 0);
        for (const c of store.contacts.scan()) {
          for (const a of store.contactTags(c.id)) {
            const t = store.tags.get(a.tagId)!;
            m.set(`${t.name} #${t.id}`, m.get(`${t.name} #${t.id}`)! + 1);
          }
        }
        return sorted(m);
      },
    },
    {
      name: 'orders of contacts who have a given tag',
      sql: `SELECT o.id::text AS k, round(o.total * 100)::bigint AS v FROM orders o
             WHERE o.contact_id IN (SELECT contact_id FROM contact_tags WHERE tag_id = $1)`,
      params: [tagId],
      expected: () => {
        const tagged = new Set([...store.contacts.scan()].filter((c) => store.contactTags(c.id).some((t) => t.tagId === tagId)).map((c) => c.id));
        return sorted(new Map([...store.orders.scan()].filter((o) => tagged.has(o.contactId)).map((o) => [String(o.id), o.totalCents])));
      },
    },
    {
      name: 'first-order date per contact (a window function)',
      sql: `SELECT contact_id::text AS k, floor(extract(epoch FROM first_order))::bigint AS v FROM (
              SELECT contact_id, first_value(order_time) OVER (PARTITION BY contact_id ORDER BY order_time, id) AS first_order,
                     row_number() OVER (PARTITION BY contact_id ORDER BY order_time, id) AS n
                FROM orders) f
             WHERE n = 1`,
      expected: () => {
        const first = new Map<string, number>();
        for (const o of store.orders.scan()) {
          const k = String(o.contactId);
          first.set(k, Math.min(first.get(k) ?? Infinity, Math.floor(o.orderedAt / 1000)));
        }
        return sorted(first);
      },
    },
    {
      name: 'contacts per owner, owners without contacts included',
      sql: `SELECT u.id::text AS k, count(c.id) AS v FROM users u LEFT JOIN contacts c ON c.owner_id = u.id GROUP BY u.id`,
      expected: () => {
        const m = new Map<string, number>();
        for (const u of store.users.scan()) m.set(String(u.id), 0);
        for (const c of store.contacts.scan()) if (c.ownerId !== null && m.has(String(c.ownerId))) m.set(String(c.ownerId), m.get(String(c.ownerId))! + 1);
        return sorted(m);
      },
    },
    {
      name: 'order revenue per month',
      sql: `SELECT to_char(date_trunc('month', order_time), 'YYYY-MM') AS k, round(sum(total) * 100)::bigint AS v FROM orders GROUP BY 1`,
      expected: () => {
        const m = new Map<string, number>();
        for (const o of store.orders.scan()) m.set(monthOf(o.orderedAt), (m.get(monthOf(o.orderedAt)) ?? 0) + o.totalCents);
        return sorted(m);
      },
    },
    {
      name: 'orders and amount still due by status',
      sql: `SELECT status AS k, count(*) || ' ' || round(sum(total_due) * 100)::bigint AS v FROM orders GROUP BY status`,
      expected: () => {
        const m = new Map<string, [number, number]>();
        for (const o of store.orders.scan()) {
          const [n, due] = m.get(o.status) ?? [0, 0];
          m.set(o.status, [n + 1, due + o.totalCents - o.paidCents]);
        }
        return sorted(new Map([...m].map(([k, [n, due]]) => [k, `${n} ${due}`])));
      },
    },
  ];
}

async function connect(): Promise<pg.Client> {
  const c = new pg.Client(server.clientConfig());
  await c.connect();
  // date_trunc on timestamptz works in the session's time zone; the expectations are in UTC
  await c.query(`SET TimeZone = 'UTC'`);
  return c;
}

async function ask(c: pg.Client, q: Question): Promise<Array<[string, string]>> {
  const r = await c.query<{ k: string; v: string }>(q.sql, q.params);
  return r.rows.map((row): [string, string] => [row.k, String(row.v)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

test('each BI question gets the answer the sandbox records give', async () => {
  const c = await connect();
  try {
    for (const q of questions()) {
      const expected = q.expected();
      assert.ok(expected.length > 0, `${q.name}: the sandbox holds data for the question`);
      assert.deepEqual(await ask(c, q), expected, q.name);
    }
  } finally {
    await c.end();
  }
});

test('ten questions at once from five users, each on its own connection, all answered right', async () => {
  const qs = questions();
  const expected = qs.map((q) => q.expected());
  const users = await Promise.all([0, 1, 2, 3, 4].map(() => connect()));
  try {
    const started = performance.now();
    const answers = await Promise.all(
      users.map(async (c, u) => {
        // user u asks questions u and u + 5, one after the other, as a dashboard's panels do on one connection
        const mine = [qs[u]!, qs[u + 5]!];
        const out: Array<Array<[string, string]>> = [];
        for (const q of mine) out.push(await ask(c, q));
        return out;
      }),
    );
    const ms = performance.now() - started;
    answers.forEach((pair, u) => {
      assert.deepEqual(pair[0], expected[u], qs[u]!.name);
      assert.deepEqual(pair[1], expected[u + 5], qs[u + 5]!.name);
    });
    console.log(`ten BI questions on five connections at once: ${Math.round(ms)} ms`);
  } finally {
    await Promise.all(users.map((c) => c.end()));
  }
});

test('a question inside a read-only transaction, as Metabase runs every query (BEGIN READ ONLY), is answered', async () => {
  const q = questions()[0]!;
  const c = await connect();
  try {
    await c.query('BEGIN READ ONLY');
    assert.deepEqual(await ask(c, q), q.expected(), q.name);
    // still read-only: the transaction the client asked for is the one it has
    await assert.rejects(c.query('CREATE TABLE not_allowed (i int)'), (e: { code?: string }) => e.code === '25006');
    await c.query('ROLLBACK');
  } finally {
    await c.end();
  }
});
