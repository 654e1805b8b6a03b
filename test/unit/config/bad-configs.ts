/**
 * Bad configs and the exact error each must give: `file:line:col path: message`, one line per issue.
 * Files are written to a temp folder that also holds data.jsonl, models/ and tasks/ (see load.test.ts).
 */
export interface BadConfigCase {
  name: string;
  yaml: string;
  /** Extra files (relative path -> text) written next to a.yaml. */
  files?: Record<string, string>;
  expected: string;
}

const MODEL = `models:\n  - id: m\n    provider: {kind: simulated}\n`;
const TASK = `tasks:\n  - id: t\n    dataset: {path: data.jsonl}\n    prompt: "{{q}}"\n`;

export const BAD_CONFIGS: BadConfigCase[] = [
  { name: 'unknown top-level key', yaml: `name: x\nnmae: y\n${MODEL}${TASK}`, expected: "a.yaml:2:1 nmae: unknown key" },
  { name: 'unknown provider kind', yaml: `name: x\nmodels:\n  - id: m\n    provider:\n      kind: openaii\n${TASK}`, expected: "a.yaml:5:13 models[0].provider.kind: expected one of openai, command, simulated" },
  { name: 'missing name', yaml: `${MODEL}${TASK}`, expected: "a.yaml:1:1 name: required" },
  { name: 'empty models', yaml: `name: x\nmodels: []\n${TASK}`, expected: "a.yaml:2:9 models: must have at least 1 item" },
  { name: 'model id not a slug', yaml: `name: x\nmodels:\n  - id: "Bad Id!"\n    provider: {kind: simulated}\n${TASK}`, expected: "a.yaml:3:9 models[0].id: must be a slug (letters, digits, \".\", \"_\", \"-\"; at most 64 characters)" },
  { name: 'unknown key in a model', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated}\n    temprature: 1\n${TASK}`, expected: "a.yaml:5:5 models[0].temprature: unknown key" },
  { name: 'accuracy above 1', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated, accuracy: 1.5}\n${TASK}`, expected: "a.yaml:4:43 models[0].provider.accuracy: must be <= 1" },
  { name: 'openai without model', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: openai}\n${TASK}`, expected: "a.yaml:4:15 models[0].provider.model: required" },
  {
    name: 'literal api key',
    yaml: `name: x\nmodels:\n  - id: m\n    provider:\n      kind: openai\n      model: g\n      apiKey: sk-live-123\n${TASK}`,
    expected: "a.yaml:7:15 models[0].provider.apiKey: must be an environment reference like ${OPENAI_API_KEY}, not a literal secret",
  },
  { name: 'provider batch on a simulated model', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated, batch: {}}\n${TASK}`, expected: "a.yaml:4:33 models[0].provider.batch: unknown key" },
  { name: 'provider batch polled too often', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: openai, model: g, batch: {pollIntervalMs: 10}}\n${TASK}`, expected: "a.yaml:4:64 models[0].provider.batch.pollIntervalMs: must be >= 100" },
  {
    name: 'provider batch with a command scorer',
    yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: openai, model: g, batch: {}}\n${TASK}    scorer: {kind: command, command: [./score]}\n`,
    expected: "a.yaml:4:47 models[0].provider.batch: task t has a command scorer; provider batches are scored as they are collected, by one of exact, includes, regex, numeric, choice, f1",
  },
  { name: 'bad base URL', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: openai, model: g, baseUrl: localhost}\n${TASK}`, expected: "a.yaml:4:49 models[0].provider.baseUrl: expected a URL, got \"localhost\"" },
  { name: 'unknown api', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: openai, model: g, api: chatt}\n${TASK}`, expected: "a.yaml:4:45 models[0].provider.api: expected one of chat, completions" },
  { name: 'command as a shell string', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: command, command: "python run.py"}\n${TASK}`, expected: "a.yaml:4:40 models[0].provider.command: expected array, got string \"python run.py\"" },
  { name: 'empty command argv', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: command, command: []}\n${TASK}`, expected: "a.yaml:4:40 models[0].provider.command: must have at least 1 item" },
  {
    name: 'unknown latency distribution',
    yaml: `name: x\nmodels:\n  - id: m\n    provider:\n      kind: simulated\n      latencyMs: {distribution: weird}\n${TASK}`,
    expected: "a.yaml:6:33 models[0].provider.latencyMs.distribution: expected one of uniform, normal, lognormal",
  },
  { name: 'zero concurrency', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated}\n    concurrency: 0\n${TASK}`, expected: "a.yaml:5:18 models[0].concurrency: must be > 0" },
  { name: 'timeout as text', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated}\n    timeoutMs: fast\n${TASK}`, expected: "a.yaml:5:16 models[0].timeoutMs: expected number, got string \"fast\"" },
  { name: 'temperature too high', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated}\n    params: {temperature: 3}\n${TASK}`, expected: "a.yaml:5:27 models[0].params.temperature: must be <= 2" },
  { name: 'snake_case param', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated}\n    params: {max_tokens: 5}\n${TASK}`, expected: "a.yaml:5:14 models[0].params.max_tokens: unknown key" },
  { name: 'duplicate model ids', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated}\n  - id: m\n    provider: {kind: simulated}\n${TASK}`, expected: "a.yaml:5:9 models[1].id: duplicate model id \"m\" (first used by models[0])" },
  { name: 'duplicate task ids', yaml: `name: x\n${MODEL}${TASK}  - id: t\n    dataset: {path: data.jsonl}\n    prompt: hi\n`, expected: "a.yaml:9:9 tasks[1].id: duplicate task id \"t\" (first used by tasks[0])" },
  { name: 'task without prompt', yaml: `name: x\n${MODEL}tasks:\n  - id: t\n    dataset: {path: data.jsonl}\n`, expected: "a.yaml:6:5 tasks[0].prompt: required" },
  {
    name: 'dataset with path and samples',
    yaml: `name: x\n${MODEL}tasks:\n  - id: t\n    dataset: {path: data.jsonl, samples: [{q: 1}]}\n    prompt: hi\n`,
    expected: "a.yaml:7:14 tasks[0].dataset: set exactly one of path or samples",
  },
  { name: 'dataset file missing', yaml: `name: x\n${MODEL}tasks:\n  - id: t\n    dataset: {path: nope.jsonl}\n    prompt: hi\n`, expected: "a.yaml:7:21 tasks[0].dataset.path: dataset file not found: nope.jsonl" },
  { name: 'dataset format unknown', yaml: `name: x\n${MODEL}tasks:\n  - id: t\n    dataset: {path: data.txt}\n    prompt: hi\n`, files: { 'data.txt': 'x\n' }, expected: "a.yaml:7:21 tasks[0].dataset.path: cannot tell the format from \".txt\"; set format: jsonl, csv, json, parquet or hf" },
  { name: 'split on a JSONL file', yaml: `name: x\n${MODEL}tasks:\n  - id: t\n    dataset: {path: data.jsonl, split: train}\n    prompt: hi\n`, expected: "a.yaml:7:40 tasks[0].dataset.split: split and subset are for format hf (a Hugging Face dataset folder)" },
  { name: 'format hf on a file', yaml: `name: x\n${MODEL}tasks:\n  - id: t\n    dataset: {path: data.jsonl, format: hf}\n    prompt: hi\n`, expected: "a.yaml:7:21 tasks[0].dataset.path: format hf needs a Hugging Face dataset folder, data.jsonl is a file" },
  { name: 'unknown scorer kind', yaml: `name: x\n${MODEL}${TASK}    scorer: {kind: fuzzy}\n`, expected: "a.yaml:9:20 tasks[0].scorer.kind: expected one of exact, includes, regex, numeric, choice, f1, judge, command" },
  { name: 'invalid regex', yaml: `name: x\n${MODEL}${TASK}    scorer: {kind: regex, pattern: "(a"}\n`, expected: "a.yaml:9:36 tasks[0].scorer.pattern: invalid regular expression: /(a/: Unterminated group" },
  { name: 'regex group out of range', yaml: `name: x\n${MODEL}${TASK}    scorer: {kind: regex, pattern: "a(b)", group: 2}\n`, expected: "a.yaml:9:51 tasks[0].scorer.group: pattern has 1 capture group(s), group 2 does not exist" },
  { name: 'failOnError as text', yaml: `name: x\n${MODEL}${TASK}failOnError: often\n`, expected: "a.yaml:9:14 failOnError: expected true, false, a fraction between 0 and 1, or a whole count >= 1" },
  { name: 'failOnError 1.5', yaml: `name: x\n${MODEL}${TASK}failOnError: 1.5\n`, expected: "a.yaml:9:14 failOnError: expected a fraction between 0 and 1 or a whole count >= 1" },
  { name: 'unknown notify kind', yaml: `name: x\n${MODEL}${TASK}notify:\n  - {kind: email, url: "https://x.test"}\n`, expected: "a.yaml:10:12 notify[0].kind: expected one of webhook, slack, lark" },
  { name: 'unknown notify event', yaml: `name: x\n${MODEL}${TASK}notify:\n  - {kind: slack, url: "https://x.test", on: [done]}\n`, expected: "a.yaml:10:47 notify[0].on[0]: expected one of completed, failed, canceled" },
  { name: 'pass@k beyond the epochs', yaml: `name: x\n${MODEL}${TASK}    epochs: 2\n    reducer: pass@3\n`, expected: "a.yaml:10:14 tasks[0].reducer: pass@3 needs at least 3 epochs, the task has 2 (set epochs: 3 or more)" },
  { name: 'unknown reducer', yaml: `name: x\n${MODEL}${TASK}    epochs: 2\n    reducer: median\n`, expected: "a.yaml:10:14 tasks[0].reducer: expected mean, max, min, mode, majority or pass@k (k a whole number >= 1)" },
  { name: 'zero epochs', yaml: `name: x\n${MODEL}${TASK}epochs: 0\n`, expected: "a.yaml:9:9 epochs: must be >= 1" },
  { name: 'backoff below 1', yaml: `name: x\n${MODEL}${TASK}retry: {backoffCoefficient: 0.5}\n`, expected: "a.yaml:9:29 retry.backoffCoefficient: must be >= 1" },
  { name: 'negative autoRetry', yaml: `name: x\n${MODEL}${TASK}autoRetry: -1\n`, expected: "a.yaml:9:12 autoRetry: must be >= 0" },
  { name: 'missing model reference', yaml: `name: x\nmodels:\n  - ghost\n${TASK}`, expected: "a.yaml:3:5 models[0]: no model named \"ghost\" (looked for models/ghost.yaml)" },
  { name: 'path traversal in a reference', yaml: `name: x\nmodels:\n  - ../secrets\n${TASK}`, expected: "a.yaml:3:5 models[0]: expected an inline model or the name of one in models/ (a slug), got \"../secrets\"" },
  {
    name: 'error inside a referenced model file',
    yaml: `name: x\nmodels:\n  - broken\n${TASK}`,
    files: { 'models/broken.yaml': 'provider:\n  kind: simulated\n  errorRate: -1\n' },
    expected: "models/broken.yaml:3:14 provider.errorRate: must be >= 0",
  },
  { name: 'YAML syntax error', yaml: `name: x\nmodels: [\n${TASK}`, expected: "a.yaml:3:1 YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]" },
  { name: 'duplicate YAML key', yaml: `name: x\nname: y\n${MODEL}${TASK}`, expected: "a.yaml:2:1 YAML syntax: Map keys must be unique" },
  {
    name: 'alias bomb',
    yaml: `name: x\na: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`,
    expected: "a.yaml YAML: Excessive alias count indicates a resource exhaustion attack",
  },
  { name: 'a list at the top level', yaml: `- name: x\n`, expected: "a.yaml:1:1 expected a mapping with name, models and tasks" },
  { name: 'few-shot example without target', yaml: `name: x\n${MODEL}${TASK}    fewShot:\n      - fields: {q: "1"}\n`, expected: "a.yaml:10:9 tasks[0].fewShot[0].target: required" },
  { name: 'unknown message role', yaml: `name: x\n${MODEL}tasks:\n  - id: t\n    dataset: {path: data.jsonl}\n    prompt:\n      - {role: bot, content: hi}\n`, expected: "a.yaml:9:16 tasks[0].prompt[0].role: expected one of system, user, assistant" },
  { name: 'zero rate limit', yaml: `name: x\nmodels:\n  - id: m\n    provider: {kind: simulated}\n    rateLimit: {requestsPerSecond: 0}\n${TASK}`, expected: "a.yaml:5:36 models[0].rateLimit.requestsPerSecond: must be > 0" },
  { name: 'missing judge model reference', yaml: `name: x\n${MODEL}${TASK}    scorer: {kind: judge, model: nobody, rubric: be fair}\n`, expected: "a.yaml:9:34 tasks[0].scorer.model: no model named \"nobody\" (looked for models/nobody.yaml)" },
  { name: 'several issues at once, in file order', yaml: `name: x\nextra: 1\nmodels:\n  - id: m\n    provider: {kind: simulated, seed: 0.5}\n${TASK}autoRetry: 99\n`, expected: "a.yaml:2:1 extra: unknown key\na.yaml:5:39 models[0].provider.seed: expected an integer, got number 0.5\na.yaml:10:12 autoRetry: must be <= 10" },
];
