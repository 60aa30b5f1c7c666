import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { redactUrl } from '../src/index';
import { buildKitApp } from './helper';

const SECRETS = {
  authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.secret-bearer-token.sig',
  cookie: 'session=secret-cookie-value',
  'x-api-key': 'sk_live_secret-api-key',
};

t.test('credentials in headers and URLs never reach the logs', async (t) => {
  const { app, logs } = await buildKitApp(t);
  const urls = [
    '/log-something?access_token=secret-query-token&page=2',
    '/log-something?page=2&ACCESS_TOKEN=secret-query-token',
    '/nowhere?refresh_token=secret-query-token',
    '/boom?x=1&access_token=secret-query-token#frag',
  ];
  for (const url of urls) {
    await app.inject({ method: 'GET', url, headers: SECRETS });
  }
  await app.inject({
    method: 'POST',
    url: '/widgets?api_key=secret-query-token',
    headers: SECRETS,
    payload: { name: 'w', quantity: 'x' },
  });

  const text = logs.text();
  t.ok(logs.lines.length >= urls.length * 2, 'the requests were logged');
  for (const secret of ['secret-bearer-token', 'secret-cookie-value', 'secret-api-key', 'secret-query-token']) {
    t.notOk(text.includes(secret), `${secret} is not in the logs`);
  }

  const incoming = logs.lines.find((line) => line.msg === 'incoming request') as { req: { url: string; headers: Record<string, string> } };
  t.equal(incoming.req.url, '/log-something?access_token=[redacted]&page=2', 'the rest of the URL is kept');
  t.equal(incoming.req.headers.authorization, '[redacted]');
  t.equal(incoming.req.headers.cookie, '[redacted]');
  t.equal(incoming.req.headers['x-api-key'], '[redacted]');
  t.ok(incoming.req.headers['user-agent'], 'other headers are kept');
});

t.test('redactUrl', async (t) => {
  t.equal(redactUrl('/a?access_token=abc'), '/a?access_token=[redacted]');
  t.equal(redactUrl('/a?x=1&token=abc&y=2'), '/a?x=1&token=[redacted]&y=2');
  t.equal(redactUrl('/a?Refresh_Token=abc#f'), '/a?Refresh_Token=[redacted]#f');
  t.equal(redactUrl('/a?api_key=abc&apikey=def&key=ghi'), '/a?api_key=[redacted]&apikey=[redacted]&key=[redacted]');
  t.equal(redactUrl('/a?monkey=banana&tokens=3'), '/a?monkey=banana&tokens=3', 'only whole parameter names');
  t.equal(redactUrl('/access_token=abc'), '/access_token=abc', 'the path is not a query');
});

t.test('stdout is buffered, yet a quiet line shows promptly and nothing is lost at exit', async (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/log-to-stdout.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import=tsx', fixture], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  const lines: { n: number; msg: string }[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const complete = text.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) if (line.trim() !== '') lines.push(JSON.parse(line) as { n: number; msg: string });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const deadline = Date.now() + 15_000;
  while (lines.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(lines.map((line) => line.msg), ['first line'], 'a lone line is written within the flush interval, while the process runs on');

  child.stdin.end('exit\n');
  t.equal(await exited, 0);
  await new Promise((resolve) => setImmediate(resolve));
  const burst = lines.filter((line) => line.msg === 'burst line').map((line) => line.n);
  t.equal(burst.length, 500, 'every line logged right before process.exit was written');
  t.same(burst.slice(0, 3), [1, 2, 3], 'in order');
});
