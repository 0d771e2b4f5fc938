import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which AWS calls each function makes, on loopback: a middleware on the functions' SDK clients records every command
 * with the function it ran for. The functions share one process (and one set of clients) here, so the function is
 * the invocation the call happens in: the event sources and the API invoker run each handler inside `invokedAs`.
 * Gates hold a chosen call until a test's action has run, to force an interleaving without timing.
 */

export interface AwsCall {
  /** The function whose invocation made the call; undefined for the test's own calls. */
  fn: string | undefined;
  /** The client's service: `S3`, `DynamoDB`, `Rekognition`. */
  service: string;
  /** The SDK command, e.g. `PutObjectCommand`, `QueryCommand` (the low-level one, also for the document client). */
  command: string;
  input: Record<string, unknown>;
  /** The answer, once it came (what the cost model reads item sizes from); undefined for a call that failed. */
  output?: Record<string, unknown>;
}

interface Gate {
  fn: string;
  matches: (call: AwsCall) => boolean;
  action: () => Promise<unknown>;
  fired: boolean;
  settle: (outcome: { error?: unknown }) => void;
}

const invocation = new AsyncLocalStorage<string>();

/** Runs `work` as an invocation of `fn`: every AWS call made in it is attributed to that function. */
export function invokedAs<T>(fn: string, work: () => Promise<T>): Promise<T> {
  return invocation.run(fn, work);
}

/**
 * Runs `work` as no function's invocation, even when called from inside one (a test's call gate that drains a queue
 * runs inside the invocation it holds up): its AWS calls are the harness's, attributed to no function.
 */
export function outsideInvocations<T>(work: () => Promise<T>): Promise<T> {
  return invocation.exit(work);
}

type Middleware = (
  next: (args: { input: object }) => Promise<unknown>,
  context: { commandName?: string },
) => (args: { input: object }) => Promise<unknown>;

/** What this needs of an SDK client (every v3 client, and the DynamoDB document client, which shares its stack). */
export interface InstrumentedClient {
  middlewareStack: {
    add(middleware: Middleware, options: { step: 'initialize'; name: string; override: boolean }): void;
  };
}

export class AwsCallLog {
  readonly calls: AwsCall[] = [];
  private readonly gates: Gate[] = [];

  /** Records the calls of these clients (each once, however often it is called). */
  attach(clients: Record<string, InstrumentedClient>): void {
    for (const [service, client] of Object.entries(clients)) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const call: AwsCall = {
            fn: invocation.getStore(),
            service,
            command: String(context.commandName),
            input: args.input as Record<string, unknown>,
          };
          this.calls.push(call);
          for (const gate of this.gates) {
            if (gate.fired || gate.fn !== call.fn || !gate.matches(call)) continue;
            gate.fired = true;
            // The action's failure is the test's to see (through beforeCall's promise), not the function's.
            await gate.action().then(
              () => gate.settle({}),
              (error: unknown) => gate.settle({ error }),
            );
          }
          const result = (await next(args)) as { output?: Record<string, unknown> };
          call.output = result.output;
          return result;
        },
        { step: 'initialize', name: 'facepipeAwsCallLog', override: true },
      );
    }
  }

  /**
   * Holds the first call of `fn` that `matches` until `action` has run (once). `done` settles with the action's
   * outcome; check `fired()` once the work is over, so a call that never came fails the test instead of hanging it.
   */
  beforeCall(
    fn: string,
    matches: (call: AwsCall) => boolean,
    action: () => Promise<unknown>,
  ): { fired: () => boolean; done: Promise<void> } {
    let gate: Gate | undefined;
    const done = new Promise<void>((resolve, reject) => {
      const settle = ({ error }: { error?: unknown }) => (error === undefined ? resolve() : reject(error));
      gate = { fn, matches, action, fired: false, settle };
      this.gates.push(gate);
    });
    return { fired: () => gate?.fired === true, done };
  }

  /** The calls each function made. */
  byFunction(): Map<string, AwsCall[]> {
    const calls = new Map<string, AwsCall[]>();
    for (const call of this.calls) {
      if (call.fn !== undefined) calls.set(call.fn, [...(calls.get(call.fn) ?? []), call]);
    }
    return calls;
  }
}
