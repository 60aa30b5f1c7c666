import t from 'tap';
import { continueTrace } from '../../src/observability/trace-context';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

t.test("keeps the caller's trace and flags, with the gateway's own span as parent", async (t) => {
  const offered = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const { traceId, traceparent } = continueTrace(offered);
  t.equal(traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  const [, trace, parent, flags] = TRACEPARENT.exec(traceparent)!;
  t.equal(trace, traceId);
  t.not(parent, '00f067aa0ba902b7');
  t.equal(flags, '01');
  t.equal(continueTrace('00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00').traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'case-insensitive');
});

t.test('starts a new trace when there is none, or an invalid one', async (t) => {
  const invalid = [
    undefined,
    '',
    'garbage',
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'twice'],
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
  ];
  const seen = new Set<string>();
  for (const offered of invalid) {
    const { traceId, traceparent } = continueTrace(offered);
    t.match(traceparent, TRACEPARENT, String(offered));
    t.not(traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    seen.add(traceId);
  }
  t.equal(seen.size, invalid.length, 'every new trace has its own id');
  t.equal(continueTrace('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future').traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'a later version is read as 00');
});
