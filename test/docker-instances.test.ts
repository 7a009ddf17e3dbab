// docker/compose.yaml's "instances" profile (a PostgreSQL, two keapgres instances sharing it, HAProxy in
// front) and docker/haproxy.cfg, checked without a Docker engine: the compose file as Compose reads it
// (YAML with merge keys, variable interpolation, profiles and their dependencies), each instance's
// environment through keapgres's own configuration loader, and the HAProxy configuration by its
// sections and keywords — and by `haproxy -c` where HAProxy is installed. The README's Kubernetes
// manifests are parsed too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { loadServerConfig } from '../src/config/server-config.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dockerDir = path.join(root, 'docker');
const PROFILE = 'instances';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
}

function compose(): { services: Record<string, Service>; volumes: Record<string, unknown> } {
  // Compose reads YAML 1.2 with merge keys (<<) and refuses duplicate keys
  return YAML.parse(readFileSync(path.join(dockerDir, 'compose.yaml'), 'utf8'), { merge: true, uniqueKeys: true });
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}. */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string | undefined) => {
    const v = env[name];
    const unset = op?.startsWith(':') ? v === undefined || v === '' : v === undefined;
    if (!op || !unset) return v ?? '';
    if (op.endsWith('?')) throw new Error(`required variable ${name} is missing: ${arg}`);
    return arg ?? '';
  });
}

/** Every ${…} in the file is one Compose understands (a typo such as ${VAR:=x} would be taken literally). */
function interpolations(text: string): string[] {
  return [...text.matchAll(/\$\{[^}]*\}?/g)].map((m) => m[0]);
}

const inProfile = (s: Service) => s.profiles?.includes(PROFILE) ?? false;

