import { createHash } from 'node:crypto';
import t from 'tap';
import { buildGateway } from '../helper';

/** A Content-Security-Policy header as its directives: name → sources. */
function directivesOf(header: string | null): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name, sources);
  }
  return directives;
}

/** Whether a directive (or default-src in its absence) lets the page at `page` load `url`. */
function allows(policy: Map<string, string[]>, directive: string, url: URL, page: URL): boolean {
  const sources = policy.get(directive) ?? policy.get('default-src') ?? [];
  if (sources.includes("'none'")) return false;
  return (url.origin === page.origin && sources.includes("'self'")) || sources.includes(url.origin);
}

/** The origins other than the page's own that a directive names. */
function foreignOrigins(policy: Map<string, string[]>, directive: string): string[] {
  return (policy.get(directive) ?? []).filter((source) => /^https?:\/\//.test(source)).sort();
}

t.test('GraphiQL, when enabled, gets a policy that lets exactly what it loads run; the rest keeps the strict one', async (t) => {
  const strict = await buildGateway(t);
  const strictPolicy = (await strict.app.inject({ method: 'GET', url: '/graphql/schema.graphql' })).headers['content-security-policy'];
  t.equal(strictPolicy, "default-src 'none';frame-ancestors 'none'");

  const { app } = await buildGateway(t, { env: { GRAPHQL_GRAPHIQL: 'true' } });
  // Over a real socket: the browser sees the header as written on the wire, after every hook.
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const page = new URL('/graphiql', base);
  const served = await fetch(page);
  t.equal(served.status, 200);
  t.match(served.headers.get('content-type'), /^text\/html/);
  const html = await served.text();
  const policy = directivesOf(served.headers.get('content-security-policy'));

  // What the page references itself: its scripts (on the gateway) and its inline style.
  const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((match) => new URL(match[1]!, page));
  const stylesheets = [...html.matchAll(/<link[^>]*\shref="([^"]+)"/g)].map((match) => new URL(match[1]!, page));
  t.ok(scripts.length >= 2, 'the page loads its scripts');
  for (const script of scripts) t.ok(allows(policy, 'script-src', script, page), `script-src allows ${script.href}`);
  for (const stylesheet of stylesheets) t.ok(allows(policy, 'style-src', stylesheet, page), `style-src allows ${stylesheet.href}`);
  const inlineStyles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => `'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`);
  t.ok(inlineStyles.length > 0);
  for (const hash of inlineStyles) t.ok(policy.get('style-src')?.includes(hash), `style-src allows the inline style ${hash}`);
  t.notOk([...policy.values()].flat().some((source) => ["'unsafe-inline'", "'unsafe-eval'", '*', 'https:', 'ws:', 'wss:'].includes(source)), 'no wildcard or unsafe source');

  // What its main script loads from the CDN: React and GraphiQL (scripts), GraphiQL's stylesheet.
  for (const script of scripts.filter((url) => url.origin === page.origin)) {
    const response = await fetch(script);
    t.equal(response.status, 200, script.pathname);
    t.equal(response.headers.get('content-security-policy'), served.headers.get('content-security-policy'), `${script.pathname} has the same policy`);
  }
  const main = await (await fetch(new URL('/graphiql/main.js', base))).text();
  const cdnUrls = [...main.matchAll(/'(https:\/\/[^']+)'/g)].map((match) => new URL(match[1]!));
  t.ok(cdnUrls.length >= 4, 'the CDN files main.js loads');
  for (const url of cdnUrls) {
    const directive = url.pathname.endsWith('.css') ? 'style-src' : 'script-src';
    t.ok(allows(policy, directive, url, page), `${directive} allows ${url.href}`);
  }
  const cdnOrigins = [...new Set(cdnUrls.map((url) => url.origin))].sort();
  t.same(foreignOrigins(policy, 'script-src'), cdnOrigins, 'script-src names exactly the CDN origins it uses');
  t.same(foreignOrigins(policy, 'style-src'), cdnOrigins, 'style-src names exactly the CDN origins it uses');

  // Its queries go to the gateway; its service worker (registered from the gateway) caches the CDN files.
  t.ok(allows(policy, 'connect-src', new URL('/graphql', base), page), 'connect-src allows /graphql');
  t.ok(allows(policy, 'worker-src', new URL('/graphiql/sw.js', base), page), 'worker-src allows the service worker');
  const worker = await fetch(new URL('/graphiql/sw.js', base));
  const workerPolicy = directivesOf(worker.headers.get('content-security-policy'));
  const cached = [...(await worker.text()).matchAll(/'(https:\/\/[^']+)'/g)].map((match) => new URL(match[1]!));
  for (const url of cached) t.ok(allows(workerPolicy, 'connect-src', url, page), `the service worker may fetch ${url.href}`);
  t.same(policy.get('frame-ancestors'), ["'none'"]);

  // Everything else keeps the API's policy.
  for (const path of ['/graphql/schema.graphql', '/graphql?query=%7B__typename%7D', '/v1/products', '/no-such-route', '/graphiql/other']) {
    const response = await fetch(new URL(path, base));
    t.equal(response.headers.get('content-security-policy'), strictPolicy, `${path} keeps the strict policy`);
  }
});

t.test('GraphiQL disabled: its page and scripts are 404, with the strict policy', async (t) => {
  const { app } = await buildGateway(t);
  for (const url of ['/graphiql', '/graphiql/main.js', '/graphiql/config.js', '/graphiql/sw.js']) {
    const response = await app.inject({ method: 'GET', url });
    t.equal(response.statusCode, 404, url);
    t.equal(response.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'", url);
  }
});
