import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (100 on Linux almost everywhere). */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time a process has used so far, user and system, in milliseconds (all its threads). */
export function cpuMillisecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return ((userTicks + systemTicks) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory of a process, in MB. */
export function residentMegabytesOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** CPU used by each named group of processes between two moments; a process gone by then counts what it had used at the start. */
export class CpuMeter {
  readonly #start = new Map<number, number>();

  constructor(private readonly groups: ReadonlyMap<string, readonly number[]>) {
    for (const pids of groups.values()) for (const pid of pids) this.#start.set(pid, cpuMillisecondsOf(pid));
  }

  /** Milliseconds of CPU per group since the meter was made. */
  read(): Map<string, number> {
    const usedBy = (pid: number) => {
      try {
        return cpuMillisecondsOf(pid) - this.#start.get(pid)!;
      } catch {
        return 0;
      }
    };
    return new Map([...this.groups].map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + usedBy(pid), 0)]));
  }
}
