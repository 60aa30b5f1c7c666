import { AppError } from '@shop/service-kit';
import { getOperationAST, parse, type DocumentNode } from 'graphql';

/** Documents that parsed, so that a client repeating a query does not pay for parsing twice. */
const REMEMBERED_DOCUMENTS = 1_000;

/**
 * The request's document, checked before Mercurius sees it, for what Mercurius would mishandle:
 * no document at all (it answers as if for an unknown persisted query), a document that is not
 * GraphQL (it then tries it as a JSON syntax tree: `-11` was a 500), an operation that is not
 * in the document (on GET looked up before anything reports it: a 500 too), and a subscription,
 * which only a WebSocket can carry (over HTTP it would run once, with nothing to send). Each is a
 * 400 REQUEST_VALIDATION_FAILED naming the part of the request at fault.
 */
export class DocumentCheck {
  private readonly parsed = new Map<string, DocumentNode>();

  constructor(private readonly maxTokens: number) {}

  check(source: unknown, operationName: string | undefined, part: 'body' | 'querystring'): void {
    if (typeof source !== 'string' || source.trim() === '') {
      throw refused(`/${part}/query`, 'must be a non-empty string', 'Send a GraphQL document as "query"');
    }
    const document = this.parse(source, part);
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      throw refused(`/${part}/operationName`, 'must name one operation of the document', 'Name the operation to run in "operationName"');
    }
    if (operation.operation === 'subscription') {
      throw refused(`/${part}/query`, 'subscriptions run over a WebSocket (graphql-transport-ws)', 'Subscribe over a WebSocket at /graphql');
    }
  }

  private parse(source: string, part: 'body' | 'querystring'): DocumentNode {
    const known = this.parsed.get(source);
    if (known) return known;
    let document: DocumentNode;
    try {
      document = parse(source, { maxTokens: this.maxTokens });
    } catch (error) {
      throw refused(`/${part}/query`, (error as Error).message, 'The query is not a GraphQL document');
    }
    if (this.parsed.size >= REMEMBERED_DOCUMENTS) this.parsed.delete(this.parsed.keys().next().value!);
    this.parsed.set(source, document);
    return document;
  }
}

function refused(path: string, message: string, detail: string): AppError {
  return new AppError('REQUEST_VALIDATION_FAILED', detail, { errors: [{ path, message }] });
}
