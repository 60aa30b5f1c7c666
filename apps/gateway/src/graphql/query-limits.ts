import { AppError } from '@shop/service-kit';
import {
  getNamedType,
  getOperationAST,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { MAX_PAGE_SIZE } from './schema';

export interface QueryLimitSettings {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
}

/**
 * Fields that ask a service on their own: each costs this much more than a field read from an
 * answer already at hand. (`OrderItem.product` and `Product.category` are batched into one call
 * per query: plain fields.)
 */
const SERVICE_CALL_COST = 10;
const CALLING_FIELDS = new Set(['Product.recommendations']);
/** Lists without a `first`: their worst case, as the contract bounds it (an order has at most 50 lines; 10 is typical). */
const FIXED_LIST_SIZES: Record<string, number> = { 'Order.items': 10 };

export interface QueryAnalysis {
  cost: number;
  depth: number;
  aliases: number;
  /** The analysis read a variable (a `first: $n`): it holds for these variables only. */
  readVariables: boolean;
}

function tooComplex(detail: string): AppError {
  return new AppError('GRAPHQL_QUERY_TOO_COMPLEX', detail);
}

/**
 * What a query would cost, computed from the document before anything runs: every field costs 1,
 * a field that calls a service 10 more (root fields too), and a list multiplies what it selects by
 * its `first` (its default when absent). Depth counts nested fields, fragments expanded.
 * Introspection (`__schema`, `__type`) is left out: whether it is allowed at all is configured.
 *
 * Throws GRAPHQL_QUERY_TOO_COMPLEX when a limit is passed: `first` over 100, more aliases,
 * more depth or more cost than configured.
 */
export function analyseQuery(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  limits: QueryLimitSettings,
): QueryAnalysis {
  const operation = getOperationAST(document, operationName);
  if (!operation) return { cost: 0, depth: 0, aliases: 0, readVariables: false };
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return { cost: 0, depth: 0, aliases: 0, readVariables: false };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);

  const analysis: QueryAnalysis = { cost: 0, depth: 0, aliases: 0, readVariables: false };
  const typeOf = (name: string | undefined, fallback: GraphQLObjectType) => {
    const type = name === undefined ? fallback : schema.getType(name);
    return isObjectType(type) ? type : fallback;
  };

  const firstOf = (field: FieldNode, coordinate: string, fallback: unknown): number => {
    const argument = field.arguments?.find((candidate) => candidate.name.value === 'first');
    let value: unknown = fallback;
    if (argument?.value.kind === Kind.INT) value = Number(argument.value.value);
    else if (argument?.value.kind === Kind.VARIABLE) {
      analysis.readVariables = true;
      value = variables?.[argument.value.name.value] ?? fallback;
    }
    const first = typeof value === 'number' && Number.isFinite(value) ? value : 1;
    if (first > MAX_PAGE_SIZE) throw tooComplex(`${coordinate}: first may be at most ${MAX_PAGE_SIZE}`);
    return Math.max(first, 1);
  };

  const costOf = (selectionSet: SelectionSetNode, parent: GraphQLObjectType, depth: number, isRoot: boolean): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        cost += costOf(selection.selectionSet, typeOf(selection.typeCondition?.name.value, parent), depth, isRoot);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        // Unknown fragments and cycles were refused by validation already.
        if (fragment) cost += costOf(fragment.selectionSet, typeOf(fragment.typeCondition.name.value, parent), depth, isRoot);
        continue;
      }
      const name = selection.name.value;
      if (name.startsWith('__')) continue;
      if (selection.alias) {
        analysis.aliases += 1;
        if (analysis.aliases > limits.maxAliases) throw tooComplex(`At most ${limits.maxAliases} aliases per query`);
      }
      const fieldDepth = depth + 1;
      if (fieldDepth > limits.maxDepth) throw tooComplex(`The query is deeper than ${limits.maxDepth} levels`);
      analysis.depth = Math.max(analysis.depth, fieldDepth);
      const definition = parent.getFields()[name];
      if (!definition) continue;
      const coordinate = `${parent.name}.${name}`;
      const ownCost = 1 + (isRoot || CALLING_FIELDS.has(coordinate) ? SERVICE_CALL_COST : 0);
      const firstArgument = definition.args.find((argument) => argument.name === 'first');
      const multiplier = firstArgument ? firstOf(selection, coordinate, firstArgument.defaultValue) : (FIXED_LIST_SIZES[coordinate] ?? 1);
      const child = getNamedType(definition.type);
      const childCost = selection.selectionSet && isObjectType(child) ? costOf(selection.selectionSet, child, fieldDepth, false) : 0;
      cost += ownCost + multiplier * childCost;
      if (cost > limits.maxCost) throw tooComplex(`The query would cost more than ${limits.maxCost} points (every field 1, a service call 10, lists times their size)`);
    }
    return cost;
  };

  analysis.cost = costOf(operation.selectionSet, rootType, 0, true);
  if (analysis.cost > limits.maxCost) {
    throw tooComplex(`The query would cost ${analysis.cost} points; at most ${limits.maxCost} are allowed`);
  }
  return analysis;
}

/**
 * `analyseQuery` remembered per document (Mercurius hands the same parsed document for the same
 * query text) and operation, when the outcome did not depend on variables: a client repeating a
 * query pays for its analysis once. A refused query is not remembered; it throws again.
 */
export class QueryLimits {
  private readonly analysed = new WeakMap<DocumentNode, Map<string, QueryAnalysis>>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly limits: QueryLimitSettings,
  ) {}

  analyse(document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined): QueryAnalysis {
    const known = this.analysed.get(document)?.get(operationName ?? '');
    if (known) return known;
    const analysis = analyseQuery(this.schema, document, variables, operationName, this.limits);
    if (!analysis.readVariables) {
      const byOperation = this.analysed.get(document) ?? new Map<string, QueryAnalysis>();
      byOperation.set(operationName ?? '', analysis);
      this.analysed.set(document, byOperation);
    }
    return analysis;
  }
}