test('the default services are unchanged: keapgres beside Metabase, with no profile, needing only KEAPGRES_PASSWORD', () => {
  const { services, volumes } = compose();
  const defaults = Object.entries(services).filter(([, s]) => !s.profiles?.length).map(([n]) => n).sort();
  assert.deepEqual(defaults, ['keapgres', 'metabase']);
  const k = services.keapgres!;
  assert.deepEqual(k.build, { context: '..', dockerfile: 'docker/Dockerfile' });
  assert.equal(k.image, 'keapgres:latest');
  assert.deepEqual(k.ports, ['${KEAPGRES_PUBLISH:-127.0.0.1:5433}:5433']);
  assert.deepEqual(k.volumes, ['keapgres-data:/data']);
  assert.deepEqual(Object.keys(k.environment ?? {}), ['KEAPGRES_USER', 'KEAPGRES_PASSWORD', 'KEAPGRES_CONNECTION', 'KEAPGRES_LOG_LEVEL']);
  assert.deepEqual(services.metabase!.depends_on, { keapgres: { condition: 'service_healthy' } });
  assert.ok('keapgres-data' in volumes && 'metabase-data' in volumes);
  // Compose interpolates the whole file, profiles off or on: with only KEAPGRES_PASSWORD set, nothing may be required
  const text = readFileSync(path.join(dockerDir, 'compose.yaml'), 'utf8');
  assert.doesNotThrow(() => interpolate(text.replace(/^\s*#.*$/gm, ''), { KEAPGRES_PASSWORD: 'pw' }));
  assert.throws(() => interpolate(text.replace(/^\s*#.*$/gm, ''), {}), /KEAPGRES_PASSWORD/);
  for (const i of interpolations(text.replace(/^\s*#.*$/gm, ''))) assert.match(i, /^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?])[^}]*)?\}$/, `${i} is not Compose interpolation`);
});

test(`the "${PROFILE}" profile: a PostgreSQL, two keapgres instances sharing it, HAProxy in front`, () => {
  const { services, volumes } = compose();
  const names = Object.entries(services).filter(([, s]) => inProfile(s)).map(([n]) => n).sort();
  assert.deepEqual(names, ['keapgres-1', 'keapgres-2', 'keapgres-lb', 'shared-postgres']);
  for (const n of names) {
    // Compose refuses a dependency outside the active profiles; a default service pulled in would start Metabase too
    for (const dep of Object.keys(services[n]!.depends_on ?? {})) {
      assert.ok(services[dep], `${n} depends on ${dep}, which does not exist`);
      assert.ok(inProfile(services[dep]!), `${n} depends on ${dep}, which is not in the profile`);
    }
    for (const v of services[n]!.volumes ?? []) {
      const source = v.split(':')[0]!;
      if (source.startsWith('.')) assert.ok(existsSync(path.join(dockerDir, source)), `${n} mounts ${source}, which is missing`);
      else if (!source.startsWith('/')) assert.ok(source in volumes, `${n} uses volume ${source}, which is not declared`);
    }
  }

  const db = services['shared-postgres']!;
  assert.match(db.image ?? '', /^postgres:\d+/, 'the official postgres image');
  assert.deepEqual(db.healthcheck?.test, ['CMD-SHELL', 'pg_isready -U keapgres -d keapgres']);

  const lb = services['keapgres-lb']!;
  assert.match(lb.image ?? '', /^haproxy:/, 'the official haproxy image');
  assert.ok(lb.volumes?.includes('./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'), 'the configuration where the image reads it');
  assert.deepEqual(lb.depends_on, { 'keapgres-1': { condition: 'service_healthy' }, 'keapgres-2': { condition: 'service_healthy' } });
  assert.deepEqual(lb.ports, ['${KEAPGRES_LB_PUBLISH:-127.0.0.1:5434}:5433']);

  for (const n of ['keapgres-1', 'keapgres-2']) {
    const s = services[n]!;
    assert.deepEqual(s.build, services.keapgres!.build, `${n} runs the same image`);
    assert.equal(s.image, 'keapgres:latest');
    assert.equal(s.ports, undefined, `${n} is reached through keapgres-lb only`);
    assert.deepEqual(s.depends_on, { 'shared-postgres': { condition: 'service_healthy' } });
  }
});

test('each instance\'s environment, as keapgres reads it, shares the PostgreSQL and advertises its own name for cancel forwarding', () => {
  const { services } = compose();
  const db = services['shared-postgres']!.environment!;
  const outside = { KEAPGRES_PASSWORD: 'client-pw', KEAPGRES_SHARED_PASSWORD: 'shared-pw' };
  for (const n of ['keapgres-1', 'keapgres-2']) {
    const env: Record<string, string> = {
      // docker/Dockerfile's ENV
      KEAPGRES_HOST: '0.0.0.0', KEAPGRES_PORT: '5433',
      ...Object.fromEntries(Object.entries(services[n]!.environment!).map(([k, v]) => [k, interpolate(String(v), outside)])),
    };
    const config = loadServerConfig({ env });
    const url = new URL(config.cacheConnection ?? '');
    assert.equal(url.hostname, 'shared-postgres');
    assert.equal(url.port, '5432');
    assert.equal(decodeURIComponent(url.username), interpolate(db.POSTGRES_USER!, outside));
    assert.equal(decodeURIComponent(url.password), interpolate(db.POSTGRES_PASSWORD!, outside));
    assert.equal(url.pathname, `/${interpolate(db.POSTGRES_DB!, outside)}`);
    assert.deepEqual(config.advertiseAddress, { host: n, port: 5433 });
    assert.equal(config.port, 5433);
    assert.deepEqual(config.users.map((u) => u.name), ['metabase']);
  }
});

interface HaproxySection { kind: string; name: string; lines: Array<{ n: number; words: string[] }> }

function haproxySections(text: string): HaproxySection[] {
  const sections: HaproxySection[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const words = line.split(/\s+/);
    if (!/^\s/.test(raw)) {
      assert.ok(['global', 'defaults', 'frontend', 'backend', 'listen', 'resolvers'].includes(words[0]!), `line ${i + 1}: "${words[0]}" is not a section`);
      sections.push({ kind: words[0]!, name: words[1] ?? '', lines: [] });
      return;
    }
    assert.ok(sections.length, `line ${i + 1} is outside any section`);
    sections.at(-1)!.lines.push({ n: i + 1, words });
  });
  return sections;
}

/** The keywords this file may use in each section (HAProxy 2.6 to 3.x), so that a typo fails here. */
const KEYWORDS: Record<string, string[]> = {
  global: ['log', 'maxconn', 'user', 'group', 'daemon', 'stats'],
  resolvers: ['nameserver', 'hold', 'resolve_retries', 'timeout', 'accepted_payload_size', 'parse-resolv-conf'],
  defaults: ['mode', 'log', 'option', 'timeout', 'retries', 'maxconn'],
  frontend: ['bind', 'default_backend', 'mode', 'option', 'timeout', 'maxconn'],
  backend: ['balance', 'option', 'default-server', 'server', 'server-template', 'mode', 'timeout', 'tcp-check'],
};
const OPTIONS = ['tcplog', 'clitcpka', 'srvtcpka', 'pgsql-check', 'tcp-check', 'redispatch', 'dontlognull', 'log-health-checks'];

test('docker/haproxy.cfg: a TCP balancer on the published port over exactly the profile\'s keapgres instances', async (t) => {
  const file = path.join(dockerDir, 'haproxy.cfg');
  const sections = haproxySections(readFileSync(file, 'utf8'));
  for (const s of sections) {
    for (const { n, words } of s.lines) {
      assert.ok(KEYWORDS[s.kind]?.includes(words[0]!), `line ${n}: "${words[0]}" is not a keyword of ${s.kind}`);
      if (words[0] === 'option') assert.ok(OPTIONS.includes(words[1]!), `line ${n}: unknown option ${words[1]}`);
      if (words[0] === 'timeout') assert.match(words[2] ?? '', /^\d+(us|ms|s|m|h|d)?$/, `line ${n}: a timeout needs a value`);
    }
  }
  const one = (kind: string) => {
    const found = sections.filter((s) => s.kind === kind);
    assert.equal(found.length, 1, `one ${kind} section`);
    return found[0]!;
  };
  const words = (s: HaproxySection, key: string) => s.lines.filter((l) => l.words[0] === key).map((l) => l.words.slice(1));
  // the PostgreSQL protocol is not HTTP: everything in TCP mode
  assert.deepEqual(words(one('defaults'), 'mode'), [['tcp']]);
  const frontend = one('frontend');
  assert.deepEqual(words(frontend, 'bind'), [[':5433']], 'bound on the port keapgres-lb publishes');
  const backend = one('backend');
  assert.deepEqual(words(frontend, 'default_backend'), [[backend.name]]);
  assert.deepEqual(words(backend, 'option'), [['pgsql-check', 'user', 'haproxy']], 'health checks speak the PostgreSQL startup');
  const resolvers = words(backend, 'default-server')[0] ?? [];
  const named = resolvers[resolvers.indexOf('resolvers') + 1];
  assert.ok(sections.some((s) => s.kind === 'resolvers' && s.name === named), `resolvers ${named} is defined`);
  const { services } = compose();
  const instances = Object.keys(services).filter((n) => /^keapgres-\d+$/.test(n)).sort();
  assert.deepEqual(words(backend, 'server').map((w) => [w[0], w[1], w[2]]), instances.map((n) => [n, `${n}:5433`, 'check']));

  let haproxy: string | undefined;
  try {
    haproxy = execFileSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    haproxy = undefined;
  }
  if (!haproxy) {
    t.diagnostic('haproxy is not installed: its own check (haproxy -c) skipped');
    return;
  }
  // the servers' names resolve only inside the compose network: those warnings, and no others
  const r = await promisify(execFile)(haproxy, ['-c', '-f', file]).catch((e: { code: number; stdout: string; stderr: string }) => e);
  const output = `${r.stdout}${r.stderr}`;
  assert.match(output, /Configuration file is valid/, output);
  for (const line of output.split('\n').filter((l) => /WARNING|ALERT/.test(l))) assert.match(line, /could not resolve address 'keapgres-\d+'/, line);
});

test('the README\'s Kubernetes manifests: a Deployment of N replicas, a Service, CacheConnection from a Secret, the pod IP advertised', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Several instances'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'a yaml block in "Several instances"');
  const docs = YAML.parseAllDocuments(block).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, any>; stringData?: Record<string, string>; data?: Record<string, string> };
  });
  assert.deepEqual(docs.map((d) => d.kind).sort(), ['Deployment', 'Secret', 'Service']);
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const service = docs.find((d) => d.kind === 'Service')!;
  const secret = docs.find((d) => d.kind === 'Secret')!;
  assert.ok(deployment.spec.replicas >= 2);
  const container = deployment.spec.template.spec.containers[0];
  const env = Object.fromEntries((container.env as Array<{ name: string; value?: string; valueFrom?: any }>).map((e) => [e.name, e]));
  assert.equal(env.KEAPGRES_CACHE_CONNECTION.valueFrom.secretKeyRef.name, secret.metadata.name);
  assert.ok(Object.keys({ ...secret.stringData, ...secret.data }).includes(env.KEAPGRES_CACHE_CONNECTION.valueFrom.secretKeyRef.key));
  assert.equal(env.KEAPGRES_ADVERTISE_ADDRESS.valueFrom.fieldRef.fieldPath, 'status.podIP');
  assert.equal(service.spec.selector.app, deployment.spec.template.metadata.labels.app);
  assert.equal(service.spec.ports[0].targetPort, container.ports[0].containerPort);
});
