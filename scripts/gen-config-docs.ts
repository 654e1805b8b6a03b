/**
 * Writes docs/configuration.md from the zod schemas (assignment, model, task and worker fleet configs), so
 * the reference can never disagree with what the loader accepts. `--check` exits 1 when the file is stale;
 * test/unit/docs/config-docs.test.ts fails the same way. Run: node dist/scripts/gen-config-docs.js [--check]
 */
import { writeOrCheck } from './generated-file';
import * as path from 'node:path';
import { z } from 'zod';
import { AgentTaskConfigSchema, ModelConfigSchema, PromptTaskConfigSchema, RawAssignmentConfigSchema } from '../src/config/schema';
import { CONNECTION_DEFAULTS, CONNECTION_ENV } from '../src/config/connection';
import { FleetConfigSchema } from '../src/worker/fleet-config';

/** Where the generated reference lives, from the repository root. */
export const CONFIG_DOCS_PATH = path.join('docs', 'configuration.md');

/** The part of JSON Schema that zod emits and this renderer reads. */
interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  minLength?: number;
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** A documented root: a file kind with its own section that other sections link to. */
interface Root {
  title: string;
  anchor: string;
  intro: string;
  schema: JsonSchema;
}

const SLUG = '^[a-z0-9][a-z0-9._-]{0,63}$';
const ENV_REF = '^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$';

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema & { $schema?: string };
  return rest;
}

function sameSchema(a: JsonSchema, b: JsonSchema): boolean {
  const strip = (s: JsonSchema): string => JSON.stringify({ ...s, description: undefined });
  return strip(a) === strip(b);
}

/** Markdown table cells may not hold raw pipes or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function isObject(s: JsonSchema): boolean {
  return s.type === 'object' && s.properties !== undefined;
}

function variants(s: JsonSchema): JsonSchema[] {
  return s.oneOf ?? s.anyOf ?? [];
}

function kindOf(s: JsonSchema): string | undefined {
  const k = s.properties?.kind?.const ?? s.properties?.distribution?.const;
  return typeof k === 'string' ? k : undefined;
}

class Renderer {
  private readonly out: string[] = [];

  constructor(private readonly roots: Root[]) {}

  /** The root a schema is, if it is one (so it is linked rather than repeated). */
  private rootOf(s: JsonSchema, self: Root): Root | undefined {
    return this.roots.find((r) => r !== self && sameSchema(r.schema, s));
  }

  private bound(s: JsonSchema): string {
    const parts: string[] = [];
    // zod states JavaScript's safe-integer range on every integer; it says nothing to a reader.
    if (s.minimum === -Number.MAX_SAFE_INTEGER) return this.bound({ ...s, minimum: undefined });
    if (s.maximum === Number.MAX_SAFE_INTEGER) return this.bound({ ...s, maximum: undefined });
    if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
    if (s.minimum !== undefined) parts.push(`>= ${s.minimum}`);
    if (s.maximum !== undefined) parts.push(`<= ${s.maximum}`);
    return parts.length ? ` ${parts.join(', ')}` : '';
  }

  /** A short type expression for the table's type column. */
  typeOf(s: JsonSchema, self: Root): string {
    const root = this.rootOf(s, self);
    if (root) return `[${root.title.toLowerCase()}](#${root.anchor})`;
    if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
    if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
    if (s.anyOf || s.oneOf) return variants(s).map((v) => (isObject(v) && kindOf(v) ? `object (${kindOf(v)})` : this.typeOf(v, self))).join(' \\| ');
    if (s.type === 'array') return `list of ${s.items ? this.typeOf(s.items, self) : 'any'}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
    if (s.type === 'object') {
      if (s.properties) return 'object';
      return typeof s.additionalProperties === 'object' ? `map of string to ${this.typeOf(s.additionalProperties, self)}` : 'object';
    }
    if (s.type === 'string') {
      if (s.pattern === SLUG) return 'slug';
      if (s.pattern === ENV_REF) return '`${NAME}` reference';
      if (s.format === 'uri') return 'URL';
      return `string${s.minLength ? ' (not empty)' : ''}`;
    }
    if (s.type === 'integer' || s.type === 'number') return `${s.type}${this.bound(s)}`;
    if (typeof s.type === 'string') return s.type;
    return 'any';
  }

  /** Objects reachable from a property that deserve their own table, with the label of that table. */
  private children(name: string, s: JsonSchema, self: Root): Array<[string, JsonSchema]> {
    if (this.rootOf(s, self)) return [];
    if (isObject(s)) return [[name, s]];
    if (s.type === 'array' && s.items) return this.children(`${name}[]`, s.items, self);
    const objects = variants(s).filter((v) => !this.rootOf(v, self) && (isObject(v) || v.type === 'array' || variants(v).length > 0));
    return objects.flatMap((v) => {
      const kind = kindOf(v);
      return this.children(kind ? `${name} (${v.properties?.kind ? 'kind' : 'distribution'}: ${kind})` : name, v, self);
    });
  }

  private table(label: string, s: JsonSchema, self: Root): void {
    // The root table sits right under its section heading; nested objects get a heading of their own.
    if (label !== self.title) this.out.push(`### \`${label}\``, '');
    if (s.description) this.out.push(`${s.description}`, '');
    this.out.push('| field | type | required | default | description |', '|---|---|---|---|---|');
    const nested: Array<[string, JsonSchema]> = [];
    for (const [key, prop] of Object.entries(s.properties ?? {})) {
      const required = (s.required ?? []).includes(key) && prop.default === undefined ? 'yes' : '';
      const def = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
      const desc = prop.description ?? variants(prop).find((v) => v.description)?.description ?? '';
      this.out.push(`| \`${key}\` | ${this.typeOf(prop, self)} | ${required} | ${cell(def)} | ${cell(desc)} |`);
      nested.push(...this.children(label === self.title ? key : `${label}.${key}`.replace(/ \([^)]*\)\./g, '.'), prop, self));
    }
    this.out.push('');
    for (const [childLabel, child] of nested) this.table(childLabel, child, self);
  }

  /** Renders every root: its intro, then one table per object, depth first. */
  render(): string {
    for (const root of this.roots) {
      this.out.push(`## ${root.title}`, '', root.intro, '');
      this.table(root.title, root.schema, root);
    }
    return this.out.join('\n');
  }
}

