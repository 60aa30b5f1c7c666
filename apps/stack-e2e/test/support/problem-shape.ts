const ERROR_CODE = /^[A-Z][A-Z0-9_]+$/;

/** RFC 9457 as the contract has it: the status repeated, a stable code, nothing internal. */
export function problemShapeProblems(status: number, body: unknown, code?: string): string[] {
  if (body === null || typeof body !== 'object') return ['the problem is not a JSON object'];
  const problem = body as Record<string, unknown>;
  const problems: string[] = [];
  if (problem.status !== status) problems.push(`problem status ${String(problem.status)} ≠ ${status}`);
  if (typeof problem.code !== 'string' || !ERROR_CODE.test(problem.code)) problems.push(`no stable code: ${JSON.stringify(problem.code)}`);
  if (code !== undefined && problem.code !== code) problems.push(`code ${String(problem.code)}, expected ${code}`);
  if (/\bat .+:\d+:\d+\)?/.test(JSON.stringify(problem))) problems.push('a stack trace in the problem');
  return problems;
}
