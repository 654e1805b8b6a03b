import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { WORKER_TYPES } from '../../../src/contracts';
import { SEARCH_ATTRIBUTES } from '../../../src/contracts/search-attributes';
import { workerCommand } from '../../../src/cli/worker';

/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: the structure with the yaml
 * package, and `docker compose config -q` too when a Compose v2 client is installed (it needs no engine).
 */

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const COMPOSE_FILE = path.join(REPO, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test?: string[] | string };
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: unknown; resources?: { reservations?: { devices?: Array<{ driver?: string; capabilities?: string[]; count?: unknown }> } } };
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
const services = compose.services;
const ONE_SHOT = ['temporal-schema', 'temporal-setup'];
const WORKERS = ['orchestrator', 'inference', 'inference-gpu', 'scoring'];

/** What Compose makes of `${VAR:-default}` with an empty environment. */
function withDefaults(text: string): string {
  return text.replace(/\$\$/g, '\u0000').replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _v: string, d?: string) => d ?? '').replace(/\u0000/g, '$');
}

function commandOf(s: Service): string[] {
  const c = s.command ?? [];
  return (Array.isArray(c) ? c : [c]).map((part) => withDefaults(String(part)));
}

describe('docker-compose.yml', () => {
  it('has the Temporal server on PostgreSQL, its setup, the Web UI, MongoDB and the evalctl workers', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'mongo', ...ONE_SHOT, ...WORKERS]) assert.ok(services[name], `service ${name}`);
    assert.match(String(services.temporal.image), /^temporalio\/server:/);
    assert.match(String(services['temporal-ui'].image), /^temporalio\/ui:/);
    assert.equal(services.temporal.environment?.DB, 'postgres12');
    assert.equal(services.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
    assert.equal(services.temporal.depends_on?.['temporal-schema']?.condition, 'service_completed_successfully');
  });

  it('pins every image to a version, never latest', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image, `${name} names its image`);
      const image = withDefaults(s.image);
      const tag = image.split(':')[1] ?? '';
      assert.match(tag, /^\d+(\.\d+)+(-[a-z0-9.-]+)?$/, `${name}: ${image} is pinned by version`);
    }
    const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    for (const name of WORKERS) assert.equal(withDefaults(String(services[name].image)).split(':')[1], version, `${name} is tagged with the package version`);
  });

  it('health-checks every long-running service, and workers wait for a healthy, set-up stack', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT.includes(name) || s.profiles?.includes('cli')) continue;
      assert.ok(s.healthcheck?.test, `${name} has a health check`);
    }
    for (const name of WORKERS) {
      assert.equal(services[name].depends_on?.['temporal-setup']?.condition, 'service_completed_successfully', name);
      assert.equal(services[name].depends_on?.mongo?.condition, 'service_healthy', name);
      assert.ok(commandOf(services[name]).join(' ').includes('--metrics-port 9464'), `${name} serves the /healthz its health check asks`);
    }
  });

  it('keeps data in named volumes', () => {
    for (const [name, target] of [['postgresql', '/var/lib/postgresql/data'], ['mongo', '/data/db']]) {
      const mount = services[name].volumes?.find((v) => v.endsWith(`:${target}`));
      assert.ok(mount, `${name} mounts ${target}`);
      const volume = mount.split(':')[0];
      assert.ok(volume in compose.volumes, `${name} uses the named volume ${volume}`);
    }
  });

  it('takes every setting from the environment, with working defaults', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8');
    for (const name of ['TEMPORAL_VERSION', 'TEMPORAL_UI_VERSION', 'POSTGRES_VERSION', 'MONGO_VERSION', 'POSTGRES_PASSWORD', 'TEMPORAL_NAMESPACE', 'EVALCTL_MONGO_URL', 'EVALCTL_INFERENCE_SLOTS', 'EVALCTL_GPUS', 'EVALCTL_GPU_TYPE', 'TEMPORAL_UI_PORT']) {
      assert.match(text, new RegExp(`\\$\\{${name}:-[^}]+\\}`), `${name} sets something and has a default`);
    }
    for (const name of WORKERS) {
      const env = services[name].environment ?? {};
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233', name);
      assert.equal(withDefaults(String(env.EVALCTL_MONGO_URL)), 'mongodb://mongo:27017/evalctl', name);
      assert.match(String(env.TEMPORAL_NAMESPACE), /^\$\{TEMPORAL_NAMESPACE:-default\}$/, name);
    }
    for (const [name, port] of Object.entries({ temporal: 'TEMPORAL_PORT', 'temporal-ui': 'TEMPORAL_UI_PORT', mongo: 'MONGO_PORT' })) {
      assert.ok(services[name].ports?.every((p) => p.includes(`\${${port}:-`)), `${name} publishes its port through ${port}`);
    }
  });

  it('registers every evalctl search attribute in the one-shot setup service', () => {
    const script = commandOf(services['temporal-setup']).join('\n');
    assert.match(script, /temporal operator search-attribute create/);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      assert.ok(script.includes(name), `registers ${name}`);
      assert.equal(type, 'Keyword');
    }
    assert.match(script, /--type Keyword/);
    assert.match(script, /namespace create/);
  });

  it('runs workers with commands the evalctl CLI accepts, and reserves GPUs for the GPU example', () => {
    const flags = new Set(workerCommand().options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))));
    for (const name of WORKERS) {
      const [cmd, type, ...rest] = commandOf(services[name]);
      assert.equal(cmd, 'worker', name);
      assert.ok((WORKER_TYPES as readonly string[]).includes(type), `${name}: ${type} is a worker type`);
      for (const arg of rest.filter((a) => a.startsWith('-'))) assert.ok(flags.has(arg), `${name}: evalctl worker takes ${arg}`);
    }
    const gpu = services['inference-gpu'];
    assert.deepEqual(gpu.profiles, ['gpu'], 'the GPU worker is opt-in');
    const device = gpu.deploy?.resources?.reservations?.devices?.[0];
    assert.equal(device?.driver, 'nvidia');
    assert.deepEqual(device?.capabilities, ['gpu']);
    assert.ok(commandOf(gpu).includes('--gpus') && commandOf(gpu).includes('--gpu-type'));
  });

  it('passes `docker compose config -q` when a Compose v2 client is installed', (t) => {
    // `docker compose` (the v2 plugin) or a standalone v2 binary named by EVALCTL_DOCKER_COMPOSE; neither needs an engine.
    const standalone = process.env.EVALCTL_DOCKER_COMPOSE;
    const [bin, pre] = standalone ? [standalone, []] : ['docker', ['compose']];
    const probe = spawnSync(bin, [...pre, 'version'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      t.diagnostic('no Docker Compose v2 client here (`docker compose version` failed): the structure checks above stand in for it');
      return;
    }
    const args = [...pre, '-f', COMPOSE_FILE, '--profile', 'gpu', '--profile', 'cli', 'config', '-q'];
    const res = spawnSync(bin, args, { encoding: 'utf8', cwd: REPO, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    assert.equal(res.status, 0, res.stderr);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');

  it('builds from a pinned Node image and runs the evalctl CLI', () => {
    const version = /^ARG NODE_VERSION=(\S+)$/m.exec(text)?.[1];
    assert.match(String(version), /^\d+\.\d+\.\d+$/);
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.ok(froms.length >= 2 && froms.every((f) => f === 'node:${NODE_VERSION}-bookworm-slim'), froms.join(', '));
    assert.match(text, /npm ci/);
    assert.match(text, /bundle-workflows\.js/);
    assert.match(text, /ENTRYPOINT \["node", "\/app\/bin\/evalctl\.js"\]/);
    assert.match(text, /^USER node$/m);
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignore = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.git', '.env']) assert.ok(ignore.includes(entry), entry);
  });
});