function connectionTable(): string {
  const rows = (Object.keys(CONNECTION_ENV) as Array<keyof typeof CONNECTION_ENV>).map((k) => {
    const flag = { temporalAddress: '--address', temporalNamespace: '--namespace', mongoUrl: '--mongo-url' }[k];
    return `| \`${CONNECTION_ENV[k]}\` | \`${flag}\` | \`${CONNECTION_DEFAULTS[k]}\` |`;
  });
  return ['| variable | flag | default |', '|---|---|---|', ...rows].join('\n');
}

/** The whole reference as Markdown; deterministic, so the staleness check can compare bytes. */
export function renderConfigDocs(): string {
  const roots: Root[] = [
    {
      title: 'Assignment', anchor: 'assignment', schema: jsonSchemaOf(RawAssignmentConfigSchema),
      intro: 'The file given to `evalctl start` and `evalctl validate`: models x tasks and how to run them. Models and tasks are written inline or named: a name `foo` is read from `configs/models/foo.yaml` or `configs/tasks/foo.yaml` next to the config.',
    },
    {
      title: 'Model', anchor: 'model', schema: jsonSchemaOf(ModelConfigSchema),
      intro: 'A model under evaluation, inline in `models:` or in its own file `configs/models/<name>.yaml`. Its provider (never its secrets) and generation parameters are part of every sample key: change one and every sample is a new request, while `concurrency`, `rateLimit`, `timeoutMs` and `pricing` can change freely.',
    },
    {
      title: 'Task', anchor: 'task', schema: jsonSchemaOf(PromptTaskConfigSchema),
      intro: 'A task: a dataset, a prompt template and a scorer, inline in `tasks:` or in `configs/tasks/<name>.yaml`.',
    },
    {
      title: 'Agent task', anchor: 'agent-task', schema: jsonSchemaOf(AgentTaskConfigSchema),
      intro: 'A task of `kind: agent`: multi-turn episodes against an environment served by task workers (`evalctl worker task <environment.name>`), instead of one prompt and one answer. See configs/agent-demo.yaml.',
    },
    {
      title: 'Worker fleet', anchor: 'worker-fleet', schema: jsonSchemaOf(FleetConfigSchema),
      intro: 'The file given to `evalctl workers start -c` and `evalctl workers list -c` (see `configs/workers.yaml`): groups of identical workers on one host.',
    },
  ];
  const header = [
    '# Configuration reference',
    '',
    '<!-- Generated by scripts/gen-config-docs.ts from the zod schemas: do not edit; run `npm run docs`. -->',
    '',
    'Every config file is YAML, checked against these schemas before anything runs (`evalctl validate <file>`).',
    'Unknown keys are errors that name their path; defaults are filled in here, in the schema. Secrets are',
    'never written into a config: fields that take them accept only `${NAME}` references, resolved from the',
    "worker's environment when a call is made. An editor can validate as you type with",
    '`# yaml-language-server: $schema=<path>/configs/assignment.schema.json` on the first line.',
    '',
    'A `slug` is 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit.',
    '',
    '## Connection settings',
    '',
    'Where the CLI and workers find their servers: a flag beats its variable, which beats the default.',
    '',
    connectionTable(),
    '',
  ];
  return `${[...header, new Renderer(roots).render()].join('\n').replace(/\n+$/, '')}\n`;
}

function main(): void {
  writeOrCheck(CONFIG_DOCS_PATH, renderConfigDocs());
}

if (require.main === module) main();
