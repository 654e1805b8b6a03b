import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ZodError } from 'zod';
import type { Store } from '../store/store';
import { redactUrl } from '../config/connection';
import { html } from './html';
import { page, STYLESHEET } from './layout';
import { BadRequest, NotFound, type ViewerContext } from './data';
import { DigestCache, type DigestCacheOptions } from './digest-cache';
import { assignmentPage, assignmentsPage } from './pages-assignments';
import { samplePage, samplesPage } from './pages-samples';
import { changedPage, comparePage, leaderboardsPage } from './pages-compare';

/**
 * The viewer's HTTP server: node:http, server-rendered pages, one stylesheet, no script and no outside
 * resource (the Content-Security-Policy forbids both). Only GET and HEAD: the viewer never writes.
 */

/** Security headers of every response: nothing runs, nothing loads from elsewhere, nothing frames the page. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

type Handler = (ctx: ViewerContext, params: URLSearchParams, parts: string[]) => Promise<string>;

/** Routes by path shape; `parts` are the decoded path segments after the route's fixed ones. */
const ROUTES: Array<{ pattern: RegExp; handler: Handler }> = [
  { pattern: /^\/$/, handler: (ctx, params) => assignmentsPage(ctx, params) },
  { pattern: /^\/assignments\/([^/]+)$/, handler: (ctx, _p, [id]) => assignmentPage(ctx, id) },
  { pattern: /^\/assignments\/([^/]+)\/jobs\/([^/]+)$/, handler: (ctx, params, [id, job]) => samplesPage(ctx, id, job, params) },
  { pattern: /^\/assignments\/([^/]+)\/jobs\/([^/]+)\/samples\/([^/]+)$/, handler: (ctx, _p, [id, job, index]) => samplePage(ctx, id, job, index) },
  { pattern: /^\/compare$/, handler: (ctx, params) => comparePage(ctx, params) },
  { pattern: /^\/compare\/samples$/, handler: (ctx, params) => changedPage(ctx, params) },
  { pattern: /^\/leaderboards$/, handler: (ctx) => leaderboardsPage(ctx) },
];

/** Where the viewer listens and what it links to. */
export interface ViewerOptions {
  host: string;
  port: number;
  uiBase: string;
  namespace: string;
  digests?: DigestCacheOptions;
}

/** A running viewer. */
export interface RunningViewer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

function errorPage(status: number, title: string, message: string): string {
  return page(title, html`<h1>${title}</h1><p class="notice" id="error">${message}</p>`);
}

/**
 * Whether a request's Host is one this server answers to. A page on another site could otherwise make
 * the browser fetch the viewer through a DNS name rebound to 127.0.0.1 and read its pages.
 */
export function hostAllowed(hostHeader: string | undefined, bound: { host: string; port: number }): boolean {
  if (bound.host === '0.0.0.0' || bound.host === '::') return true;
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', bound.host.includes(':') ? `[${bound.host}]` : bound.host]);
  return [...names].some((n) => hostHeader === `${n}:${bound.port}` || (bound.port === 80 && hostHeader === n));
}

async function handle(ctx: ViewerContext, req: IncomingMessage, res: ServerResponse, bound: { host: string; port: number }): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'the viewer is read-only\n', false);
  }
  if (!hostAllowed(req.headers.host, bound)) return send(res, 421, 'text/plain; charset=utf-8', 'unexpected Host header\n', head);
  const url = new URL(req.url ?? '/', 'http://viewer.invalid');
  if (url.pathname === '/static/viewer.css') return send(res, 200, 'text/css; charset=utf-8', STYLESHEET, head);
  const route = ROUTES.map((r) => ({ r, m: r.pattern.exec(url.pathname) })).find((x) => x.m);
  if (!route?.m) return send(res, 404, 'text/html; charset=utf-8', errorPage(404, 'Not found', `no page at ${url.pathname}`), head);
  try {
    const parts = route.m.slice(1).map((p) => decodeURIComponent(p));
    const body = await route.r.handler(ctx, url.searchParams, parts);
    send(res, 200, 'text/html; charset=utf-8', body, head);
  } catch (err) {
    if (err instanceof NotFound) return send(res, 404, 'text/html; charset=utf-8', errorPage(404, 'Not found', err.message), head);
    if (err instanceof BadRequest || err instanceof ZodError || err instanceof URIError) {
      const message = err instanceof ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : err.message;
      return send(res, 400, 'text/html; charset=utf-8', errorPage(400, 'Bad request', message), head);
    }
    send(res, 500, 'text/html; charset=utf-8', errorPage(500, 'Error', redactUrl(err instanceof Error ? err.message : String(err))), head);
  }
}

/** Starts the viewer over an open store; resolves once it listens (port 0 picks a free one). */
export async function startViewer(store: Store, opts: ViewerOptions): Promise<RunningViewer> {
  const ctx: ViewerContext = { store, digests: new DigestCache(store, opts.digests), uiBase: opts.uiBase, namespace: opts.namespace };
  const bound = { host: opts.host, port: opts.port };
  const server = createServer((req, res) => {
    handle(ctx, req, res, bound).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'error\n', false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  bound.port = (server.address() as AddressInfo).port;
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${bound.port}/`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
