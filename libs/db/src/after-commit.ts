import { EventSubscriber, type EntityManager, type EntitySubscriberInterface, type TransactionCommitEvent, type TransactionRollbackEvent } from 'typeorm';

/** On a transaction's query runner: what to run once it commits. */
const CALLBACKS = '@shop/db:after-commit';

/**
 * Runs `callback` once the transaction of `manager` commits, and never if it rolls back: for
 * effects outside the database that must reflect only committed work (a metric counted once per
 * committed change, however often a conflicting transaction was retried). Callbacks must not
 * throw; one that does is ignored, as the data is committed whatever it says.
 */
export function afterCommit(manager: EntityManager, callback: () => void): void {
  const queryRunner = manager.queryRunner;
  if (!queryRunner?.isTransactionActive) throw new Error('afterCommit needs the EntityManager of an open transaction');
  ((queryRunner.data[CALLBACKS] ??= []) as (() => void)[]).push(callback);
}

/** Installed on every DataSource by `createDataSource`; only the outermost commit counts (a savepoint's release is none). */
export class AfterCommitSubscriber implements EntitySubscriberInterface {
  afterTransactionCommit(event: TransactionCommitEvent): void {
    if (event.queryRunner.isTransactionActive) return;
    const callbacks = event.queryRunner.data[CALLBACKS] as (() => void)[] | undefined;
    if (!callbacks) return;
    delete event.queryRunner.data[CALLBACKS];
    for (const callback of callbacks) {
      try {
        callback();
      } catch {
        // See afterCommit: the commit stands.
      }
    }
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) delete event.queryRunner.data[CALLBACKS];
  }
}

// TypeORM instantiates only the subscriber classes its decorator registered (called by hand: no decorators here).
EventSubscriber()(AfterCommitSubscriber);
