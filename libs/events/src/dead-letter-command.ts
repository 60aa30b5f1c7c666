import type { DataSource } from 'typeorm';
import { countDeadLetters, DeadLetterError, discardDeadLetter, findDeadLetter, listDeadLetters, redriveDeadLetter, type DeadLetter, type RedriveOptions } from './dead-letters';

export interface DeadLetterCommandOptions extends RedriveOptions {
  dataSource: DataSource;
  /** Where answers go (stdout) and where refusals go (stderr). */
  out: (text: string) => void;
  err: (text: string) => void;
}

const USAGE = `usage: dead-letters list [--all] [--limit N]   events waiting (--all: resolved ones too)
       dead-letters show <id>                  one, with the event as it arrived
       dead-letters redrive <id>               deliver it to its handler again (applied at most once)
       dead-letters discard <id>               give up on it (kept, marked discarded)`;

/** Exit codes, as sysexits(3) has them: 64 a bad command line, 65 refused because of the data. */
const EXIT_OK = 0;
const EXIT_USAGE = 64;
const EXIT_REFUSED = 65;

function summaryLine(letter: DeadLetter): string {
  const state = letter.resolution ?? 'waiting';
  return [letter.id, letter.deadAt.toISOString(), letter.eventType ?? '?', letter.eventId ?? '?', letter.reason, `deliveries=${letter.deliveries}`, state, letter.detail.slice(0, 120)].join('\t');
}

/**
 * The operator's command on one service's dead letters (`npx nx run <service>:dead-letters -- ...`,
 * or `node dist/dead-letters.js ...` in its image). Returns the process's exit code.
 */
export async function runDeadLetterCommand(args: string[], options: DeadLetterCommandOptions): Promise<number> {
  const { dataSource, group, out, err } = options;
  const [command, ...rest] = args;
  const id = rest[0];
  try {
    switch (command) {
      case 'list': {
        const includeResolved = rest.includes('--all');
        const limitAt = rest.indexOf('--limit');
        const limit = limitAt === -1 ? 100 : Number(rest[limitAt + 1]);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
          err(`--limit takes a whole number from 1 to 10000\n${USAGE}\n`);
          return EXIT_USAGE;
        }
        const letters = await listDeadLetters(dataSource, group, { includeResolved, limit });
        const waiting = await countDeadLetters(dataSource, group);
        out(`${waiting} dead letter(s) of ${group} waiting\n`);
        if (letters.length > 0) out(`id\tdead at\ttype\tevent id\treason\tdeliveries\tstate\tdetail\n${letters.map(summaryLine).join('\n')}\n`);
        return EXIT_OK;
      }
      case 'show': {
        if (!id) break;
        const letter = await findDeadLetter(dataSource, group, id);
        if (!letter) {
          err(`no dead letter ${id} for ${group}\n`);
          return EXIT_REFUSED;
        }
        out(`${JSON.stringify(letter, null, 2)}\n`);
        return EXIT_OK;
      }
      case 'redrive': {
        if (!id) break;
        const resolution = await redriveDeadLetter(dataSource, options, id);
        out(resolution === 'redriven' ? `dead letter ${id} re-driven: applied\n` : `dead letter ${id} resolved: ${group} had already applied its event, nothing applied twice\n`);
        return EXIT_OK;
      }
      case 'discard': {
        if (!id) break;
        await discardDeadLetter(dataSource, group, id);
        out(`dead letter ${id} discarded\n`);
        return EXIT_OK;
      }
    }
  } catch (error) {
    if (!(error instanceof DeadLetterError)) throw error;
    err(`${error.message}\n`);
    return EXIT_REFUSED;
  }
  err(`${USAGE}\n`);
  return EXIT_USAGE;
}
