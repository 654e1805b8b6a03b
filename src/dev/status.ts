import { mongoReady, temporalReady, uiReady } from './health';
import { LOCALHOST } from './net';
import { mongoAlive, temporalAlive } from './stack';
import { readStackState } from './state';

/** Health of the Temporal part of a stack, as `dev status --json` prints it. */
export interface TemporalStatus {
  running: boolean;
  healthy: boolean;
  pid?: number;
  address?: string;
  namespace?: string;
  uiUrl?: string;
  uiHealthy?: boolean;
}

/** Health of the MongoDB part of a stack. */
export interface MongoStatus {
  running: boolean;
  healthy: boolean;
  kind?: 'ferretdb' | 'mongod' | 'external';
  pid?: number;
  url?: string;
}

/** The whole stack: healthy only when both parts are. */
export interface StackStatus {
  dataDir: string;
  healthy: boolean;
  temporal: TemporalStatus;
  mongo: MongoStatus;
}

async function temporalStatus(dataDir: string): Promise<TemporalStatus> {
  const s = readStackState(dataDir).temporal;
  if (!temporalAlive(s)) return { running: false, healthy: false };
  const [frontend, ui] = await Promise.all([temporalReady(s.port, s.namespace), uiReady(s.uiPort)]);
  return {
    running: true,
    healthy: frontend && ui,
    pid: s.pid,
    address: `${LOCALHOST}:${s.port}`,
    namespace: s.namespace,
    uiUrl: `http://${LOCALHOST}:${s.uiPort}`,
    uiHealthy: ui,
  };
}

async function mongoStatus(dataDir: string): Promise<MongoStatus> {
  const s = readStackState(dataDir).mongo;
  if (!mongoAlive(s)) return { running: false, healthy: false };
  return { running: true, healthy: await mongoReady(s.url), kind: s.kind, pid: s.pid, url: s.url };
}

/** `dev status`: checks each recorded part is our live process and answers, without changing anything. */
export async function stackStatus(dataDir: string): Promise<StackStatus> {
  const [temporal, mongo] = await Promise.all([temporalStatus(dataDir), mongoStatus(dataDir)]);
  return { dataDir, healthy: temporal.healthy && mongo.healthy, temporal, mongo };
}
